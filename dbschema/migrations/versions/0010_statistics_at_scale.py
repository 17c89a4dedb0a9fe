"""statistics at scale: covering indexes, rivals read on demand, nickname search indexes

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:00:00

- ``player_game_stats (player_id, played_on)`` now carries what a career sums (and the game),
  so careers and the period nominations read a regular's hundreds of games from the index
  alone instead of from pages all over the table;
- ``frags (killer_id, weapon, victim_id)`` replaces ``(killer_id, victim_id, weapon)``: the
  favourite weapon is grouped in index order;
- ``rivals`` is dropped: a player's nemesis and favourite victim are read from their frags when
  asked (a few milliseconds), instead of being recomputed for every player of every new game;
- nickname lookups get a ``lower(nickname)`` index, and autocomplete by fragment a trigram
  index when the server offers ``pg_trgm`` (a trusted extension: a database owner may create it;
  without it the search still works, by scanning).
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COVERED_COLUMNS = ["replay_id", "source", "side", "kills", "deaths", "teamkills", "suicides",
                   "survived", "longest_kill_m", "was_commander", "commander_won"]  # fmt: skip
TRIGRAMS = "ix_player_nicknames_nickname_trgm"


def _has_trigrams() -> bool:
    bind = op.get_bind()
    available = bind.scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
    )
    if not available:
        return False
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError:  # not allowed to create it here
        savepoint.rollback()
        return False
    savepoint.commit()
    return True


def upgrade() -> None:
    op.drop_index("ix_player_game_stats_player_id_played_on", table_name="player_game_stats")
    op.create_index(
        "ix_player_game_stats_player_id_played_on",
        "player_game_stats",
        ["player_id", "played_on"],
        postgresql_include=COVERED_COLUMNS,
    )
    op.drop_index("ix_frags_killer_id_victim_id_weapon", table_name="frags")
    op.create_index(
        "ix_frags_killer_id_weapon_victim_id",
        "frags",
        ["killer_id", "weapon", "victim_id"],
        postgresql_include=["is_teamkill"],
    )
    op.drop_table("rivals")
    op.create_index(
        "ix_player_nicknames_lower_nickname", "player_nicknames", [sa.text("lower(nickname)")]
    )
    op.create_index(
        "ix_player_directory_lower_nickname", "player_directory", [sa.text("lower(nickname)")]
    )
    if _has_trigrams():
        op.execute(
            f"CREATE INDEX {TRIGRAMS} ON player_nicknames USING gin (lower(nickname) gin_trgm_ops)"
        )


def downgrade() -> None:
    op.execute(f"DROP INDEX IF EXISTS {TRIGRAMS}")
    op.drop_index("ix_player_directory_lower_nickname", table_name="player_directory")
    op.drop_index("ix_player_nicknames_lower_nickname", table_name="player_nicknames")
    op.create_table(  # empty: `wog stats rebuild` fills it again under the old version
        "rivals",
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("nemesis_id", sa.BigInteger()),
        sa.Column("nemesis_kills", sa.Integer()),
        sa.Column("victim_id", sa.BigInteger()),
        sa.Column("victim_kills", sa.Integer()),
        sa.PrimaryKeyConstraint("player_id", name=op.f("pk_rivals")),
        comment="Who killed each player most (nemesis) and whom they killed most.",
    )
    op.drop_index("ix_frags_killer_id_weapon_victim_id", table_name="frags")
    op.create_index(
        "ix_frags_killer_id_victim_id_weapon",
        "frags",
        ["killer_id", "victim_id", "weapon"],
        postgresql_include=["is_teamkill"],
    )
    op.drop_index("ix_player_game_stats_player_id_played_on", table_name="player_game_stats")
    op.create_index(
        "ix_player_game_stats_player_id_played_on", "player_game_stats", ["player_id", "played_on"]
    )
