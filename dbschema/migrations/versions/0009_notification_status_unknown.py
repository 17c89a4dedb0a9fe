"""notifications may be 'unknown'

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:00:00

A post interrupted while its request was on the wire, to a target that cannot say afterwards
whether it arrived (a webhook), is 'unknown' — not 'failed': the admin is alerted once to check
the channel, and `wog notifications retry N` posts it if it is missing.
"""

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BEFORE = ("pending", "sending", "sent", "failed", "suppressed")
_AFTER = (*_BEFORE, "unknown")


def _constraint(statuses: tuple[str, ...]) -> None:
    op.drop_constraint(op.f("ck_notifications_status_known"), "notifications", type_="check")
    op.create_check_constraint(
        op.f("ck_notifications_status_known"),
        "notifications",
        "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")",
    )


def upgrade() -> None:
    _constraint(_AFTER)


def downgrade() -> None:
    op.execute(
        "UPDATE notifications SET status = 'failed', "
        "last_error = coalesce(last_error, 'delivery unknown (downgraded)') "
        "WHERE status = 'unknown'"
    )
    _constraint(_BEFORE)
