"""End to end, the deployed topology as local processes with docker-compose.yml's commands.

Code server, webserver and daemon (Dagster on the test Postgres) plus `wog bot`, against the
fake stats site and the fake Discord on loopback. A game published on the fake site must be
found by the sensor in the daemon, materialized by a run, and posted to Discord exactly once;
the bot is restarted between two games. Prints the publish-to-Discord latency, and keeps
screenshots of the UI (asset lineage, a partition) in ./artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.engine import make_url

from dbschema.migrate import upgrade
from tests.conftest import drop_database, new_database
from wog_fakes.discord import FakeDiscord
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_game

pytestmark = pytest.mark.slow  # the deployed topology end to end (~2 min)

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ARTIFACTS = Path(os.environ.get("WOG_TEST_ARTIFACTS", ROOT / "artifacts"))
SENSOR_INTERVAL = 5
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(
    what: str, predicate: Callable[[], object], timeout: float, procs: dict | None = None
) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        for name, proc in (procs or {}).items():
            if proc.poll() is not None:
                raise AssertionError(
                    f"{name} exited with {proc.returncode} while waiting for {what}"
                )
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")


def _command(service: str, *, code_port: int, web_port: int) -> list[str]:
    """The compose service's command, with container addresses mapped to loopback."""
    mapped = []
    for word in COMPOSE["services"][service]["command"]:
        word = {"0.0.0.0": "127.0.0.1", "4000": str(code_port), "3000": str(web_port)}.get(
            word, word
        )
        mapped.append(str(ROOT / "workspace.yaml") if word == "/app/workspace.yaml" else word)
    mapped[0] = str(BIN / mapped[0])
    return mapped


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _messages_for(discord: FakeDiscord, replay_id: int) -> list[dict]:
    marker = f"/games/{replay_id}/"
    return [
        m
        for m in discord.all_messages()
        if any((e.get("url") or "").endswith(marker) for e in m["embeds"])
    ]


@pytest.fixture
def databases(pg_server_url: str) -> Iterator[tuple[str, str]]:
    warehouse, dagster = new_database(pg_server_url), new_database(pg_server_url)
    upgrade(sa.create_engine(warehouse, poolclass=sa.pool.NullPool))
    yield warehouse, dagster
    for url in (warehouse, dagster):
        drop_database(pg_server_url, url)


def test_deployed_topology_delivers_each_new_game_exactly_once(
    databases: tuple[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    warehouse_url, dagster_url = databases
    history = [
        generate_game(i, seed=77, options=GameOptions(players=120)) for i in range(3400, 3406)
    ]
    logs = ARTIFACTS / "topology"
    shutil.rmtree(logs, ignore_errors=True)
    logs.mkdir(parents=True)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
    code_port, web_port = _free_port(), _free_port()
    procs: dict[str, subprocess.Popen] = {}

    with FakeSite() as site, FakeDiscord() as discord:
        site.publish(*history)
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": _libpq(dagster_url),
            "WOG_DATABASE_URL": warehouse_url,
            "DAGSTER_CODE_HOST": "127.0.0.1",
            "DAGSTER_CODE_PORT": str(code_port),
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "WOG_SENSOR_INTERVAL": str(SENSOR_INTERVAL),
            "WOG_DISCORD_API_URL": discord.api_url,
            "WOG_DISCORD_WEBHOOK_URL": f"{discord.api_url}/webhooks/333/topology-secret",
            "WOG_POLL_INTERVAL": "30",
            "WOG_DATA_DIR": str(tmp_path / "data"),
            "DAGSTER_EVENT_BATCH_SIZE": "200",
        }
        env.pop("DISCORD_TOKEN", None)

        def start(name: str, command: list[str]) -> None:
            out = open(logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            procs[name] = subprocess.Popen(
                command, env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT
            )

        try:
            start("code", _command("code", code_port=code_port, web_port=web_port))
            health = [str(BIN / "dagster"), "api", "grpc-health-check", "-p", str(code_port)]
            _wait(
                "the code server",
                lambda: subprocess.run(health, capture_output=True).returncode == 0,
                120,
                procs,
            )
            start("webserver", _command("webserver", code_port=code_port, web_port=web_port))
            start("daemon", _command("daemon", code_port=code_port, web_port=web_port))
            start("bot", _command("bot", code_port=code_port, web_port=web_port))

            def ui_up() -> bool:
                try:
                    return (
                        urllib.request.urlopen(
                            f"http://127.0.0.1:{web_port}/server_info", timeout=2
                        ).status
                        == 200
                    )
                except OSError:
                    return False

            _wait("the webserver", ui_up, 120, procs)

            # First tick: every listed game is registered, only the newest one is run/announced.
            _wait(
                "the first tick's game on Discord", lambda: _messages_for(discord, 3405), 180, procs
            )

            latencies = {}
            for replay_id in (3406, 3407):
                if replay_id == 3407:  # restart the bot between the two games (docker restart)
                    procs["bot"].send_signal(signal.SIGTERM)
                    procs["bot"].wait(timeout=30)
                    start("bot", _command("bot", code_port=code_port, web_port=web_port))
                published = time.monotonic()
                site.publish(generate_game(replay_id, seed=77, options=GameOptions(players=150)))
                _wait(
                    f"game {replay_id} on Discord",
                    lambda rid=replay_id: _messages_for(discord, rid),
                    180,
                    procs,
                )
                latencies[replay_id] = time.monotonic() - published

            time.sleep(3)  # any duplicate would arrive now
            for replay_id in (3405, 3406, 3407):
                assert len(_messages_for(discord, replay_id)) == 1, replay_id
            assert len(discord.all_messages()) == 3
            for replay_id, seconds in latencies.items():
                print(f"\npublish -> Discord latency for game {replay_id}: {seconds:.1f} s "
                      f"(target <= sensor interval {SENSOR_INTERVAL} s + 10 s)")  # fmt: skip

            query = """query { runsOrError(filter: {tags: [{key: "wog/replay", value: "3406"}]}) {
                       ... on Runs { results { runId status tags { key value } } } } }"""
            request = urllib.request.Request(
                f"http://127.0.0.1:{web_port}/graphql",
                data=json.dumps({"query": query}).encode(),
                headers={"Content-Type": "application/json"},
            )
            runs = json.loads(urllib.request.urlopen(request, timeout=30).read())["data"][
                "runsOrError"
            ]["results"]
            assert runs and runs[0]["status"] == "SUCCESS"
            assert {"key": "wog/trigger", "value": "new"} in runs[0]["tags"]

            import dagster as dg

            monkeypatch.setenv("DAGSTER_POSTGRES_URL", env["DAGSTER_POSTGRES_URL"])
            with dg.DagsterInstance.from_config(str(home)) as instance:
                assert instance.get_dynamic_partitions("replays") == [
                    str(i) for i in range(3400, 3408)
                ]
                for key in ("game_page_html", "replay_json", "games", "players", "vehicles", "frags",
                            "player_directory", "notifications"):  # fmt: skip
                    assert {"3405", "3406", "3407"} <= instance.get_materialized_partitions(
                        dg.AssetKey(key)
                    ), key

            # History through the daemon, as the UI would submit it: loaded, never announced.
            submit = subprocess.run(
                [str(BIN / "wog"), "backfill", "--from", "3400", "--to", "3404", "--submit"],
                env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert submit.returncode == 0, submit.stderr[-2000:]
            engine = sa.create_engine(warehouse_url, poolclass=sa.pool.NullPool)

            def history_loaded() -> bool:
                with engine.connect() as conn:
                    return (
                        conn.execute(
                            sa.text("SELECT count(*) FROM notifications WHERE replay_id < 3405")
                        ).scalar()
                        == 5
                    )

            _wait("the submitted backfill", history_loaded, 240, procs)
            with engine.connect() as conn:
                statuses = dict(
                    conn.execute(sa.text("SELECT replay_id, status FROM notifications")).all()
                )
            assert statuses == {3400: "suppressed", 3401: "suppressed", 3402: "suppressed", 3403: "suppressed",
                                3404: "suppressed", 3405: "sent", 3406: "sent", 3407: "sent"}  # fmt: skip
            time.sleep(2)
            assert len(discord.all_messages()) == 3

            # The UI screenshots are their own test's result (below): a machine without
            # Chromium skips them, not this functional test.
            from tests.browser import chromium_executable

            if chromium_executable():
                _screenshots(web_port)
                SCREENSHOTS["taken"] = True
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in procs.values():
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()


SCREENSHOTS: dict[str, bool] = {}


def test_ui_screenshots_of_the_deployed_topology() -> None:
    """Lineage and partition screenshots, taken while the topology above runs."""
    from tests.browser import MISSING, chromium_executable

    if chromium_executable() is None:
        pytest.skip(MISSING)
    assert SCREENSHOTS.get("taken"), "the topology test did not get as far as the screenshots"
    for name in ("lineage", "partition"):
        assert (ARTIFACTS / f"ui-{name}.png").stat().st_size > 10_000


def _screenshots(web_port: int) -> None:
    from tests.browser import chromium_page

    base = f"http://127.0.0.1:{web_port}"
    with chromium_page(1500, 1100) as tab:
        for name, path, expected in (
            ("lineage", "/locations/wog_assets/asset-groups/warehouse/lineage", "frags"),
            ("partition", "/assets/games?view=partitions&partition=3406", "3406"),
        ):
            tab.goto(base + path)
            tab.wait_for_timeout(3000)
            skip = tab.get_by_role("button", name="Skip")
            if skip.count():
                skip.click()
            tab.get_by_text(expected).first.wait_for(timeout=30000)
            body = tab.locator("body").inner_text()
            assert "Unexpected GraphQL error" not in body and "Something went wrong" not in body
            tab.screenshot(path=str(ARTIFACTS / f"ui-{name}.png"))
