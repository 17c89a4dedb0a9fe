"""Every read and write of the warehouse (SQLAlchemy Core over ``dbschema``), without Dagster.

- :mod:`wog_warehouse.raw` — fetched bodies, stored verbatim, and ids the site did not have;
- :mod:`wog_warehouse.replays` — one replay's parsed rows: written in one transaction, read back
  as the normalized replay; the player directory;
- :mod:`wog_warehouse.quality` — the data-quality checks, each defined once;
- :mod:`wog_warehouse.queue` — the notification queue, the only code that touches its table.

The Dagster assets and the bot both build on this package; it imports neither of them.
"""
