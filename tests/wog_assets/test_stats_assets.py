"""The stats group in the pipeline: per-game rows in every replay run, careers kept current by
declarative automation, and a backfill that leaves the statistics current when it returns."""

from __future__ import annotations

import dagster as dg
import pytest
import sqlalchemy as sa

from wog_assets.definitions import build_definitions
from wog_assets.runs.backfill import run_backfill
from wog_core import settings as wog_settings
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import generate_games


def _rows(engine: sa.Engine, sql: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql))]


def test_a_backfill_leaves_careers_current_and_a_new_game_triggers_them(
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    games = generate_games(6000, 4, seed=11)
    with FakeSite() as site:
        site.publish(*games[:3])
        monkeypatch.setenv("WOG_BASE_URL", site.url)
        monkeypatch.setenv("WOG_MIN_REQUEST_INTERVAL", "0")
        monkeypatch.setenv("WOG_STATS_MIN_GAMES", "1")
        defs = build_definitions(wog_settings.current())
        report = run_backfill(defs, instance, 6000, 6002, batch=10)
        assert report.failed_runs == []

        # Per-game rows for every player of every game, and careers summing them.
        assert _rows(engine, "SELECT count(*) FROM player_game_stats") == _rows(
            engine, "SELECT count(*) FROM players"
        )
        assert _rows(engine, "SELECT sum(kills), sum(games) FROM player_careers") == _rows(
            engine, "SELECT sum(kills), count(*) FROM player_game_stats"
        )
        assert instance.get_latest_materialization_event(dg.AssetKey("player_careers"))

        # The automation's first look (the daemon's sensor does this on its own).
        quiet = dg.evaluate_automation_conditions(defs=defs, instance=instance)

        # A new game lands (as the sensor's run would load it): the careers are requested.
        site.publish(games[3])
        instance.add_dynamic_partitions("replays", ["6003"])
        result = defs.resolve_job_def("ingest_replays").execute_in_process(
            instance=instance, partition_key="6003", tags={"wog/trigger": "new"}
        )
        assert result.success
    requested = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
    keys = {key for r in requested.results if r.true_subset.size for key in [r.key]}
    assert dg.AssetKey("player_careers") in keys
