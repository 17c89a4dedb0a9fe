"""paused delivery targets: a refusal that lasts pauses its target, not its rows

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03 13:00:00

When Discord refuses a target for good — a deleted webhook or channel (404), no access or no
permission to post there (403), a revoked webhook token (401) — the bot records the target in
``delivery_targets`` and stops posting to it: its rows stay pending ("held"), the admin is told
once, and the target is tried again with one message on the bot's start and every
``WOG_PAUSED_RECHECK`` seconds. The first post that works removes the row and everything held is
posted, once.
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "delivery_targets",
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column(
            "paused_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False
        ),
        sa.Column(
            "reason", sa.Text(), nullable=False, comment="Discord's refusal, as the bot logged it"
        ),
        sa.Column("next_check_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checks", sa.Integer(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("target", name=op.f("pk_delivery_targets")),
        comment="Targets Discord refuses for good (401/403/404): not posted to until a "
        "re-check works; their rows wait pending.",
    )


def downgrade() -> None:
    op.drop_table("delivery_targets")
