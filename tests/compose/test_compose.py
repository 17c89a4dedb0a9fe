"""The docker compose stack, started for real: images built, containers run, data in volumes.

As an admin deploys it — `docker compose up -d --build` with an `.env` — plus a test override
that keeps every container on the host's network (service names resolve to 127.0.0.1) and points
the build and the postgres service at stand-in base images (``engine.py``). The fake stats site
and the Discord stand-in run here, on loopback. Run with ``uv run pytest -m compose -n 0``.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.compose.engine import (
    POSTGRES_IMAGE,
    PYTHON_IMAGE,
    EngineUnavailable,
    build_standins,
    ensure_compose,
    start_engine,
)
from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_game
from wog_fakes.live import DEMO_CHANNEL_ID

pytestmark = pytest.mark.compose

ROOT = Path(__file__).resolve().parents[2]
PROJECT = "wogcompose"
PASSWORD = "compose-test-pw"
PORTS = {"postgres": 5432, "code server": 4000, "Dagster UI": 3000}
APP_SERVICES = ("migrate", "code", "webserver", "daemon", "bot")
HEALTHY = ("postgres", "code", "webserver", "daemon", "bot")

OVERRIDE = """\
# Test override: host networking (no bridge on this machine; traffic stays on loopback), the
# compose service names resolved to 127.0.0.1, stand-in base images, quicker health checks.
x-host: &host
  network_mode: host
  extra_hosts: ["postgres:127.0.0.1", "code:127.0.0.1"]
  healthcheck: {interval: 3s, start_period: 120s}
  build: {context: ., network: host}
services:
  postgres:
    network_mode: host
    environment: {POSTGRES_LISTEN: 127.0.0.1}
  migrate: *host
  code: *host
  webserver: {<<: *host, ports: !reset []}
  daemon: *host
  bot: *host
"""


def _compose(
    *args: str, timeout: float = 900, check: bool = True
) -> subprocess.CompletedProcess[str]:
    files = [arg for f in FILES for arg in ("-f", str(f))]
    result = subprocess.run(
        ["docker", "compose", "-p", PROJECT, "--env-file", str(ENV_FILE), *files, *args],
        cwd=ROOT, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    if check and result.returncode != 0:
        raise AssertionError(f"docker compose {' '.join(args)}: {result.stderr[-3000:]}")
    return result


ENV_FILE = Path()
FILES: list[Path] = []


def _wait(what: str, predicate: Callable[[], object], timeout: float) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(1)
    states = {
        name: (row.get("State"), row.get("Health"), row.get("ExitCode"), row.get("Status"))
        for name, row in _states().items()
    }
    logs = _compose("logs", "--no-color", "--tail", "40", check=False).stdout
    raise AssertionError(
        f"timed out after {timeout:.0f}s waiting for {what}\n{states}\n{logs[-6000:]}"
    )


def _states() -> dict[str, dict]:
    out = _compose("ps", "-a", "--format", "json").stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    if len(rows) == 1 and isinstance(rows[0], list):
        rows = rows[0]
    return {row["Service"]: row for row in rows}


def _all_healthy() -> bool:
    states = _states()
    migrate = states.get("migrate", {})
    return (
        all(states.get(s, {}).get("Health") == "healthy" for s in HEALTHY)
        and migrate.get("State") == "exited"
        and migrate.get("ExitCode") == 0
    )


def _posted(discord: FakeDiscord, replay_id: int) -> list[dict]:
    marker = f"/games/{replay_id}/"
    return [
        m
        for m in discord.all_messages()
        if any((e.get("url") or "").endswith(marker) for e in m["embeds"])
    ]


@pytest.fixture(scope="module")
def docker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("the compose test sets up Docker itself, as root on Linux")
    work = tmp_path_factory.mktemp("docker")
    try:
        engine = start_engine(work)
        ensure_compose()
        build_standins(work)
    except EngineUnavailable as exc:  # skipping is not passing: root on Linux must manage
        pytest.fail(f"could not set up Docker: {exc}")
    for name, port in PORTS.items():
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                pytest.fail(f"port {port} ({name}) is taken; the host-network stack needs it")
    yield
    engine.stop()


def _configure(tmp_path: Path, site: FakeSite, discord: FakeDiscord, *overrides: str) -> None:
    """Write the admin's .env and the test overrides; every later _compose uses them."""
    global ENV_FILE
    ENV_FILE = tmp_path / ".env"
    settings = {
        "POSTGRES_PASSWORD": PASSWORD,
        "POSTGRES_IMAGE": POSTGRES_IMAGE,
        "WOG_PYTHON_IMAGE": PYTHON_IMAGE,
        "WOG_IMAGE_TAG": "compose-test",
        "DISCORD_TOKEN": BOT_TOKEN,
        "WOG_DISCORD_CHANNEL_IDS": DEMO_CHANNEL_ID,
        "WOG_DISCORD_API_URL": discord.api_url,
        "WOG_BASE_URL": site.url,
        "WOG_MIN_REQUEST_INTERVAL": "0",
        "WOG_SENSOR_INTERVAL": "5",
        "WOG_POLL_INTERVAL": "2",
    }
    ENV_FILE.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
    FILES[:] = [ROOT / "docker-compose.yml"]
    for i, text in enumerate((OVERRIDE, *overrides)):
        FILES.append(tmp_path / f"override-{i}.yml")
        FILES[-1].write_text(text)


def _save_logs_and_remove(name: str) -> None:
    logs = _compose("logs", "--no-color", check=False).stdout
    artifacts = Path(os.environ.get("WOG_TEST_ARTIFACTS", ROOT / "artifacts"))
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / f"{name}.log").write_text(logs)
    _compose("down", "-v", "--remove-orphans", check=False)


def test_the_compose_stack_runs_delivers_once_and_keeps_its_data(
    docker: None, tmp_path: Path
) -> None:
    history = [
        generate_game(i, seed=5, options=GameOptions(players=120)) for i in range(3400, 3406)
    ]
    with FakeSite() as site, FakeDiscord() as discord:
        site.publish(*history)
        _configure(tmp_path, site, discord)
        _compose("down", "-v", "--remove-orphans", check=False)  # a previous run's leftovers
        try:
            started = time.monotonic()
            _compose("up", "-d", "--build", timeout=1800)
            _wait("every service healthy and migrate exited 0", _all_healthy, 300)
            print(f"\ncompose up --build to all healthy: {time.monotonic() - started:.0f} s")

            # The first tick announces the newest listed game; a new game follows, once each.
            _wait(
                "the first tick's game on the Discord stand-in", lambda: _posted(discord, 3405), 240
            )
            site.publish(generate_game(3406, seed=5, options=GameOptions(players=150)))
            _wait("game 3406 on the Discord stand-in", lambda: _posted(discord, 3406), 240)
            time.sleep(5)  # a duplicate would arrive now
            assert [len(_posted(discord, r)) for r in (3405, 3406)] == [1, 1]

            # Secrets go only where they are used.
            bot_token = _compose("exec", "-T", "bot", "printenv", "DISCORD_TOKEN", check=False)
            assert bot_token.stdout.strip() == BOT_TOKEN
            for service in ("webserver", "daemon", "code"):
                leaked = _compose("exec", "-T", service, "printenv", "DISCORD_TOKEN", check=False)
                assert leaked.returncode != 0 and BOT_TOKEN not in leaked.stdout, service
            ui = _compose("port", "webserver", "3000", check=False)  # host network: no mapping
            assert "0.0.0.0" not in ui.stdout

            # A restart of everything posts nothing again; the next game still arrives once.
            _compose("restart")
            _wait("every service healthy after the restart", _all_healthy, 300)
            time.sleep(8)
            assert [len(_posted(discord, r)) for r in (3405, 3406)] == [1, 1]
            site.publish(generate_game(3407, seed=5, options=GameOptions(players=150)))
            _wait("game 3407 after the restart", lambda: _posted(discord, 3407), 240)

            # down + up keeps the data: the volumes survive, nothing is posted twice.
            _compose("down")
            _compose("up", "-d")
            _wait("every service healthy after down and up", _all_healthy, 300)
            time.sleep(8)
            assert [len(_posted(discord, r)) for r in (3405, 3406, 3407)] == [1, 1, 1]
            assert len(discord.all_messages()) == 3
            engine = sa.create_engine(
                f"postgresql+psycopg://wog:{PASSWORD}@127.0.0.1:5432/wog",
                poolclass=sa.pool.NullPool,
            )
            with engine.connect() as conn:
                games = conn.scalars(sa.text("SELECT replay_id FROM games ORDER BY 1")).all()
                sent = conn.scalars(
                    sa.text("SELECT replay_id FROM notifications WHERE status = 'sent' ORDER BY 1")
                ).all()
            assert {3405, 3406, 3407} <= set(games)
            assert sent == [3405, 3406, 3407]
        finally:
            _save_logs_and_remove("compose")


RUNS_OVERRIDE = """\
# Test override of the docker-runs deployment: run containers on the host's network too, so
# they reach Postgres at 127.0.0.1 (the daemon passes these URLs on to them).
services:
  daemon:
    environment:
      WOG_RUN_NETWORK: host
      WOG_DATABASE_URL: postgresql://wog:{pw}@127.0.0.1:5432/wog
      DAGSTER_POSTGRES_URL: postgresql://wog:{pw}@127.0.0.1:5432/dagster
  webserver:
    environment:
      WOG_RUN_NETWORK: host
"""


def test_the_docker_runs_deployment_starts_each_run_in_its_own_container(
    docker: None, tmp_path: Path
) -> None:
    history = [
        generate_game(i, seed=6, options=GameOptions(players=120)) for i in range(3500, 3503)
    ]
    with FakeSite() as site, FakeDiscord() as discord:
        site.publish(*history)
        _configure(tmp_path, site, discord, RUNS_OVERRIDE.format(pw=PASSWORD))
        FILES.insert(1, ROOT / "docker-compose.docker-runs.yml")
        with ENV_FILE.open("a") as env:  # the group that may use the Docker socket
            env.write(f"DOCKER_GID={os.stat('/var/run/docker.sock').st_gid}\n")
        _compose("down", "-v", "--remove-orphans", check=False)
        try:
            _compose("up", "-d", "--build", timeout=1800)
            _wait("every service healthy and migrate exited 0", _all_healthy, 300)
            _wait(
                "the first tick's game on the Discord stand-in", lambda: _posted(discord, 3502), 240
            )
            time.sleep(5)
            assert len(_posted(discord, 3502)) == 1
            engine = sa.create_engine(
                f"postgresql+psycopg://wog:{PASSWORD}@127.0.0.1:5432/dagster",
                poolclass=sa.pool.NullPool,
            )

            def in_containers() -> list:
                with engine.connect() as conn:
                    return conn.execute(
                        sa.text(
                            "SELECT r.status, t.value FROM runs r JOIN run_tags t "
                            "ON t.run_id = r.run_id WHERE t.key = 'docker/container_id' "
                            "AND r.pipeline_name = 'ingest_replays'"
                        )
                    ).all()

            def all_finished() -> list:
                runs = in_containers()
                return runs if all(s in ("SUCCESS", "FAILURE", "CANCELED") for s, _ in runs) else []

            launched = _wait("the runs launched in containers to finish", all_finished, 240)
            assert launched, "no ingest run was launched in a container of its own"
            with engine.connect() as conn:
                failures = conn.scalars(
                    sa.text(
                        "SELECT event FROM event_logs WHERE dagster_event_type "
                        "IN ('STEP_FAILURE', 'RUN_FAILURE') ORDER BY id"
                    )
                ).all()
            reasons = [m for e in failures for m in re.findall(r'"message": "([^"]{0,400})', e)]
            print("\n".join(reasons))
            assert all(status == "SUCCESS" for status, _ in launched), (launched, reasons[:6])
            # The code container ran no step: each run's own container did (and was removed).
            code_logs = _compose("logs", "--no-color", "code", check=False).stdout
            assert "STEP_START" not in code_logs
        finally:
            _save_logs_and_remove("compose-docker-runs")
