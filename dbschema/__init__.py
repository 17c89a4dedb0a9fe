"""The warehouse schema: SQLAlchemy Core tables, Alembic migrations and the database URL.

This package is the only place DDL lives; both the Dagster code location and the bot use it.
"""

from dbschema.tables import (
    frags,
    games,
    metadata,
    notifications,
    player_directory,
    player_nicknames,
    players,
    raw_game_pages,
    raw_replay_json,
    replay_misses,
    vehicles,
)

__all__ = [
    "frags",
    "games",
    "metadata",
    "notifications",
    "player_directory",
    "player_nicknames",
    "players",
    "raw_game_pages",
    "raw_replay_json",
    "replay_misses",
    "vehicles",
]
