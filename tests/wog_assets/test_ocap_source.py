"""An OCAP2 community as a source, end to end: the 90 real sg.zone recordings served by a fake
OCAP2 web server, backfilled through Dagster into the warehouse, checked and rendered; the
sensor announcing a new one; a WOG warehouse upgraded to this schema keeping its data."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from dbschema.migrate import downgrade, upgrade
from dbschema.tables import SOURCE_BLOCK
from wog_assets.definitions import build_definitions
from wog_assets.defs.sources import ConfiguredSource, configured_sources
from wog_assets.runs.backfill import run_source_backfill
from wog_core import settings as wog_settings
from wog_fakes.fake_ocap import FakeOcapServer, sg_zone_recordings
from wog_report import limits
from wog_report.build import embeds_from_payload
from wog_warehouse.quality import CHECKS, quality_problems

SG = Path(__file__).parents[1] / "data" / "ocap" / "sg-zone"
CHANNEL = 555


def _configure(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str) -> None:
    sources = tmp_path / "sources.toml"
    sources.write_text(
        f'[sources.sg]\nkind = "ocap-web"\nurl = "{url}"\nchannel_ids = [{CHANNEL}]\n'
        "min_players = 10\n"
    )
    monkeypatch.setenv("WOG_SOURCES_FILE", str(sources))
    monkeypatch.setenv("WOG_MIN_REQUEST_INTERVAL", "0")


def _rows(engine: sa.Engine, sql: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(sql), params)]


@pytest.mark.slow  # ~30 s
def test_all_ninety_recordings_load_from_an_ocap_server(
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with FakeOcapServer.from_sg_zone(SG) as server:
        _configure(monkeypatch, tmp_path, server.url)
        defs = build_definitions(wog_settings.current())
        report = run_source_backfill(defs, instance, engine, _configured("sg"), batch=30)
    assert report.failed_runs == [] and report.problems.lines() == []
    # Three batches, then careers and the weeks' and months' tables brought up to date.
    assert len(report.runs) == 6 and report.stats_runs == 3
    careers = _rows(engine, "SELECT count(*), sum(games) FROM player_careers WHERE source = 'sg'")
    players = _rows(engine, "SELECT count(DISTINCT player_id), count(*) FROM players")
    assert careers == players  # every player of the 90 games has a career, every game counted

    games = _rows(engine, "SELECT replay_id, source, mission_name FROM games ORDER BY 1")
    assert len(games) == 90 and {g[1] for g in games} == {"sg"}
    number = _rows(engine, "SELECT number FROM sources WHERE name = 'sg'")[0][0]
    # Each game keeps its id in the source, inside the source's block.
    assert {g[0] - number * SOURCE_BLOCK for g in games} == {r.id for r in sg_zone_recordings(SG)}
    ids = [g[0] for g in games]
    for check in CHECKS:
        if check.blocking:
            assert quality_problems(engine, check, ids) == [], check.name

    # Players are people known by name within the source: one id per name across games.
    per_name = _rows(
        engine,
        "SELECT nickname, count(DISTINCT player_id) FROM players GROUP BY 1 HAVING count(DISTINCT player_id) > 1",
    )
    assert per_name == []
    regulars = _rows(
        engine, "SELECT games_played FROM player_directory ORDER BY games_played DESC LIMIT 1"
    )
    assert regulars[0][0] > 10

    # A backfill announces nothing, but every message is built and fits Discord's limits.
    rows = _rows(engine, "SELECT status, target, payload FROM notifications")
    assert len(rows) == 90
    assert {(r[0], r[1]) for r in rows} == {("suppressed", f"channel:{CHANNEL}")}
    for _, _, payload in rows:
        assert limits.violations(payload.get("content"), embeds_from_payload(payload)) == []

    # The same chain as WOG games: one set of assets, partitions by warehouse id.
    ids = {str(r[0]) for r in _rows(engine, "SELECT replay_id FROM games")}
    for asset in (["sg", "recordings"], ["games"], ["player_game_stats"], ["notifications"]):
        assert instance.get_materialized_partitions(dg.AssetKey(asset)) == ids, asset


def test_the_sensor_remembers_history_then_announces_a_new_recording(
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recordings = sorted(sg_zone_recordings(SG), key=lambda r: r.id)
    old, new = recordings[:2], recordings[-1]
    with FakeOcapServer(old) as server:
        _configure(monkeypatch, tmp_path, server.url)
        defs = build_definitions(wog_settings.current())
        sensor = defs.resolve_sensor_def("new_replays_sg")

        def tick(cursor: str | None) -> dg.SensorResult | dg.SkipReason:
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, resources=defs.resources
            ) as context:
                return sensor(context)

        first = tick(None)
        assert isinstance(first, dg.SensorResult)
        assert not first.run_requests and first.cursor
        server.publish(new)
        second = tick(first.cursor)
        assert isinstance(second, dg.SensorResult) and second.run_requests
        (rid,) = _rows(
            engine, "SELECT replay_id FROM source_replays WHERE external_id = :k", k=str(new.id)
        )[0]
        assert [r.partition_key for r in second.run_requests] == [str(rid)]
        for add in second.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(add.partitions_def_name, list(add.partition_keys))
        request = second.run_requests[0]
        result = defs.resolve_job_def("ingest_sg").execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags
        )
        assert result.success
        assert isinstance(tick(second.cursor), dg.SkipReason)  # nothing new
    players = _rows(engine, "SELECT players_active FROM games")[0][0]
    status = _rows(engine, "SELECT status FROM notifications")[0][0]
    assert status == ("pending" if players >= 10 else "suppressed")


def test_a_wog_warehouse_upgraded_keeps_its_games_and_ids(engine: sa.Engine) -> None:
    downgrade(engine, "0004")
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO games (replay_id, mission_id, mission_name, island, played_on, "
                "started_at, ended_at, duration_s, players_active, slots, page_url) VALUES "
                "(3413, 77, 'Штурм', 'altis', '2026-11-01', '2026-11-01 20:00', "
                "'2026-11-01 21:00', 3600, 40, 60, 'https://stats.wogames.info/games/3413/')"
            )
        )
        conn.execute(
            sa.text("INSERT INTO players VALUES (3413, 451, 'WEST', 'Иван', 'Командир', 'HQ')")
        )
    upgrade(engine)
    assert _rows(engine, "SELECT replay_id, source, mission_name FROM games") == [
        (3413, "wog", "Штурм")
    ]
    assert _rows(engine, "SELECT player_id FROM players") == [(451,)]
    assert _rows(engine, "SELECT name, number FROM sources") == [("wog", 0)]


def test_a_directory_of_recordings_is_a_source(
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    chosen = sorted(sg_zone_recordings(SG), key=lambda r: r.id)[:3]
    for rec in chosen[:2]:  # one gzip under a .json name, one plain under .json.gz: by content
        (folder / f"{rec.filename}.json").write_bytes(rec.body)
    import gzip

    (folder / f"{chosen[2].filename}.json.gz").write_bytes(gzip.decompress(chosen[2].body))
    (folder / "notes.txt").write_text("not a recording")
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[sources.archive]\nkind = "ocap-dir"\npath = "{folder}"\n')
    monkeypatch.setenv("WOG_SOURCES_FILE", str(sources))
    defs = build_definitions(wog_settings.current())
    report = run_source_backfill(defs, instance, engine, _configured("archive"), batch=10)
    assert report.failed_runs == [] and report.partitions == 3
    rows = _rows(engine, "SELECT source, mission_name, ended_at FROM games ORDER BY ended_at")
    assert [r[0] for r in rows] == ["archive"] * 3
    # dated from the file names (the end of each mission)
    from wog_sources.ocap import ended_at_from_name

    assert sorted(r[2] for r in rows) == sorted(ended_at_from_name(r.filename) for r in chosen)
    again = run_source_backfill(
        defs, instance, engine, _configured("archive"), batch=10
    )  # idempotent
    assert again.failed_runs == []
    assert _rows(engine, "SELECT count(*) FROM games") == [(3,)]


def test_an_ocap_game_is_announced_by_its_warehouse_id(
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wog_assets.runs.backfill import announce

    small = min(sg_zone_recordings(SG), key=lambda r: len(r.body))  # under min_players
    with FakeOcapServer([small]) as server:
        _configure(monkeypatch, tmp_path, server.url)
        defs = build_definitions(wog_settings.current())
        assert (
            run_source_backfill(defs, instance, engine, _configured("sg"), batch=5).failed_runs
            == []
        )
        (rid,) = _rows(engine, "SELECT replay_id FROM games")[0]
        assert _rows(engine, "SELECT status FROM notifications") == [("suppressed",)]
        announce(defs, instance, engine, rid)  # asked for: posted whatever min_players says
    assert _rows(engine, "SELECT status, target FROM notifications") == [
        ("pending", f"channel:{CHANNEL}")
    ]


def _gzip_bomb(path: Path, megabytes: int) -> None:
    """A gzip file of ``megabytes`` MB of zeros (a few MB on disk), written chunk by chunk."""
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = bytes(1 << 20)
    with path.open("wb") as out:
        for _ in range(megabytes):
            out.write(packer.compress(zeros))
        out.write(packer.flush())


@pytest.mark.slow  # a cold `wog backfill` over a 1.5 GB gzip bomb (~30 s)
def test_a_gzip_bomb_and_a_huge_file_are_refused_once_in_bounded_memory(
    tmp_path: Path, db_url: str, dagster_db: str, engine: sa.Engine
) -> None:
    import os
    import subprocess
    import sys

    folder = tmp_path / "recordings"
    folder.mkdir()
    good = sorted(sg_zone_recordings(SG), key=lambda r: r.id)[0]
    (folder / f"{good.filename}.json.gz").write_bytes(good.body)
    _gzip_bomb(folder / "2026_01_01__20_00_00__bomb_ocap.json.gz", 1536)  # 1.5 GB of JSON
    with (folder / "2026_01_02__20_00_00__sparse_ocap.json").open("wb") as sparse:
        sparse.truncate(1 << 30)  # 1 GiB that takes no disk
    sources = tmp_path / "sources.toml"
    sources.write_text(f'[sources.archive]\nkind = "ocap-dir"\npath = "{folder}"\n')
    env = {
        **os.environ,
        "WOG_SOURCES_FILE": str(sources),
        "WOG_MAX_JSON_MB": "64",
        "WOG_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }
    # The child's peak RSS, as its parent sees it once it has been waited for.
    measure = (
        "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
        "print('peak-rss-kb', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
        "file=sys.stderr); sys.exit(r.returncode)"
    )
    result = subprocess.run(
        [sys.executable, "-c", measure, sys.executable, "-m", "wog_cli",
         "backfill", "--source", "archive"],
        env=env, cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    output = result.stdout + result.stderr
    peak_mb = int(output.split("peak-rss-kb")[1].split()[0]) / 1024
    print(f"\npeak RSS of `wog backfill` over a 1.5 GB gzip bomb (64 MB cap): {peak_mb:.0f} MB")
    assert peak_mb < 600, output[-3000:]
    # Each refusal is reported once, with the file and the cap; no Dagster traceback.
    assert output.count("bomb_ocap.json.gz: recording uncompresses to more than") == 1, output
    assert output.count("sparse_ocap.json: file of 1,073,741,824 bytes exceeds") == 1, output
    assert output.count("67,108,864-byte cap (WOG_MAX_JSON_MB)") == 2, output
    assert "Traceback" not in output and "Stack Trace" not in output, output
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM games WHERE source = 'archive'")) == 1


def test_a_source_adds_only_its_fetch_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every source's games go through one chain: two OCAP sources add two assets (their
    fetch steps), one job and one sensor each; their jobs end in the same assets as WOG's."""
    monkeypatch.delenv("WOG_SOURCES_FILE", raising=False)
    alone = build_definitions(wog_settings.current())
    sources = tmp_path / "sources.toml"
    sources.write_text(
        '[sources.sg]\nkind = "ocap-web"\nurl = "http://127.0.0.1:9"\n'
        f'[sources.archive]\nkind = "ocap-dir"\npath = "{tmp_path}"\n'
    )
    monkeypatch.setenv("WOG_SOURCES_FILE", str(sources))
    both = build_definitions(wog_settings.current())

    def keys(defs: dg.Definitions) -> set[str]:
        return {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}

    assert keys(both) - keys(alone) == {"sg/recordings", "archive/recordings"}
    chain = {"games", "players", "vehicles", "frags", "player_directory", "player_game_stats",
             "notifications"}  # fmt: skip
    for job, fetch in (("ingest_replays", {"game_page_html", "replay_json"}),
                       ("ingest_sg", {"sg/recordings"}), ("ingest_archive", {"archive/recordings"})):  # fmt: skip
        selected = both.resolve_job_def(job).asset_layer.selected_asset_keys
        assert {k.to_user_string() for k in selected} == chain | fetch, job


def _configured(name: str) -> ConfiguredSource:
    """The source ``name`` of this test's settings, as ``wog backfill --source`` gets it."""
    return configured_sources(wog_settings.current())[name]
