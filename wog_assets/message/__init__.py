"""The Discord message for a replay: strings, escaping, limits, embeds and the battle chart.

Pure code (no I/O, no Dagster): the notifications asset, ``wog preview`` and the bot use it.
"""
