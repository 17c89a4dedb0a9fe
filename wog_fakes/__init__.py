"""Generated games and a fake stats site, for demos (``wog dev --demo``), tests and benchmarks.

Nothing here is used against the real site; it renders games in the site's formats as
described in docs/admin.md ("The stats site client") so the whole pipeline can run offline.
"""
