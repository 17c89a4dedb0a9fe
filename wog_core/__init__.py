"""The platform's foundation: facts every other package shares and none of them owns.

``wog_core`` imports nothing of ours and never Dagster, hikari or the database: the side codes
(:mod:`wog_core.sides`), the normalized replay every source produces (:mod:`wog_core.models`)
and the typed settings read once from the environment (:mod:`wog_core.settings`). The layers
above it, lowest first: ``dbschema`` (schema, migrations, connection) → ``wog_warehouse`` (every
SQL read and write, the notification queue) → ``wog_assets`` (sources, summaries, messages, the
Dagster code location and the ``wog`` command) and ``wog_bot`` (the Discord bot).
"""
