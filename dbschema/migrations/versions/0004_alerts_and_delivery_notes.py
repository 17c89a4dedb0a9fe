"""operator alerts in the notification queue; delivery notes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 17:15:00

A notification may now exist without a game: operator alerts (kind 'alert') have no replay_id
and a dedupe_key naming what they are about, unique per target, so each is queued once. 'note'
records how a sent message differed from the stored one (posted without the chart).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.alter_column(
        "notifications",
        "replay_id",
        existing_type=sa.BigInteger(),
        nullable=True,
        comment="The game a game message is about; NULL for operator alerts",
    )
    op.add_column(
        "notifications",
        sa.Column("kind", sa.String(length=16), server_default="game", nullable=False),
    )
    op.add_column(
        "notifications",
        sa.Column(
            "dedupe_key",
            sa.Text(),
            nullable=True,
            comment="What an alert is about; each is queued once per target",
        ),
    )
    op.add_column(
        "notifications",
        sa.Column(
            "note",
            sa.Text(),
            nullable=True,
            comment="How a sent message differed, e.g. posted without the chart",
        ),
    )
    op.create_unique_constraint(
        op.f("uq_notifications_dedupe_key_target"), "notifications", ["dedupe_key", "target"]
    )
    op.create_check_constraint(
        op.f("ck_notifications_kind_known"), "notifications", "kind IN ('game', 'alert')"
    )
    op.create_check_constraint(
        op.f("ck_notifications_game_or_alert"),
        "notifications",
        "(kind = 'game') = (replay_id IS NOT NULL) AND (kind = 'game') = (dedupe_key IS NULL)",
    )
    op.create_table_comment(
        "notifications",
        "Discord messages to post — one per game and target, and operator alerts, each once per "
        "target; the bot delivers these.",
        existing_comment="Discord messages to post, one per game and target; the bot delivers "
        "these.",
    )


def downgrade() -> None:
    op.execute("DELETE FROM notifications WHERE kind <> 'game'")
    op.create_table_comment(
        "notifications",
        "Discord messages to post, one per game and target; the bot delivers these.",
    )
    op.drop_constraint(op.f("ck_notifications_game_or_alert"), "notifications", type_="check")
    op.drop_constraint(op.f("ck_notifications_kind_known"), "notifications", type_="check")
    op.drop_constraint(op.f("uq_notifications_dedupe_key_target"), "notifications", type_="unique")
    op.drop_column("notifications", "note")
    op.drop_column("notifications", "dedupe_key")
    op.drop_column("notifications", "kind")
    op.alter_column(
        "notifications",
        "replay_id",
        existing_type=sa.BigInteger(),
        nullable=False,
        comment=None,
    )
