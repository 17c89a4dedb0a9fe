"""The notification queue: the only code that reads or writes the ``notifications`` table.

A row is one Discord message for one game and one target (``channel:<id>`` or
``webhook:<id>``). The pipeline *enqueues* rows; the bot *claims*, posts and *finishes* them.
Every step is one short transaction:

1. :func:`enqueue` stores the message, ``pending`` (announce) or ``suppressed`` (backfill), and
   sends ``NOTIFY`` on :data:`NOTIFY_CHANNEL` when the transaction commits;
2. :func:`claim` switches one due ``pending`` row to ``sending`` with ``FOR UPDATE SKIP
   LOCKED``, so concurrent dispatchers never take the same row;
3. the bot posts it (outside any transaction);
4. :func:`mark_sent`, :func:`mark_retry` or :func:`mark_failed` finish the claim; each applies
   only while the row is still ``sending`` by that claim.

A row is ``sending`` only while its request is on the wire: a rate limit or a back-off is
waited out with the row ``pending`` and its due time set (:func:`mark_retry`), so a crash
during a wait loses nothing — the next bot posts it. A crash while the request is on the wire
leaves the row ``sending``; :func:`stale_sending` finds such rows for the bot to resolve: it
either finds the message (:func:`mark_sent`), gives the row back (:func:`release`), or — when
the target cannot tell (a webhook) — marks it ``unknown`` (:func:`mark_unknown`) and alerts.

A refusal of the target itself (a deleted webhook or channel, no access) *pauses the target*,
not the row (:func:`hold`): the row goes back to pending with the reason, and :func:`claim`
skips every row of a paused target until its re-check is due, when one row is handed out as the
probe. The first post that works there ends the pause (:func:`resume`), and the held rows are
posted in their order, once each.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from dbschema.tables import NOTIFICATION_STATUSES
from dbschema.tables import delivery_targets as paused
from dbschema.tables import notifications as n
from wog_core.logs import redact_text

NOTIFY_CHANNEL = "wog_notifications"
log = logging.getLogger("wog_warehouse.queue")


class Status(StrEnum):
    """Where a notification stands. The schema's check constraint lists the same values."""

    PENDING = "pending"  # to be posted when due
    SENDING = "sending"  # claimed by a dispatcher, being posted
    SENT = "sent"  # posted; discord_message_id is set
    FAILED = "failed"  # gave up; last_error says why
    SUPPRESSED = "suppressed"  # stored but never posted by itself (backfills)
    UNKNOWN = "unknown"  # interrupted on the wire, and the target cannot tell: check, retry


assert {s.value for s in Status} == set(NOTIFICATION_STATUSES), "Status and the schema disagree"

RETRYABLE = (Status.FAILED, Status.SUPPRESSED, Status.PENDING, Status.UNKNOWN)
IN_FLIGHT_OR_DONE = (Status.SENT, Status.SENDING)


@dataclass(frozen=True)
class Claimed:
    """A row a dispatcher has claimed for posting."""

    id: int
    replay_id: int | None  # None for an operator alert
    target: str
    payload: dict[str, Any]
    attachment: bytes | None
    attempts: int
    claimed_at: dt.datetime
    kind: str = "game"
    dedupe_key: str | None = None
    probe: bool = False  # claimed while its target is paused: the re-check of that target

    @property
    def nonce(self) -> str:
        """Discord nonce (<= 25 chars) for this row: derived from the replay id and row id."""
        return f"wog{self.replay_id if self.replay_id is not None else 'a'}n{self.id}"[:25]

    @property
    def is_alert(self) -> bool:
        return self.kind == "alert"

    @property
    def about(self) -> str:
        """What the message is about, for logs and alerts: ``game 3413`` or the digest's key."""
        return f"game {self.replay_id}" if self.replay_id is not None else str(self.dedupe_key)


_CLAIMED_COLUMNS = (
    n.c.id,
    n.c.replay_id,
    n.c.target,
    n.c.payload,
    n.c.attachment,
    n.c.attempts,
    n.c.claimed_at,
    n.c.kind,
    n.c.dedupe_key,
)


def _notify(conn: Connection, key: object) -> None:
    conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, str(key))))


def _fresh() -> dict[str, object]:
    """The values that give a row a fresh chance: pending, due now, no tries, no error."""
    return {
        "status": Status.PENDING,
        "attempts": 0,
        "next_attempt_at": None,
        "last_error": None,
        "updated_at": sa.func.now(),
    }


# --- the pipeline's side ------------------------------------------------------------------


def enqueue(
    engine: Engine,
    replay_id: int,
    targets: list[str],
    payload: dict[str, Any],
    attachment: bytes | None,
    *,
    announce: bool,
    asked: bool = False,
) -> dict[str, str]:
    """Store the message for each target; returns each target's resulting status.

    The one rule of what gets posted, whatever path writes the row (the sensor's first tick
    or its retries, a recovery, a re-parse, a backfill, a reload, in any order):

    - a new row is ``pending`` when ``announce`` (a game the sensor found, or a user asked),
      else ``suppressed`` (backfills never post);
    - **quiet stays quiet**: a ``suppressed`` row becomes pending only when a user ``asked``
      (``wog announce``) — a game loaded quietly is never announced by finding it again;
    - with ``announce`` a ``pending``, ``failed`` or ``unknown`` row gets a fresh chance
      (pending, attempts reset); without it its status stays;
    - a ``sent`` or ``sending`` row is left untouched; every other row gets the new payload.
    """
    new_status = Status.PENDING if announce else Status.SUPPRESSED
    result: dict[str, str] = {}
    with engine.begin() as conn:
        for target in targets:
            stmt: Any = pg_insert(n).values(
                replay_id=replay_id,
                target=target,
                status=new_status,
                payload=payload,
                attachment=attachment,
            )
            update: dict[str, Any] = {
                "payload": stmt.excluded.payload,
                "attachment": stmt.excluded.attachment,
                "updated_at": sa.func.now(),
            }
            if announce:
                fresh = sa.true() if asked else n.c.status != Status.SUPPRESSED
                update.update(
                    status=sa.case((fresh, Status.PENDING), else_=n.c.status),
                    attempts=sa.case((fresh, 0), else_=n.c.attempts),
                    last_error=sa.case((fresh, None), else_=n.c.last_error),
                )
            stmt = stmt.on_conflict_do_update(
                index_elements=[n.c.replay_id, n.c.target],
                set_=update,
                where=n.c.status.notin_(IN_FLIGHT_OR_DONE),
            ).returning(n.c.status)
            status = conn.execute(stmt).scalar()
            if status is None:  # the row is sent or being sent: left as it is
                status = conn.execute(
                    sa.select(n.c.status).where(n.c.replay_id == replay_id, n.c.target == target)
                ).scalar_one()
            result[target] = status
        if Status.PENDING in result.values():
            _notify(conn, replay_id)
    return result


def announced_games(engine: Engine, replay_ids: list[int]) -> set[int]:
    """The games among ``replay_ids`` whose message is queued to be posted (or was): any row
    that is not ``suppressed``."""
    if not replay_ids:
        return set()
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(n.c.replay_id.distinct()).where(
                n.c.replay_id.in_(replay_ids), n.c.status != Status.SUPPRESSED
            )
        )
        return {int(r) for r in rows.scalars()}


def enqueue_alert(engine: Engine, key: str, text: str, targets: list[str]) -> list[str]:
    """Queue an operator alert for each target, once per ``key`` and target, ever.

    Returns the targets it was newly queued for (an alert already queued is left alone, so a
    restart or a second sensor tick never repeats it). With no target (no admin channel or
    webhook configured) the alert is logged as a warning instead. The text is redacted.
    """
    text = redact_text(text)
    if not targets:
        log.warning(
            "operator alert (set WOG_DISCORD_ADMIN_CHANNEL_ID or WOG_ADMIN_WEBHOOK_URL to "
            "receive it on Discord): %s",
            text,
        )
        return []
    queued = []
    with engine.begin() as conn:
        for target in targets:
            stmt = (
                pg_insert(n)
                .values(
                    kind="alert",
                    dedupe_key=key,
                    target=target,
                    status=Status.PENDING,
                    payload={"content": text, "embeds": [], "allowed_mentions": {"parse": []}},
                )
                .on_conflict_do_nothing(index_elements=[n.c.dedupe_key, n.c.target])
                .returning(n.c.id)
            )
            if conn.execute(stmt).scalar() is not None:
                queued.append(target)
        if queued:
            _notify(conn, key)
    return queued


class DigestMode(StrEnum):
    """How :func:`enqueue_digest` treats a digest."""

    SCHEDULED = "scheduled"  # the schedule's tick: pending, once per key and target, ever
    OFF = "off"  # the tick with digests turned off: stored suppressed, once, never posted
    REPOST = "repost"  # ``wog announce --digest``: pending again, whatever happened before


def enqueue_digest(
    engine: Engine,
    key: str,
    targets: list[str],
    payload: dict[str, Any],
    attachment: bytes | None,
    mode: DigestMode,
) -> dict[str, str]:
    """Queue a digest (``key`` like ``digest:wog:2026-W48``) for each target; returns each
    target's resulting status.

    A scheduled digest already queued for a target is left alone — whatever its status — so a
    tick that runs twice, or a restart, never posts it twice. A repost makes the row pending
    again with the new message (unless it is being sent right now); a row already sent is kept
    as history under ``<key>#<row id>`` and a new row takes the key, so the new post carries a
    new nonce (Discord would otherwise hand back the earlier message).
    """
    status = Status.SUPPRESSED if mode is DigestMode.OFF else Status.PENDING
    result: dict[str, str] = {}
    with engine.begin() as conn:
        for target in targets:
            if mode is DigestMode.REPOST:
                conn.execute(
                    sa.update(n)
                    .where(n.c.dedupe_key == key, n.c.target == target, n.c.status == Status.SENT)
                    .values(dedupe_key=key + "#" + sa.cast(n.c.id, sa.Text))
                )
            stmt = pg_insert(n).values(
                kind="digest",
                dedupe_key=key,
                target=target,
                status=status,
                payload=payload,
                attachment=attachment,
            )
            if mode is DigestMode.REPOST:
                stmt = stmt.on_conflict_do_update(
                    index_elements=[n.c.dedupe_key, n.c.target],
                    set_={
                        "payload": stmt.excluded.payload,
                        "attachment": stmt.excluded.attachment,
                        **_fresh(),
                    },
                    where=n.c.status != Status.SENDING,
                )
            else:
                stmt = stmt.on_conflict_do_nothing(index_elements=[n.c.dedupe_key, n.c.target])
            if conn.execute(stmt.returning(n.c.id)).scalar() is None:
                found = conn.execute(
                    sa.select(n.c.status).where(n.c.dedupe_key == key, n.c.target == target)
                ).scalar_one()
                result[target] = found if mode is DigestMode.REPOST else f"already {found}"
            else:
                result[target] = status
        if Status.PENDING in result.values():
            _notify(conn, key)
    return result


def mark_announced_elsewhere(engine: Engine, replay_ids: list[int], note: str) -> int:
    """Record games another service already posted: their rows become ``sent`` (with ``note``
    and no message id), so they are never posted from here. Returns how many rows changed."""
    stmt = (
        sa.update(n)
        .where(
            n.c.replay_id.in_(sorted(set(replay_ids))),
            n.c.status.in_([Status.SUPPRESSED, Status.PENDING, Status.FAILED]),
        )
        .values(status=Status.SENT, note=note, sent_at=sa.func.now(), updated_at=sa.func.now())
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount


# --- the bot's side -----------------------------------------------------------------------


def claim(engine: Engine, targets: list[str], recheck_s: float = 600.0) -> Claimed | None:
    """Atomically take one due ``pending`` row for one of ``targets``.

    Rows of a paused target are skipped until its re-check is due; then one of them is taken
    as the probe (``Claimed.probe``) and the next re-check is pushed ``recheck_s`` away, so a
    refusing target gets one request per interval, not one per row.
    """
    still_paused = (
        sa.select(paused.c.target)
        .where(paused.c.target == n.c.target, paused.c.next_check_at > sa.func.now())
        .exists()
    )
    due = (
        sa.select(n.c.id)
        .where(
            n.c.status == Status.PENDING,
            n.c.target.in_(targets),
            sa.or_(n.c.next_attempt_at.is_(None), n.c.next_attempt_at <= sa.func.now()),
            ~still_paused,
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
            status=Status.SENDING,
            claimed_at=sa.func.now(),
            attempts=n.c.attempts + 1,
            updated_at=sa.func.now(),
        )
        .returning(*_CLAIMED_COLUMNS)
    )
    with engine.begin() as conn:
        row = conn.execute(stmt).first()
        if row is None:
            return None
        probe = conn.execute(
            sa.update(paused)
            .where(paused.c.target == row.target)
            .values(
                next_check_at=sa.func.now() + dt.timedelta(seconds=recheck_s),
                checks=paused.c.checks + 1,
            )
        ).rowcount
    return Claimed(**row._asdict(), probe=probe == 1)


def _finish(engine: Engine, claimed: Claimed, **values: object) -> bool:
    stmt = (
        sa.update(n)
        .where(
            n.c.id == claimed.id,
            n.c.status == Status.SENDING,
            n.c.claimed_at == claimed.claimed_at,
        )
        .values(updated_at=sa.func.now(), **values)
    )
    with engine.begin() as conn:
        return conn.execute(stmt).rowcount == 1


def mark_sent(engine: Engine, claimed: Claimed, message_id: int, note: str | None = None) -> bool:
    """The post went out as ``message_id`` (``note``: how it differed from the stored one)."""
    return _finish(
        engine,
        claimed,
        status=Status.SENT,
        discord_message_id=message_id,
        sent_at=sa.func.now(),
        last_error=None,
        note=note,
    )


def mark_retry(
    engine: Engine, claimed: Claimed, error: str, delay_s: float, *, attempt: bool = True
) -> bool:
    """A transient failure: pending again, not before ``delay_s`` seconds.

    ``attempt=False`` (a rate limit: Discord asked us to wait, nothing failed) does not count
    the try against the attempts limit.
    """
    values: dict[str, object] = {}
    if not attempt:
        values["attempts"] = n.c.attempts - 1
    return _finish(
        engine,
        claimed,
        status=Status.PENDING,
        last_error=error,
        next_attempt_at=sa.func.now() + dt.timedelta(seconds=delay_s),
        **values,
    )


def mark_unknown(engine: Engine, claimed: Claimed, error: str) -> bool:
    """Interrupted while on the wire, and the target cannot tell whether it arrived."""
    return _finish(engine, claimed, status=Status.UNKNOWN, last_error=error)


def mark_failed(engine: Engine, claimed: Claimed, error: str) -> bool:
    """A permanent failure, kept with its reason for ``wog notifications list``."""
    return _finish(engine, claimed, status=Status.FAILED, last_error=error)


def stale_sending(engine: Engine, targets: list[str], older_than_s: float) -> list[Claimed]:
    """Rows left ``sending`` longer than ``older_than_s`` (a dispatcher died mid-delivery)."""
    stmt = sa.select(*_CLAIMED_COLUMNS).where(
        n.c.status == Status.SENDING,
        n.c.target.in_(targets),
        n.c.claimed_at < sa.func.now() - dt.timedelta(seconds=older_than_s),
    )
    with engine.connect() as conn:
        return [Claimed(*row) for row in conn.execute(stmt)]


def release(engine: Engine, claimed: Claimed) -> bool:
    """Give a stale claim back (``sending`` → ``pending``, due now)."""
    return _finish(engine, claimed, status=Status.PENDING, next_attempt_at=None)


def due_count(engine: Engine, targets: list[str]) -> int:
    """How many rows for ``targets`` are pending."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.count()).where(n.c.status == Status.PENDING, n.c.target.in_(targets))
        ).scalar_one()


def next_due_in(engine: Engine, targets: list[str], *, paused_too: bool = True) -> float | None:
    """Seconds until the next pending row for ``targets`` is due (0 if one is due now); a row
    of a paused target is due at the target's re-check (not counted without ``paused_too``)."""
    due_at = sa.func.greatest(
        sa.func.coalesce(n.c.next_attempt_at, sa.func.now()),
        sa.func.coalesce(paused.c.next_check_at, sa.func.now()),
    )
    with engine.connect() as conn:
        when = conn.execute(
            sa.select(sa.func.min(due_at) - sa.func.now())
            .select_from(n.outerjoin(paused, paused.c.target == n.c.target))
            .where(
                n.c.status == Status.PENDING,
                n.c.target.in_(targets),
                sa.true() if paused_too else paused.c.target.is_(None),
            )
        ).scalar()
    return None if when is None else max(0.0, when.total_seconds())


# --- paused targets -----------------------------------------------------------------------


@dataclass(frozen=True)
class Pause:
    """A target Discord refuses for good, and how many rows wait for it."""

    target: str
    paused_at: dt.datetime
    reason: str
    next_check_at: dt.datetime
    checks: int
    held: int


def _held(conn: Connection, target: str) -> int:
    return conn.execute(
        sa.select(sa.func.count()).where(n.c.target == target, n.c.status == Status.PENDING)
    ).scalar_one()


def hold(engine: Engine, claimed: Claimed, reason: str, recheck_s: float) -> Pause | None:
    """Discord refused ``claimed``'s target itself: pause the target and give the row back.

    The row is pending again with the try not counted (nothing is wrong with the message), and
    every pending row of the target says ``held: <target> is paused — <reason>``. Returns the pause when this refusal started it — the caller alerts once
    per pause — and None when the target was paused already (a failed re-check).
    """
    with engine.begin() as conn:
        held = f"held: {claimed.target} is paused — {reason}"
        conn.execute(
            sa.update(n)
            .where(
                n.c.id == claimed.id,
                n.c.status == Status.SENDING,
                n.c.claimed_at == claimed.claimed_at,
            )
            .values(
                status=Status.PENDING,
                attempts=n.c.attempts - 1,
                next_attempt_at=None,
                updated_at=sa.func.now(),
            )
        )
        conn.execute(  # every row waiting for the target says why (wog notifications list)
            sa.update(n)
            .where(n.c.target == claimed.target, n.c.status == Status.PENDING)
            .values(last_error=held)
        )
        stmt = pg_insert(paused).values(
            target=claimed.target,
            reason=reason,
            next_check_at=sa.func.now() + dt.timedelta(seconds=recheck_s),
        )
        started = conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[paused.c.target],
                set_={"reason": stmt.excluded.reason, "next_check_at": stmt.excluded.next_check_at},
            ).returning(paused, sa.literal_column("xmax = 0").label("started"))
        ).one()
        if not started.started:
            return None
        return _pause(started, _held(conn, claimed.target))


def _pause(row: sa.Row[Any], held: int) -> Pause:
    """A ``paused_targets`` row (any extra columns left out) as a :class:`Pause`."""
    values = row._mapping
    return Pause(
        values["target"],
        values["paused_at"],
        values["reason"],
        values["next_check_at"],
        values["checks"],
        held,
    )


def resume(engine: Engine, target: str) -> Pause | None:
    """A post to ``target`` worked: end its pause. Returns the pause that ended (None if the
    target was not paused); its ``held`` is how many rows still wait (now due)."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.delete(paused).where(paused.c.target == target).returning(paused)
        ).first()
        if row is None:
            return None
        _notify(conn, target)
        return _pause(row, _held(conn, target))


def recheck_now(engine: Engine, targets: list[str]) -> int:
    """Make the re-check of every paused target among ``targets`` due now (the bot's start);
    returns how many are paused."""
    with engine.begin() as conn:
        return conn.execute(
            sa.update(paused)
            .where(paused.c.target.in_(targets))
            .values(next_check_at=sa.func.now())
        ).rowcount


def paused_targets(engine: Engine) -> list[Pause]:
    """Every paused target, oldest pause first, with how many rows it holds."""
    held = (
        sa.select(sa.func.count())
        .where(n.c.target == paused.c.target, n.c.status == Status.PENDING)
        .scalar_subquery()
    )
    with engine.connect() as conn:
        rows = conn.execute(sa.select(paused, held).order_by(paused.c.paused_at))
        return [Pause(*row) for row in rows]


# --- operators ----------------------------------------------------------------------------


def list_notifications(
    engine: Engine, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """Rows newest first, optionally only those with ``status``."""
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
            n.c.kind,
            n.c.dedupe_key,
            n.c.note,
        )
        .order_by(n.c.id.desc())
        .limit(limit)
    )
    if status:
        stmt = stmt.where(n.c.status == status)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(stmt)]


def retry(engine: Engine, notification_id: int) -> str | None:
    """Make a ``failed``, ``unknown`` (or ``suppressed``) row pending again; returns its
    previous status.

    None when there is no such row; a ``sent`` or ``sending`` row is left as it is.
    """
    with engine.begin() as conn:
        previous = conn.execute(
            sa.select(n.c.status).where(n.c.id == notification_id).with_for_update()
        ).scalar()
        if previous in RETRYABLE:
            conn.execute(sa.update(n).where(n.c.id == notification_id).values(**_fresh()))
            _notify(conn, notification_id)
        return previous


def retry_failed(engine: Engine, target: str | None = None) -> int:
    """Make every ``failed`` and ``unknown`` row pending again (only ``target``'s with a
    target); returns how many."""
    stmt = sa.update(n).where(n.c.status.in_([Status.FAILED, Status.UNKNOWN])).values(**_fresh())
    if target is not None:
        stmt = stmt.where(n.c.target == target)
    with engine.begin() as conn:
        count = conn.execute(stmt).rowcount
        if count:
            _notify(conn, target or "failed")
        return count


def retry_target(engine: Engine, target: str) -> tuple[Pause | None, int]:
    """Post to ``target`` again now: its re-check is due at once (if it is paused) and its
    failed and unknown rows are pending. Returns the target's pause, if any, and how many
    rows were failed or unknown. The first post then ends the pause — or, still refused,
    keeps it without a second alert."""
    with engine.begin() as conn:
        row = conn.execute(
            sa.update(paused)
            .where(paused.c.target == target)
            .values(next_check_at=sa.func.now())
            .returning(paused)
        ).first()
        pause = _pause(row, _held(conn, target)) if row else None
        if pause:
            _notify(conn, target)
    return pause, retry_failed(engine, target)


def move_target(engine: Engine, old: str, new: str) -> int:
    """Give ``old``'s undelivered rows (pending, failed, unknown) to ``new`` — a webhook
    deleted and created again has a new id — and end ``old``'s pause. A message that ``new``
    already has is left where it is. Returns how many rows moved."""
    other = n.alias("other")
    already = (
        sa.select(other.c.id)
        .where(
            other.c.target == new,
            sa.or_(other.c.replay_id == n.c.replay_id, other.c.dedupe_key == n.c.dedupe_key),
        )
        .exists()
    )
    with engine.begin() as conn:
        moved = conn.execute(
            sa.update(n)
            .where(
                n.c.target == old,
                n.c.status.in_([Status.PENDING, Status.FAILED, Status.UNKNOWN]),
                ~already,
            )
            .values(target=new, **_fresh())
        ).rowcount
        conn.execute(sa.delete(paused).where(paused.c.target == old))
        if moved:
            _notify(conn, new)
        return moved
