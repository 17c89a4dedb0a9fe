"""leaderboards, nominations, the stale-statistics queue, digest notifications

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 22:40:00

Careers and period tables are now refreshed for what changed: writing a game's per-game rows
marks its players and its week and month stale (``stats_stale``), and the refresh consumes them.
Existing per-game rows are marked so the first refresh after the upgrade catches up. Digests
(weekly tables, monthly nominations) join the notification queue as kind 'digest', each once per
period and target through ``dedupe_key``. The per-game rows' player index gains the date (a
player's first game for newcomers), and lose their foreign key to games: derived rows replaced
per game and rebuilt in bulk, where the per-row check cost a quarter of a full rebuild. The
frags' killer and victim indexes become covering ones, so a player's rivals and favourite
weapon are read from the index alone.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        op.f("ix_frags_killer_id_victim_id_weapon"),
        "frags",
        ["killer_id", "victim_id", "weapon"],
        postgresql_include=["is_teamkill"],
    )
    op.drop_index(op.f("ix_frags_killer_id"), table_name="frags")
    op.create_index(
        op.f("ix_frags_victim_id_killer_id"),
        "frags",
        ["victim_id", "killer_id"],
        postgresql_include=["is_teamkill"],
    )
    op.drop_index(op.f("ix_frags_victim_id"), table_name="frags")
    op.create_index(
        op.f("ix_player_game_stats_player_id_played_on"),
        "player_game_stats",
        ["player_id", "played_on"],
    )
    op.drop_index(op.f("ix_player_game_stats_player_id"), table_name="player_game_stats")
    op.drop_constraint(
        op.f("fk_player_game_stats_replay_id_games"), "player_game_stats", type_="foreignkey"
    )
    op.create_table(
        "leaderboards",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column(
            "period",
            sa.String(length=8),
            nullable=False,
            comment="2026-03 (month) or 2026-W10 (ISO week)",
        ),
        sa.Column("board", sa.String(length=16), nullable=False),
        sa.Column(
            "players",
            postgresql.ARRAY(sa.BigInteger()),
            nullable=False,
            comment="Ranked players, best first (ties: by id)",
        ),
        sa.Column("values", postgresql.ARRAY(sa.Float()), nullable=False),
        sa.Column(
            "games",
            postgresql.ARRAY(sa.Integer()),
            nullable=False,
            comment="Their games in the period (commanders: games commanded)",
        ),
        sa.PrimaryKeyConstraint("source", "period", "board", name=op.f("pk_leaderboards")),
        comment="Each period's tables — score, kills, deaths, teamkills, vitality, longest kill, "
        "commanders — one row each, its players in order.",
    )
    op.create_table(
        "nominations",
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("period", sa.String(length=8), nullable=False),
        sa.Column("award", sa.String(length=16), nullable=False),
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column(
            "replay_id", sa.BigInteger(), nullable=True, comment="The game of a one-game record"
        ),
        sa.PrimaryKeyConstraint("source", "period", "award", name=op.f("pk_nominations")),
        comment="Each period's nominations, one winner each (ties broken as the README says).",
    )
    op.create_table(
        "stats_stale",
        sa.Column("kind", sa.String(length=8), nullable=False, comment="'player' or 'period'"),
        sa.Column("key", sa.Text(), nullable=False, comment="A player id or a period"),
        sa.Column(
            "marked_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint("kind IN ('player', 'period')", name=op.f("ck_stats_stale_kind_known")),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_stats_stale")),
        comment="Players and periods whose careers or leaderboards wait for a refresh.",
    )
    op.execute(
        "INSERT INTO stats_stale (kind, key) "
        "SELECT DISTINCT 'player', player_id::text FROM player_game_stats "
        "UNION SELECT 'period', to_char(played_on, 'IYYY-\"W\"IW') FROM player_game_stats "
        "UNION SELECT 'period', to_char(played_on, 'YYYY-MM') FROM player_game_stats"
    )
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"),
        "notifications",
        "kind IN ('game', 'alert', 'digest')",
    )
    op.alter_column(
        "notifications",
        "dedupe_key",
        comment="What an alert or digest is about; each is queued once per target",
        existing_comment="What an alert is about; each is queued once per target",
        existing_type=sa.Text(),
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind = 'digest'")
    op.alter_column(
        "notifications",
        "dedupe_key",
        comment="What an alert is about; each is queued once per target",
        existing_comment="What an alert or digest is about; each is queued once per target",
        existing_type=sa.Text(),
    )
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", "kind IN ('game', 'alert')"
    )
    op.drop_table("stats_stale")
    op.drop_table("nominations")
    op.drop_table("leaderboards")
    op.execute(
        "DELETE FROM player_game_stats s WHERE NOT EXISTS "
        "(SELECT 1 FROM games g WHERE g.replay_id = s.replay_id)"
    )
    op.create_foreign_key(
        op.f("fk_player_game_stats_replay_id_games"),
        "player_game_stats",
        "games",
        ["replay_id"],
        ["replay_id"],
        ondelete="CASCADE",
    )
    op.create_index(op.f("ix_player_game_stats_player_id"), "player_game_stats", ["player_id"])
    op.create_index(op.f("ix_frags_killer_id"), "frags", ["killer_id"])
    op.drop_index(op.f("ix_frags_killer_id_victim_id_weapon"), table_name="frags")
    op.create_index(op.f("ix_frags_victim_id"), "frags", ["victim_id"])
    op.drop_index(op.f("ix_frags_victim_id_killer_id"), table_name="frags")
    op.drop_index(op.f("ix_player_game_stats_player_id_played_on"), table_name="player_game_stats")
