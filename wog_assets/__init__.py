"""WOG replay platform: source client, parsers, summaries and the Dagster code location.

Importing this package must not import Dagster: the bot and the CLI use the pure modules
(``wog_assets.source``, ``wog_assets.sides``) without loading it. The Dagster code location is
``wog_assets.definitions``.
"""
