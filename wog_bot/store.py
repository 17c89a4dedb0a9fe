"""The bot's read queries on the warehouse (the slash commands' data), in one place.

The notification queue the bot delivers from is :mod:`wog_warehouse.queue`; whole replays are
read back with :func:`wog_warehouse.replays.load_replay`.
"""

from __future__ import annotations

from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wog_assets.summary import dense_ranks
from wog_warehouse.replays import latest_replay_id
from wog_warehouse.stats import (
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


class KillerRow(NamedTuple):
    rank: int
    nickname: str
    kills: int
    player_id: int


_TOP_KILLERS = sa.text(
    """
    WITH recent AS (SELECT replay_id FROM games ORDER BY replay_id DESC LIMIT :games)
    SELECT f.killer_id,
           coalesce(d.nickname, '#' || f.killer_id) AS nickname,
           count(*) AS kills
    FROM frags f
    LEFT JOIN player_directory d ON d.player_id = f.killer_id
    WHERE f.replay_id IN (SELECT replay_id FROM recent)
      AND f.killer_id IS NOT NULL AND NOT f.is_teamkill AND f.killer_id <> f.victim_id
    GROUP BY f.killer_id, d.nickname
    ORDER BY kills DESC, lower(coalesce(d.nickname, '')), f.killer_id
    LIMIT :rows
    """
)
_RECENT_GAMES = sa.text(
    "SELECT count(*) FROM (SELECT 1 FROM games ORDER BY replay_id DESC LIMIT :games) x"
)


def top_killers(engine: Engine, games: int) -> tuple[int, list[KillerRow]]:
    """(games counted, the top killers dense-ranked) over the last ``games`` games."""
    with engine.connect() as conn:
        counted = conn.execute(_RECENT_GAMES, {"games": games}).scalar_one()
        rows = conn.execute(_TOP_KILLERS, {"games": games, "rows": TOP_ROWS}).all()
    ranks = dense_ranks(int(kills) for _, _, kills in rows)
    return counted, [
        KillerRow(rank, nickname, int(kills), int(killer_id))
        for (killer_id, nickname, kills), rank in zip(rows, ranks, strict=True)
    ]
