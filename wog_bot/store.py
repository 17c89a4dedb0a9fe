"""Notification rows: claim, mark sent / retry / failed, recover, list (SQLAlchemy Core, sync).

The delivery protocol (each step one short transaction):

1. *claim*: one ``pending`` row whose time has come is switched to ``sending`` with
   ``FOR UPDATE SKIP LOCKED``, so concurrent dispatchers never take the same row;
2. post to Discord (outside any transaction);
3. *finish*: ``sending`` → ``sent`` with the Discord message id, or back to ``pending`` with a
   backoff (transient error), or ``failed`` with the error text (permanent error, or too many
   attempts). The update only applies while the row is still ``sending`` by this claim.

A crash between 2 and 3 leaves the row ``sending``; :func:`stale_sending` finds such rows for
the dispatcher to resolve (see ``wog_bot.delivery``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from dbschema.tables import notifications as n


@dataclass(frozen=True)
class Claimed:
    id: int
    replay_id: int
    target: str
    payload: dict
    attachment: bytes | None
    attempts: int
    claimed_at: dt.datetime

    @property
    def nonce(self) -> str:
        """Discord nonce (<= 25 chars) for this row: derived from the replay id and row id."""
        return f"wog{self.replay_id}n{self.id}"[:25]


def claim(engine: Engine, targets: list[str]) -> Claimed | None:
    """Atomically take one due ``pending`` row for one of ``targets``."""
    due = (
        sa.select(n.c.id)
        .where(
            n.c.status == "pending",
            n.c.target.in_(targets),
            sa.or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= sa.func.now()),
        )
        .order_by(n.c.created_at, n.c.id)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    stmt = (
        sa.update(n)
        .where(n.c.id == due)
        .values(
            status="sending",
            claimed_at=sa.func.now(),
            attempts=n.c.attempts + 1,
            updated_at=sa.func.now(),
        )
        .returning(
            n.c.id,
            n.c.replay_id,
            n.c.target,
            n.c.payload,
            n.c.attachment,
            n.c.attempts,
            n.c.claimed_at,
        )
    )
    with engine.begin() as conn:
        row = conn.execute(stmt).first()
    return Claimed(*row) if row else None


def _finish(engine: Engine, claimed: Claimed, **values: object) -> bool:
    stmt = (
        sa.update(n)
        .where(n.c.id == claimed.id, n.c.status == "sending", n.c.claimed_at == claimed.claimed_at)
        .values(updated_at=sa.func.now(), **values)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def mark_sent(engine: Engine, claimed: Claimed, message_id: int) -> bool:
    return _finish(
        engine,
        claimed,
        status="sent",
        discord_message_id=message_id,
        sent_at=sa.func.now(),
        last_error=None,
    )


def mark_retry(engine: Engine, claimed: Claimed, error: str, delay_s: float) -> bool:
    return _finish(
        engine,
        claimed,
        status="pending",
        last_error=error,
        next_attempt_at=sa.func.now() + dt.timedelta(seconds=delay_s),
    )


def mark_failed(engine: Engine, claimed: Claimed, error: str) -> bool:
    return _finish(engine, claimed, status="failed", last_error=error)


def stale_sending(engine: Engine, targets: list[str], older_than_s: float) -> list[Claimed]:
    """Rows left ``sending`` longer than ``older_than_s`` (a dispatcher died mid-delivery)."""
    stmt = sa.select(
        n.c.id, n.c.replay_id, n.c.target, n.c.payload, n.c.attachment, n.c.attempts, n.c.claimed_at
    ).where(
        n.c.status == "sending",
        n.c.target.in_(targets),
        n.c.claimed_at < sa.func.now() - dt.timedelta(seconds=older_than_s),
    )
    with engine.connect() as conn:
        return [Claimed(*row) for row in conn.execute(stmt)]


def release(engine: Engine, claimed: Claimed) -> bool:
    """Give a stale claim back (``sending`` → ``pending``, due now)."""
    return _finish(engine, claimed, status="pending", next_attempt_at=None)


def due_count(engine: Engine, targets: list[str]) -> int:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(n.c.status == "pending", n.c.target.in_(targets))
        ).scalar_one()


def next_due_in(engine: Engine, targets: list[str]) -> float | None:
    """Seconds until the next pending row for ``targets`` is due (0 if one is due now)."""
    with engine.connect() as conn:
        when = conn.execute(
            sa.select(
                sa.func.min(sa.func.coalesce(n.c.next_attempt_at, sa.func.now())) - sa.func.now()
            ).where(n.c.status == "pending", n.c.target.in_(targets))
        ).scalar()
    return None if when is None else max(0.0, when.total_seconds())


def list_notifications(engine: Engine, status: str | None = None, limit: int = 50) -> list[dict]:
    stmt = (
        sa.select(
            n.c.id,
            n.c.replay_id,
            n.c.target,
            n.c.status,
            n.c.attempts,
            n.c.last_error,
            n.c.discord_message_id,
            n.c.created_at,
            n.c.sent_at,
        )
        .order_by(n.c.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(n.c.status == status)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def retry(engine: Engine, notification_id: int) -> str | None:
    """Make a ``failed`` (or ``suppressed``) row pending again; returns its previous status."""
    with engine.begin() as conn:
        previous = conn.execute(
            sa.select(n.c.status).where(n.c.id == notification_id).with_for_update()
        ).scalar()
        if previous in ("failed", "suppressed", "pending"):
            conn.execute(
                sa.update(n)
                .where(n.c.id == notification_id)
                .values(
                    status="pending",
                    attempts=0,
                    next_attempt_at=None,
                    last_error=None,
                    updated_at=sa.func.now(),
                )
            )
            conn.execute(sa.select(sa.func.pg_notify("wog_notifications", str(notification_id))))
        return previous
