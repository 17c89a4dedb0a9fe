"""Every kind of source through the same chain: the WOG site, an OCAP2 directory and a
test-only third kind (``replay-dir``: its two files, :mod:`tests.wog_sources.replay_dir` and
:mod:`tests.wog_assets.replay_dir_defs`, plus one line in the registry of kinds).

For each: history loaded by a backfill (warehouse rows, checks, statistics, careers, messages
stored suppressed), then a new game found by the source's sensor, run by its job and announced.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.wog_assets import replay_dir_defs
from wog_assets.definitions import build_definitions
from wog_assets.defs.sources import PLUGINS, configured_sources
from wog_assets.runs.backfill import BackfillReport, run_backfill, run_source_backfill
from wog_core.models import to_json
from wog_core.settings import Settings
from wog_fakes.fake_ocap import sg_zone_recordings
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import generate_game
from wog_warehouse.quality import CHECKS, quality_problems

SG = Path(__file__).parents[1] / "data" / "ocap" / "sg-zone"
KINDS = ["wog-site", "ocap-dir", "replay-dir"]


@dataclass
class Case:
    name: str  # games.source
    sensor: str
    load_history: Callable[[dg.Definitions, dg.DagsterInstance, sa.Engine], BackfillReport]
    add_game: Callable[[], None]
    cursor: str | None  # the sensor's cursor after the history (None: its first look decides)


@pytest.fixture(params=KINDS)
def case(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Case]:
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    monkeypatch.setenv("WOG_MIN_REQUEST_INTERVAL", "0")
    monkeypatch.setenv("WOG_MIN_PLAYERS", "1")
    kind = request.param
    if kind == "wog-site":
        with FakeSite() as site:
            site.publish(*(generate_game(7000 + i, seed=4) for i in range(3)))
            monkeypatch.setenv("WOG_BASE_URL", site.url)
            yield Case(
                "wog",
                "new_replays",
                lambda defs, instance, engine: run_backfill(defs, instance, 7000, 7002, batch=50),
                lambda: site.publish(generate_game(7003, seed=4)),
                json.dumps({"max_id": 7002}),
            )
        return
    folder = tmp_path / "games"
    folder.mkdir()
    if kind == "ocap-dir":
        chosen = sorted(sg_zone_recordings(SG), key=lambda r: len(r.body))[:4]

        def add(i: int) -> None:
            (folder / f"{chosen[i].filename}.json").write_bytes(gzip.decompress(chosen[i].body))
    else:
        monkeypatch.setitem(PLUGINS, "replay-dir", replay_dir_defs.PLUGIN)  # its registry line

        def add(i: int) -> None:
            game = generate_game(8000 + i, seed=9)
            (folder / f"{8000 + i}.replay.json").write_text(to_json(game.replay), "utf-8")

    for i in range(3):
        add(i)
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[sources.games]\nkind = "{kind}"\npath = "{folder}"\n')
    monkeypatch.setenv("WOG_SOURCES_FILE", str(sources))

    def history(defs: dg.Definitions, instance: dg.DagsterInstance, engine: sa.Engine):  # type: ignore[no-untyped-def]
        configured = configured_sources(Settings.from_env(os.environ))["games"]
        return run_source_backfill(defs, instance, engine, configured, batch=50)

    yield Case("games", "new_replays_games", history, lambda: add(3), None)


def _rows(engine: sa.Engine, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, cursor: str | None):  # type: ignore[no-untyped-def]
    """Evaluate the sensor once, as the daemon would: register its partitions, run its runs."""
    sensor = defs.resolve_sensor_def(name)
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources=dict(defs.resources or {})
    ) as context:
        result = sensor(context)
    assert isinstance(result, dg.SensorResult), result
    for add in result.dynamic_partitions_requests or []:
        known = set(instance.get_dynamic_partitions(add.partitions_def_name))
        new = [k for k in add.partition_keys or [] if k not in known]
        instance.add_dynamic_partitions(add.partitions_def_name, new)
    job = defs.resolve_job_def(sensor.job_name)
    for request in result.run_requests or []:
        run = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags
        )
        assert run.success
    return result


def test_every_kind_of_source_goes_through_the_same_chain(
    case: Case, instance: dg.DagsterInstance, engine: sa.Engine
) -> None:
    defs = build_definitions(Settings.from_env(os.environ))
    assert defs.resolve_job_def(f"ingest_{case.name}" if case.name != "wog" else "ingest_replays")

    report = case.load_history(defs, instance, engine)
    assert report.failed_runs == [] and report.problems.lines() == []
    games = [
        r for (r,) in _rows(engine, "SELECT replay_id FROM games WHERE source = :s", s=case.name)
    ]
    assert len(games) == 3
    per_game = _rows(
        engine,
        "SELECT g.replay_id, g.players_active, (SELECT count(*) FROM players p "
        "WHERE p.replay_id = g.replay_id), (SELECT count(*) FROM player_game_stats s "
        "WHERE s.replay_id = g.replay_id) FROM games g WHERE g.source = :s",
        s=case.name,
    )
    assert all(players > 0 and stats == players for _, _, players, stats in per_game), per_game
    for check in CHECKS:
        assert quality_problems(engine, check, games) == [], check.name
    careers = _rows(engine, "SELECT count(*) FROM player_careers WHERE source = :s", s=case.name)
    assert careers[0][0] > 0
    assert _rows(engine, "SELECT DISTINCT status FROM notifications") == [("suppressed",)]

    cursor = case.cursor
    if cursor is None:  # the sensor's first look remembers what the source already has
        first = _tick(defs, instance, case.sensor, None)
        assert not first.run_requests
        cursor = first.cursor
    case.add_game()
    result = _tick(defs, instance, case.sensor, cursor)
    assert len(result.run_requests or []) == 1
    after = _rows(
        engine,
        "SELECT g.replay_id, n.status, n.target FROM games g JOIN notifications n "
        "USING (replay_id) WHERE g.source = :s AND g.replay_id <> ALL(:old)",
        s=case.name,
        old=games,
    )
    assert [(status, target) for _, status, target in after] == [("pending", "channel:111")]
