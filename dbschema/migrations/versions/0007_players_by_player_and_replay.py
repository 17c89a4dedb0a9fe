"""players indexed by (player_id, replay_id)

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 21:00:00

The player directory reads a player's newest and oldest game and counts their games through
this index, so refreshing it no longer grows with history. It replaces the player_id index
(a prefix of it).
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(op.f("ix_players_player_id_replay_id"), "players", ["player_id", "replay_id"])
    op.drop_index(op.f("ix_players_player_id"), table_name="players")


def downgrade() -> None:
    op.create_index(op.f("ix_players_player_id"), "players", ["player_id"])
    op.drop_index(op.f("ix_players_player_id_replay_id"), table_name="players")
