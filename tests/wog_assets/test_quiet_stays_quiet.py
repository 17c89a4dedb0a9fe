"""Quiet stays quiet: a game loaded without announcing it is never announced by finding it
again — the sensor's first tick after a backfill, a retry, a re-parse, a reload in any order.
Only a user's explicit ``wog announce`` posts it."""

from __future__ import annotations

import os

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.wog_assets.dagster_helpers import replay_defs, run_replays
from tests.wog_assets.test_sensor import PLAYERS, _game, tick
from wog_assets.runs.backfill import announce, run_backfill
from wog_fakes.fake_site import FakeSite


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch, db_url: str) -> FakeSite:
    monkeypatch.delenv("WOG_MIN_PLAYERS", raising=False)
    monkeypatch.delenv("WOG_START_FROM_REPLAY", raising=False)
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    with FakeSite() as fake:
        fake.publish(*(_game(i, n) for i, n in PLAYERS.items()))
        yield fake


def _statuses(engine: sa.Engine) -> dict[int, str]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT replay_id, status FROM notifications"))
        return {int(r): s for r, s in rows}


def _defs(site: FakeSite) -> dg.Definitions:
    return replay_defs(site.url, os.environ["WOG_DATABASE_URL"])


def test_a_backfill_then_the_daemons_first_tick_posts_nothing(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine
) -> None:
    report = run_backfill(_defs(site), instance, 3400, 3405, batch=50)
    assert not report.failed_runs
    assert set(_statuses(engine).values()) == {"suppressed"}

    # The daemon starts: its first tick picks the newest qualifying game (3405) as new.
    result = tick(instance, site, None)
    new = [r for r in result.run_requests if r.tags.get("wog/trigger") == "new"]
    assert [r.partition_key for r in new] == ["3405"]
    for request in new:  # the daemon runs it
        run_replays(instance, [3405], site.url, os.environ["WOG_DATABASE_URL"], tags=request.tags)
    # ...and a re-parse of everything, and the same new run again (a retry), change nothing.
    run_replays(instance, [3400, 3405], site.url, os.environ["WOG_DATABASE_URL"])
    run_replays(instance, [3405], site.url, os.environ["WOG_DATABASE_URL"], tags=new[0].tags)
    assert set(_statuses(engine).values()) == {"suppressed"}

    # A user who asks for it gets it posted.
    announce(_defs(site), instance, engine, 3405)
    assert _statuses(engine)[3405] == "pending"
    assert {s for rid, s in _statuses(engine).items() if rid != 3405} == {"suppressed"}


def test_a_new_game_found_first_by_the_sensor_is_still_announced(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine
) -> None:
    result = tick(instance, site, None)
    new = [r for r in result.run_requests if r.tags.get("wog/trigger") == "new"]
    run_replays(instance, [3405], site.url, os.environ["WOG_DATABASE_URL"], tags=new[0].tags)
    assert _statuses(engine)[3405] == "pending"
    # A later quiet reload (a backfill over it) keeps it pending, never back to suppressed.
    run_backfill(_defs(site), instance, 3400, 3405, batch=50)
    assert _statuses(engine)[3405] == "pending"
