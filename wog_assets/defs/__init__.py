"""Dagster definitions for the WOG stats site source: partitions, resources, assets, checks,
sensors. Import ``wog_assets.definitions`` for the code location."""
