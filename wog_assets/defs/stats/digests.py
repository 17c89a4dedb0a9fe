"""Digests: the weekly tables (Mondays) and the monthly nominations (the 1st), queued once.

A digest is about one period of one source (WOG or an OCAP community) and goes to that source's
game targets through the notification queue (kind ``digest``, ``dedupe_key``
``digest:<source>:<period>``), so it is posted exactly once per period and target:

- the schedule's tick (:data:`SCHEDULED`) queues it ``pending``; when that digest kind is turned
  off (``WOG_DIGESTS``) it is stored ``suppressed`` instead — recorded, never posted;
- ``wog announce --digest 2026-W48`` (:data:`REPOST`) makes it pending again, to post it again;
- anything else — a backfill, a migration, a maintainer materializing a period in the UI —
  computes the tables but never queues a digest.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from wog_core.clock import SITE_TIMEZONE, month_of, period_bounds, week_of
from wog_report.build import Message, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_bars
from wog_report.digest import (
    WEEKLY_BOARDS,
    build_monthly_digest,
    build_weekly_digest,
    period_label,
)
from wog_warehouse.queue import DigestMode, enqueue_digest
from wog_warehouse.stats_read import nominations_of, period_games, top

SCHEDULED, REPOST, OFF = DigestMode.SCHEDULED, DigestMode.REPOST, DigestMode.OFF


def digest_key(source: str, period: str) -> str:
    return f"digest:{source}:{period}"


def kind_of(period: str) -> str:
    """``weekly`` for ``2026-W48``, ``monthly`` for ``2026-11`` (ValueError otherwise)."""
    period_bounds(period)
    return "weekly" if "W" in period else "monthly"


def completed_period(kind: str, now: dt.datetime) -> str:
    """The last period of ``kind`` completed at ``now`` (Moscow): on Monday the week before,
    on the 1st the month before."""
    today = now.astimezone(SITE_TIMEZONE).date()
    if kind == "weekly":
        return week_of(today - dt.timedelta(days=today.isoweekday()))
    return month_of(today.replace(day=1) - dt.timedelta(days=1))


@dataclass(frozen=True)
class Digest:
    period: str
    source: str
    games: int
    message: Message
    chart: bytes


def prepare(engine: Engine, period: str, source: str, t: Catalogue, *, min_games: int) -> Digest:
    """The digest of ``period`` from the stored tables (weekly or monthly by its form)."""
    games = period_games(engine, period, source)
    boards = {
        board: top(engine, metric=board, period=period, source=source, limit=10)
        for board in (*WEEKLY_BOARDS, "kills")
    }
    if kind_of(period) == "weekly":
        message = build_weekly_digest(period, games, boards, t, min_games=min_games)
    else:
        found = nominations_of(engine, period, source)
        message = build_monthly_digest(period, games, found, boards, t, min_games=min_games)
    kills = boards["kills"][:10]
    chart = render_bars(
        [r.nickname for r in kills],
        [r.value for r in kills],
        f"{t('digest_chart_title')} — {period_label(period, t)}",
    )
    return Digest(period, source, games, message, chart)


def queue(engine: Engine, digest: Digest, targets: list[str], mode: DigestMode) -> dict[str, str]:
    """Queue ``digest`` for each target in ``mode``; returns each target's status."""
    return enqueue_digest(
        engine,
        digest_key(digest.source, digest.period),
        targets,
        to_payload(digest.message),
        digest.chart,
        mode,
    )
