"""WOG replay platform: the stats-site source, summaries, messages and the Dagster code location.

Importing this package must not import Dagster: the bot and the CLI use the pure modules
(``wog_assets.source``, ``wog_assets.summary``, ``wog_assets.message``) without loading it.
The Dagster code location is ``wog_assets.definitions``.
"""
