"""The ``warehouse`` domain: every source's games decoded into the same checked tables."""

from wog_assets.defs.warehouse.assets import KEYS, build_defs

__all__ = ["KEYS", "build_defs"]
