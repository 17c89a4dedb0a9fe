"""The ``stats`` domain: per-game statistics, careers, period tables and digests."""

from wog_assets.defs.stats.assets import KEYS, build_defs

__all__ = ["KEYS", "build_defs"]
