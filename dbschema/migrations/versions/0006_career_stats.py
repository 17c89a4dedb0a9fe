"""career statistics: per-game rows, careers, rivals

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 20:30:00

Derived tables, rebuilt from games, players and frags (``wog stats refresh``); nothing here is
a source of truth.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "player_game_stats",
        sa.Column("replay_id", sa.BigInteger(), nullable=False),
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("played_on", sa.Date(), nullable=False, comment="The game's start date (Moscow)"),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("kills", sa.Integer(), nullable=False),
        sa.Column("teamkills", sa.Integer(), nullable=False),
        sa.Column("suicides", sa.Integer(), nullable=False),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("died_to_teamkill", sa.Boolean(), nullable=False),
        sa.Column("survived", sa.Boolean(), nullable=False),
        sa.Column("longest_kill_m", sa.Float(), nullable=True),
        sa.Column("vehicle_kills", sa.Integer(), nullable=False, comment="Kills from a vehicle"),
        sa.Column("weapons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("was_commander", sa.Boolean(), nullable=False),
        sa.Column(
            "commander_won",
            sa.Boolean(),
            nullable=True,
            comment="NULL unless commander of a decided game",
        ),
        sa.ForeignKeyConstraint(
            ["replay_id"],
            ["games.replay_id"],
            name=op.f("fk_player_game_stats_replay_id_games"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("replay_id", "player_id", name=op.f("pk_player_game_stats")),
        comment="One row per player per game: the career statistics' building block.",
    )
    op.create_index(op.f("ix_player_game_stats_player_id"), "player_game_stats", ["player_id"])
    op.create_index(op.f("ix_player_game_stats_played_on"), "player_game_stats", ["played_on"])
    op.create_table(
        "player_careers",
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("nickname", sa.Text(), nullable=False),
        sa.Column("games", sa.Integer(), nullable=False),
        sa.Column("kills", sa.Integer(), nullable=False),
        sa.Column("deaths", sa.Integer(), nullable=False),
        sa.Column("teamkills", sa.Integer(), nullable=False),
        sa.Column("suicides", sa.Integer(), nullable=False),
        sa.Column("survived", sa.Integer(), nullable=False),
        sa.Column("kd", sa.Float(), nullable=False),
        sa.Column("kills_per_game", sa.Float(), nullable=False),
        sa.Column("vitality", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("longest_kill_m", sa.Float(), nullable=True),
        sa.Column("favourite_weapon", sa.Text(), nullable=True),
        sa.Column("favourite_side", sa.String(length=4), nullable=True),
        sa.Column("commander_games", sa.Integer(), nullable=False),
        sa.Column("commander_wins", sa.Integer(), nullable=False),
        sa.Column("first_game", sa.Date(), nullable=False),
        sa.Column("last_game", sa.Date(), nullable=False),
        sa.Column("ranked", sa.Boolean(), nullable=False, comment="Has WOG_STATS_MIN_GAMES games"),
        sa.PrimaryKeyConstraint("player_id", name=op.f("pk_player_careers")),
        comment="Each player's record over every game of their source.",
    )
    op.create_table(
        "rivals",
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("nemesis_id", sa.BigInteger(), nullable=True),
        sa.Column("nemesis_kills", sa.Integer(), nullable=True),
        sa.Column("victim_id", sa.BigInteger(), nullable=True),
        sa.Column("victim_kills", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("player_id", name=op.f("pk_rivals")),
        comment="Who killed each player most (nemesis) and whom they killed most.",
    )


def downgrade() -> None:
    op.drop_table("rivals")
    op.drop_table("player_careers")
    op.drop_index(op.f("ix_player_game_stats_played_on"), table_name="player_game_stats")
    op.drop_index(op.f("ix_player_game_stats_player_id"), table_name="player_game_stats")
    op.drop_table("player_game_stats")
