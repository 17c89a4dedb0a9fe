"""The Dagster code location (``wog_assets.definitions``): the replay chain every source goes
through, the statistics and digests, and the run-level helpers the CLI drives (backfill,
recovery). The sources (``wog_sources``), summaries and messages (``wog_report``) and the
warehouse (``wog_warehouse``) are pure packages it builds on; the CLI is ``wog_cli``.
"""
