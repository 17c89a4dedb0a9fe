"""WOG replay platform: the stats-site and OCAP sources, and the Dagster code location.

Importing this package must not import Dagster: the CLI uses the pure source modules
(``wog_assets.source``) without loading it. Summaries and messages live in ``wog_report``.
The Dagster code location is ``wog_assets.definitions``.
"""
