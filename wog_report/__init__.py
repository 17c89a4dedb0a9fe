"""What players read: a replay's summary and its Discord message, strings, escaping, limits,
embeds, charts, period tables and digests, the HTML preview.

Pure code (no I/O, no Dagster): the pipeline's notifications, ``wog preview`` and the bot all
build their messages here, so the bot imports nothing of the Dagster code location.
"""
