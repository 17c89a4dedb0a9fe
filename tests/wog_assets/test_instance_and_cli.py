"""The Dagster instance on Postgres, and `wog backfill` end to end as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.conftest import run_wog
from wog_assets.instance import prepare_dagster_home
from wog_core.settings import Settings
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import generate_games

ROOT = Path(__file__).resolve().parents[2]


def test_prepared_home_is_a_postgres_backed_instance(
    tmp_path: Path, db_url: str, dagster_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.setenv("WOG_DATA_DIR", str(tmp_path))
    env = prepare_dagster_home(Settings.from_env(os.environ))
    assert env["DAGSTER_HOME"] == str(tmp_path / "dagster_home")
    assert (tmp_path / "dagster_home" / "dagster.yaml").exists()
    assert env["DAGSTER_POSTGRES_URL"] == dagster_db
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    with dg.DagsterInstance.get() as instance:
        assert type(instance.run_storage).__name__ == "PostgresRunStorage"
        assert type(instance.event_log_storage).__name__ == "PostgresEventLogStorage"
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1


@pytest.mark.slow  # the whole command in a subprocess (~20 s)
def test_wog_backfill_command_fills_the_warehouse_and_reports_missing_ids(
    tmp_path: Path, db_url: str, dagster_db: str, engine: sa.Engine
) -> None:
    games = generate_games(7000, 8, seed=4)
    with FakeSite() as site:
        site.publish(*games)
        env = {
            **os.environ,
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "WOG_DATA_DIR": str(tmp_path),
            "DAGSTER_HOME": str(tmp_path / "home"),
        }
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "wog_cli",
                "backfill",
                "--from",
                "7000",
                "--to",
                "7009",
                "--batch",
                "4",
            ],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    # Three batches, then careers and the weeks' and months' tables brought up to date.
    assert "6 run(s) (the last 3 bring the statistics up to date)" in result.stdout
    assert "2 id(s) not on the site (recorded in replay_misses): 7008, 7009" in result.stdout
    with engine.connect() as conn:
        ids = conn.execute(sa.text("SELECT replay_id FROM games ORDER BY 1")).scalars().all()
        notifications = conn.execute(sa.text("SELECT count(*) FROM notifications")).scalar()
    assert ids == list(range(7000, 7008))
    assert notifications == 0
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        runs = instance.get_runs()
        assert len(runs) == 6 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
        assert sorted(r.job_name for r in runs) == ["ingest_replays"] * 3 + [
            "refresh_careers",
            "refresh_monthly_leaderboards",
            "refresh_weekly_leaderboards",
        ]
        loaded = {str(i) for i in range(7000, 7008)}
        assert set(instance.get_dynamic_partitions("replays")) == loaded
        assert instance.get_materialized_partitions(dg.AssetKey("games")) >= loaded


def _cli(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_wog(*args, env=env)


@pytest.mark.slow  # the whole command in a subprocess (~12 s)
def test_wog_backfill_submit_records_a_backfill_for_the_daemon(
    tmp_path: Path, db_url: str, dagster_db: str
) -> None:
    env = {**os.environ, "WOG_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "home")}
    result = _cli(["backfill", "--from", "7100", "--to", "7104", "--submit"], env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "submitted backfill" in result.stdout
    with dg.DagsterInstance.from_config(str(tmp_path / "home")) as instance:
        (backfill,) = instance.get_backfills()
        assert (
            backfill.status == dg.BulkActionStatus.REQUESTED
            if hasattr(dg, "BulkActionStatus")
            else True
        )
        subset = backfill.asset_backfill_data.target_subset
        assert {
            str(k) for k in subset.get_partitions_subset(dg.AssetKey("games")).get_partition_keys()
        } == {str(i) for i in range(7100, 7105)}
        assert instance.get_runs() == []  # nothing ran: the daemon will


@pytest.mark.slow  # three commands in subprocesses (~22 s)
def test_wog_announce_and_wog_summary(
    tmp_path: Path, db_url: str, dagster_db: str, engine: sa.Engine
) -> None:
    import json

    game = generate_games(7200, 1, seed=6)[0]
    with FakeSite() as site:
        site.publish(game)
        env = {
            **os.environ,
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "WOG_DATA_DIR": str(tmp_path),
            "DAGSTER_HOME": str(tmp_path / "home"),
            "WOG_DISCORD_CHANNEL_IDS": "4242",
        }
        announced = _cli(["announce", "7200"], env)
        # A game the site does not have: one line saying so, and no run or partition left.
        absent = _cli(["announce", "7299"], env)
    assert absent.returncode == 1
    assert absent.stderr.strip().splitlines() == [
        f"Error: replay 7299, {site.url}/games/7299/: game page answered 404; nothing was run "
        "or registered"
    ]
    with sa.create_engine(
        dagster_db.replace("postgresql://", "postgresql+psycopg://")
    ).connect() as conn:
        keys = conn.execute(sa.text("SELECT partition FROM dynamic_partitions")).scalars().all()
        runs = conn.execute(sa.text("SELECT count(*) FROM runs")).scalar()
    assert keys == ["7200"] and runs == 1
    assert announced.returncode == 0, announced.stderr[-2000:]
    assert "replay 7200 queued for channel:4242" in announced.stdout
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT status, attachment IS NOT NULL FROM notifications")
        ).one()
    assert tuple(row) == ("pending", True)

    summary = _cli(["summary", "--replay-id", "7200"], env)
    assert summary.returncode == 0, summary.stderr[-2000:]
    doc = json.loads(summary.stdout)
    assert doc["replay_id"] == 7200
    assert sum(doc["survivors"].values()) == sum(
        1
        for p in game.replay.players
        if p.player_id not in {f.victim_id for f in game.replay.frags}
    )
    missing = _cli(["summary", "--replay-id", "1"], env)
    assert missing.returncode == 1 and "not in the warehouse" in missing.stderr


def test_commands_started_together_on_a_new_server_both_get_the_dagster_database() -> None:
    """Two commands on a new data directory used to race to create the Dagster database (one
    died on pg_database's unique index); six cold processes ask at the same instant here."""
    from dbschema.connection import temporary_server

    # Each process imports first, then waits for the same instant: the calls overlap.
    code = (
        "import sys, time; from wog_assets.instance import dagster_storage_url; "
        "time.sleep(max(0, float(sys.argv[2]) - time.time())); "
        "print(dagster_storage_url(sys.argv[1]))"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("DAGSTER_POSTGRES_URL", "DAGSTER_HOME")}
    with temporary_server(prefix="wog-race-") as url:
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", code, url, str(time.time() + 8)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(6)
        ]
        results = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    for returncode, out, err in results:
        assert returncode == 0, err[-2000:]
        assert "/dagster?" in out


@pytest.mark.slow  # the whole command in a subprocess (~20 s)
def test_wog_backfill_names_a_held_game_and_loads_every_other_one_fully(
    tmp_path: Path, db_url: str, dagster_db: str, engine: sa.Engine
) -> None:
    import msgspec

    from wog_fakes.generator import GeneratedGame, render_game_page, render_replay_json

    games = generate_games(5000, 10, seed=9)
    empty = msgspec.structs.replace(games[5].replay, players=[], frags=[])
    games[5] = GeneratedGame(empty, render_game_page(empty), render_replay_json(empty))
    with FakeSite() as site:
        site.publish(*games)
        env = {**os.environ, "WOG_BASE_URL": site.url, "WOG_MIN_REQUEST_INTERVAL": "0",
               "WOG_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "home"),
               "WOG_DISCORD_CHANNEL_IDS": "111"}  # fmt: skip
        result = run_wog("backfill", "--from", "5000", "--to", "5009", "--batch", "10", env=env)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output  # the run names the held game, and so fails
    held = [line for line in output.splitlines() if "5005" in line]
    assert held == [
        "replay 5005: rejected: held by check game_has_players (1 offending row(s)): "
        "Every game has players: a message about a game without any is meaningless."
    ], output
    assert "Traceback" not in output and "Stack Trace" not in output
    with FakeSite() as site:  # `wog -v`: the runs' own logs, the failure's trace included
        site.publish(*games)
        env["WOG_BASE_URL"] = site.url
        verbose = run_wog("-v", "backfill", "--from", "5005", "--to", "5005", env=env)
    assert "STEP_FAILURE" in verbose.stdout + verbose.stderr
    assert "Stack Trace" in verbose.stdout + verbose.stderr
    good = [i for i in range(5000, 5010) if i != 5005]
    with engine.connect() as conn:
        stats = conn.scalars(sa.text("SELECT DISTINCT replay_id FROM player_game_stats")).all()
        unknown = conn.scalar(
            sa.text(
                "SELECT count(*) FROM players p LEFT JOIN player_directory d USING (player_id) "
                "WHERE d.player_id IS NULL"
            )
        )
        notes = conn.scalars(sa.text("SELECT DISTINCT replay_id FROM notifications")).all()
        careers = conn.scalar(sa.text("SELECT count(*) FROM player_careers"))
    assert sorted(stats) == good and sorted(notes) == good
    assert unknown == 0  # every player of every good game is in the directory
    assert careers > 0


def test_a_run_in_another_container_on_the_hosts_network_is_not_judged_dead() -> None:
    """Containers on the host's network share its host name but not its pids: a run executing
    in a container of its own (pid 1 there) must not look dead from the code server."""
    import socket

    from wog_assets.defs.core.processes import _alive, process_tags
    from wog_assets.defs.core.tags import HOST_TAG, PID_TAG, STARTED_TAG

    mine = process_tags()
    assert _alive(mine)
    elsewhere = {HOST_TAG: f"{socket.gethostname()}/pidns:1", PID_TAG: "1", STARTED_TAG: "0"}
    assert _alive(elsewhere)  # not ours to judge
    gone = {**mine, PID_TAG: "999999999"}
    assert not _alive(gone)


def test_a_restarted_demo_continues_after_the_newest_registered_game(
    instance: dg.DagsterInstance,
) -> None:
    """A demo stopped while a run was starting leaves a partition with nothing stored; the next
    demo's fake site must go on past it (the sensor still watches that id), not repeat ids."""
    from dbschema.tables import SOURCE_BLOCK
    from wog_assets.runs.backfill import newest_registered_game, register_partitions

    assert newest_registered_game(instance) is None
    register_partitions(instance, [3400, 3412, 3405, SOURCE_BLOCK + 7])
    assert newest_registered_game(instance) == 3412
