"""The bot's read queries on the warehouse (the slash commands' data), in one place.

The notification queue the bot delivers from is :mod:`wog_warehouse.queue`; whole replays are
read back with :func:`wog_warehouse.replays.load_replay`.
"""

from __future__ import annotations

from wog_warehouse.replays import KillerRow, latest_replay_id, top_killers
from wog_warehouse.stats_read import (
    UnknownPlayer,
    career,
    career_series,
    find_player,
    nickname_choices,
    rivals_of,
    top,
)

__all__ = [
    "KillerRow",
    "UnknownPlayer",
    "career",
    "career_series",
    "find_player",
    "latest_replay_id",
    "nickname_choices",
    "rivals_of",
    "top",
    "top_killers",
]

TOP_ROWS = 10
