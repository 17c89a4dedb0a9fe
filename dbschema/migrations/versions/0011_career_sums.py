"""career sums: careers read a player's totals by side and kills by weapon, not their history

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01 09:00:00

``player_side_totals`` and ``player_weapon_kills`` hold each player's per-game rows summed by
side and their kills counted by weapon. A new game adds its rows to them in the transaction
that writes its per-game rows, so the careers of its players no longer re-read every game those
players ever played (at 100,000 games a regular's career was 5,000 rows). Filled here from the
per-game rows already stored.

The leaderboards' arrays are stored uncompressed (``STORAGE EXTERNAL``): ids and values in rank
order hardly compress, and trying cost a full rebuild of the weeks and months a tenth of its
time.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SUMMED = ["games", "kills", "deaths", "teamkills", "suicides", "survived", "commander_games",
          "commander_wins"]  # fmt: skip
LEADERBOARD_ARRAYS = ["players", '"values"', "games"]


def upgrade() -> None:
    op.create_table(
        "player_side_totals",
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        *[sa.Column(name, sa.Integer(), nullable=False) for name in SUMMED],
        sa.Column("longest_kill_m", sa.Float()),
        sa.Column("first_game", sa.Date(), nullable=False),
        sa.Column("last_game", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "side", name=op.f("pk_player_side_totals")),
        comment="Each player's per-game rows summed by side (careers and favourite side).",
    )
    op.create_table(
        "player_weapon_kills",
        sa.Column("player_id", sa.BigInteger(), nullable=False),
        sa.Column("weapon", sa.Text(), nullable=False),
        sa.Column("kills", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("player_id", "weapon", name=op.f("pk_player_weapon_kills")),
        comment="Each player's kills by weapon over the games with per-game rows "
        "(favourite weapon).",
    )
    op.execute(
        """INSERT INTO player_side_totals
           SELECT player_id, side, min(source), count(*), sum(kills), sum(deaths),
                  sum(teamkills), sum(suicides), count(*) FILTER (WHERE survived),
                  count(*) FILTER (WHERE was_commander), count(*) FILTER (WHERE commander_won),
                  max(longest_kill_m), min(played_on), max(played_on)
           FROM player_game_stats GROUP BY player_id, side"""
    )
    op.execute(
        """INSERT INTO player_weapon_kills
           SELECT f.killer_id, f.weapon, count(*) FROM frags f
           WHERE f.killer_id IS NOT NULL AND f.killer_id <> f.victim_id AND NOT f.is_teamkill
                 AND f.weapon IS NOT NULL
                 AND EXISTS (SELECT 1 FROM player_game_stats s WHERE s.replay_id = f.replay_id)
           GROUP BY 1, 2"""
    )

    for column in LEADERBOARD_ARRAYS:
        op.execute(f"ALTER TABLE leaderboards ALTER COLUMN {column} SET STORAGE EXTERNAL")


def downgrade() -> None:
    for column in LEADERBOARD_ARRAYS:
        op.execute(f"ALTER TABLE leaderboards ALTER COLUMN {column} SET STORAGE EXTENDED")
    op.drop_table("player_weapon_kills")
    op.drop_table("player_side_totals")
