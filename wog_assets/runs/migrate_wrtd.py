"""Switching from WRTD-ETL: take over its history without re-announcing or losing a game.

Reads only ``replay_main.replay_number`` and ``messages(replay_number, posted)`` of the old
database. Every replay number is loaded from the stats site as a backfill (its messages stored
``suppressed``: the old service decided what was posted); the ones it posted are recorded as
announced so they are never posted from here; and the ``new_replays`` sensor's floor moves after
the highest one (never back), so it does not treat history as new. Running it again is safe.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import sqlalchemy as sa

from dbschema.connection import DatabaseUnavailable, normalize_url, redact_url
from wog_assets.defs.sources.wog_sensor import raise_sensor_floor
from wog_assets.runs.backfill import BackfillReport, run_backfill
from wog_warehouse.queue import mark_announced_elsewhere

POSTED_NOTE = "posted by WRTD-ETL before the switch"


@dataclass(frozen=True)
class WrtdHistory:
    replay_ids: list[int]
    posted: list[int]


def read_wrtd(url: str) -> WrtdHistory:
    """The replay numbers WRTD-ETL loaded and the ones it posted (any libpq URL)."""
    engine = sa.create_engine(normalize_url(url), poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            ids = conn.execute(sa.text("SELECT DISTINCT replay_number FROM replay_main")).scalars()
            replay_ids = sorted(int(i) for i in ids if i is not None)
            rows = conn.execute(sa.text("SELECT replay_number, posted FROM messages")).all()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"cannot read WRTD-ETL at {redact_url(url)}: {reason}") from None
    except sa.exc.ProgrammingError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(
            f"{redact_url(url)} does not look like a WRTD-ETL database: {reason}"
        ) from None
    finally:
        engine.dispose()
    posted = sorted({int(r) for r, p in rows if r is not None and _truthy(p)})
    return WrtdHistory(replay_ids, posted)


def _truthy(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "t", "true", "yes", "y")
    return bool(value)


def migrate(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    history: WrtdHistory,
    *,
    batch: int,
    on_batch: Callable[[list[str], bool], None] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> tuple[BackfillReport, int, int]:
    """Load ``history`` quietly, record what was posted; returns (report, rows marked, floor)."""
    report = run_backfill(
        defs,
        instance,
        history.replay_ids[0],
        history.replay_ids[-1],
        batch=batch,
        on_batch=on_batch,
        say=say,
        only=history.replay_ids,
    )
    marked = mark_announced_elsewhere(engine, history.posted, POSTED_NOTE)
    floor = raise_sensor_floor(instance, history.replay_ids[-1])
    return report, marked, floor
