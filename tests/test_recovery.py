"""Hard crashes heal themselves: after ``kill -9`` of ``wog backfill`` or of the embedded Postgres
mid-run, the next ``wog backfill`` — with no daemon running — fails the dead run, frees the pool
slot it held and finishes, with no manual step."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, new_database, run_wog
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_games

pytestmark = pytest.mark.slow  # kills processes and Postgres mid-run (~2 min)

FIRST, COUNT = 8000, 12
GAMES = generate_games(FIRST, COUNT, seed=5, options=GameOptions(players=30))
RANGE = ["backfill", "--from", str(FIRST), "--to", str(FIRST + COUNT - 1), "--batch", "6"]


def _start_backfill(env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wog_cli", *RANGE],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _wait_until(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if condition():
                return
        except sa.exc.OperationalError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
    finally:
        engine.dispose()


def _server_env(tmp_path: Path, db_url: str, pg_server_url: str, site: FakeSite) -> dict[str, str]:
    """The environment of a `wog backfill` on the test server, with its own Dagster storage."""
    dagster_url = make_url(new_database(pg_server_url)).set(drivername="postgresql")
    return {
        **os.environ,
        "WOG_DATABASE_URL": db_url,
        "DAGSTER_POSTGRES_URL": dagster_url.render_as_string(False),
        "WOG_BASE_URL": site.url,
        "WOG_MIN_REQUEST_INTERVAL": "0",
        "WOG_DATA_DIR": str(tmp_path),
        "DAGSTER_HOME": str(tmp_path / "home"),
    }


def test_killed_backfill_is_healed_by_the_next_one(
    tmp_path: Path, db_url: str, pg_server_url: str
) -> None:
    with FakeSite(latency=0.25) as site:
        site.publish(*GAMES)
        env = _server_env(tmp_path, db_url, pg_server_url, site)
        dagster_url = env["DAGSTER_POSTGRES_URL"]
        first = _start_backfill(env)
        _wait_until(lambda: _count(db_url, "raw_game_pages") >= 2, 300, "the first pages")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        stuck = [r for r in _runs_with(tmp_path / "home", dagster_url) if not r.is_finished]
        assert stuck, "the killed backfill should leave its run unfinished"

        second = run_wog(*RANGE, "--wait-timeout", "60", env=env, timeout=300)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert "was left running by a process that is gone: marked failed" in second.stderr
    assert _count(db_url, "games") == COUNT
    runs = {r.run_id: r for r in _runs_with(tmp_path / "home", dagster_url)}
    assert all(runs[r.run_id].status == dg.DagsterRunStatus.FAILURE for r in stuck)


def _runs_with(home: Path, dagster_url: str) -> list[dg.DagsterRun]:
    previous = os.environ.get("DAGSTER_POSTGRES_URL")
    os.environ["DAGSTER_POSTGRES_URL"] = dagster_url
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            return list(instance.get_runs())
    finally:
        if previous is None:
            os.environ.pop("DAGSTER_POSTGRES_URL", None)
        else:
            os.environ["DAGSTER_POSTGRES_URL"] = previous


def test_backfill_recovers_after_the_embedded_postgres_is_killed(tmp_path: Path) -> None:
    env = {
        k: v for k, v in os.environ.items() if k not in ("WOG_DATABASE_URL", "DAGSTER_POSTGRES_URL")
    }
    env.update(WOG_DATA_DIR=str(tmp_path / "data"), DAGSTER_HOME=str(tmp_path / "home"))
    try:
        with FakeSite(latency=0.25) as site:
            site.publish(*GAMES)
            env.update(WOG_BASE_URL=site.url, WOG_MIN_REQUEST_INTERVAL="0")
            assert run_wog("db", "upgrade", env=env).returncode == 0
            libpq = run_wog("db", "url", env=env).stdout.strip()
            pid_file = tmp_path / "data" / "pgdata" / "postmaster.pid"
            first = _start_backfill(env)
            _wait_until(lambda: _count(libpq, "raw_game_pages") >= 2, 120, "the first pages")
            os.kill(int(pid_file.read_text().splitlines()[0]), signal.SIGKILL)
            output, _ = first.communicate(timeout=120)  # it fails, it does not hang
            assert first.returncode != 0
            assert "Traceback" not in output, output[-3000:]

            second = run_wog(*RANGE, "--wait-timeout", "60", env=env, timeout=300)
            assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
            assert _count(libpq, "games") == COUNT
    finally:
        run_wog("db", "stop", env=env, timeout=60)


def test_sigterm_stops_a_backfill_at_once_and_the_next_one_finishes(
    tmp_path: Path, db_url: str, pg_server_url: str
) -> None:
    with FakeSite(latency=0.25) as site:
        site.publish(*GAMES)
        env = _server_env(tmp_path, db_url, pg_server_url, site)
        first = _start_backfill(env)
        _wait_until(lambda: _count(db_url, "raw_game_pages") >= 2, 300, "the first pages")
        sent = time.monotonic()
        first.send_signal(signal.SIGTERM)
        output, _ = first.communicate(timeout=30)
        assert time.monotonic() - sent < 10
        assert first.returncode == 130 and "interrupted" in output, output[-3000:]
        assert "Traceback" not in output
        second = run_wog(*RANGE, "--wait-timeout", "60", env=env, timeout=300)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-2000:]
    assert _count(db_url, "games") == COUNT
