"""``wog dev --demo`` as a newcomer runs it, with no other command: quiet start-up, a game in
the Dagster UI and its message on the local channel page within two minutes, other commands
acting on the demo while it runs, and Ctrl-C stopping everything it started — the bot, the
Discord stand-in and the embedded Postgres included.

One demo serves the module's tests, in order: what it does, how it looks in a browser
(screenshots in ./artifacts; skipped without Chromium), and how it stops.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.browser import chromium_page
from tests.conftest import ROOT, run_wog

pytestmark = pytest.mark.slow  # the whole demo as a newcomer runs it (~1.5 min)

ARTIFACTS = Path(os.environ.get("WOG_TEST_ARTIFACTS", ROOT / "artifacts"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Demo:
    proc: subprocess.Popen
    log: Path
    data: Path
    env: dict[str, str]
    ui: str
    started: float

    def output(self) -> str:
        return self.log.read_text()

    def channel(self) -> str:
        match = re.search(r"^Discord channel: (http://127\.0\.0\.1:\d+/)$", self.output(), re.M)
        assert match, self.output()[-3000:]
        return match.group(1)


def _get(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read()
    except OSError:
        return None


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    tmp = tmp_path_factory.mktemp("demo")
    env = {k: v for k, v in os.environ.items()
           if k not in ("WOG_DATABASE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "WOG_BASE_URL")}  # fmt: skip
    env["WOG_DATA_DIR"] = str(tmp / "data")
    port = _free_port()
    log = tmp / "dev.log"
    out = log.open("w")
    started = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "wog_cli", "dev", "--demo", "--port", str(port)],
        env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    demo = Demo(proc, log, tmp / "data", env, f"http://127.0.0.1:{port}", started)
    try:
        yield demo
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.close()


def test_the_demo_shows_a_game_in_the_ui_and_on_its_channel_page(demo: Demo) -> None:
    deadline = demo.started + 180
    address = f"Dagster UI: {demo.ui}\n"
    while time.monotonic() < deadline and demo.proc.poll() is None:
        if address in demo.output():  # printed once it answers, not before
            assert _get(f"{demo.ui}/server_info"), demo.output()[-3000:]
            break
        time.sleep(0.5)
    assert address in demo.output(), demo.output()[-3000:]
    assert "Dagster UI: starting…" in demo.output()
    channel = demo.channel()

    # With no other command, a game reaches the channel page within two minutes.
    messages: list = []
    while time.monotonic() < demo.started + 120 + 60 and not messages:  # 60 s of test slack
        messages = json.loads(_get(f"{channel}demo/messages") or b"[]")
        time.sleep(2)
    assert messages, demo.output()[-3000:]
    first = messages[0]
    assert first["content"] == "📨 Доступен новый реплей!"
    assert first["embeds"][0]["title"] == "📉 Общая статистика"
    assert first["attachments"][0]["filename"] == "battle.png"
    assert _get(first["attachments"][0]["url"])[:4] == b"\x89PNG"  # the chart is served
    assert time.monotonic() - demo.started < 180

    output = demo.output()
    assert "SupersessionWarning" not in output and "will not be used" not in output
    assert f"Dagster UI: {demo.ui}" in output
    assert "ingest_replays" in output and "__anonymous_asset_job" not in output  # named runs

    # The Quick start's next commands act on the demo, not the real site.
    parsed = run_wog("parse", "--replay-id", "3400", env=demo.env)
    assert parsed.returncode == 0, parsed.stderr
    assert json.loads(parsed.stdout)["replay_id"] == 3400


def test_screenshots_of_the_demo_ui_and_channel(demo: Demo) -> None:
    if demo.proc.poll() is not None:
        pytest.skip("the demo is not running (see the previous test)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(1400, 1000) as page:
        page.goto(f"{demo.ui}/runs", wait_until="networkidle", timeout=60_000)  # type: ignore[attr-defined]
        page.wait_for_selector("text=ingest_replays", timeout=60_000)  # type: ignore[attr-defined]
        skip = page.get_by_role("button", name="Skip")  # type: ignore[attr-defined]
        if skip.count():  # Dagster's first-visit newsletter dialog
            skip.first.click()
            page.wait_for_timeout(500)  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "demo-dagster-runs.png"))  # type: ignore[attr-defined]
        page.goto(demo.channel())  # type: ignore[attr-defined]
        page.wait_for_selector("article.message img[alt=chart]", timeout=30_000)  # type: ignore[attr-defined]
        text = page.inner_text("main")  # type: ignore[attr-defined]
        page.screenshot(path=str(ARTIFACTS / "demo-channel.png"))  # type: ignore[attr-defined]
    assert "Общая статистика" in text and "Доступен новый реплей" in text
    assert (ARTIFACTS / "demo-channel.png").stat().st_size > 10_000


def test_ctrl_c_stops_everything_the_demo_started(demo: Demo) -> None:
    assert demo.proc.poll() is None, demo.output()[-3000:]
    channel = demo.channel()
    os.killpg(demo.proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
    stopped = time.monotonic()
    demo.proc.wait(timeout=60)
    assert time.monotonic() - stopped < 40
    output = demo.output()
    assert "stopped the embedded Postgres" in output, output[-3000:]
    assert not (demo.data / "demo.env").exists()
    assert not (demo.data / "pgdata" / "postmaster.pid").exists()
    assert _get(f"{channel}demo/messages") is None  # the stand-in is gone
    bot = re.search(r"Discord stand-in \(pid (\d+)\)", output)
    assert bot, output[-3000:]
    with pytest.raises(ProcessLookupError):  # the bot was stopped (and reaped)
        os.kill(int(bot.group(1)), 0)


def _tree(root: int) -> set[int]:
    """``root`` and every process descended from it, sessions of their own included."""
    import psutil

    try:
        parent = psutil.Process(root)
        return {root, *(p.pid for p in parent.children(recursive=True))}
    except psutil.NoSuchProcess:
        return set()


def _alive(pids: set[int]) -> set[int]:
    import psutil

    alive = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.add(pid)
        except psutil.NoSuchProcess:
            pass
    return alive


@pytest.mark.parametrize("attempt", [1, 2, 3])
def test_one_ctrl_c_through_uv_run_stops_everything_while_a_run_executes(
    tmp_path: Path, attempt: int
) -> None:
    """As a person runs it: `uv run wog dev --demo` in a terminal's process group, one Ctrl-C
    (SIGINT to the group, which uv forwards once more) while a run is executing."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("WOG_DATABASE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "WOG_BASE_URL")}  # fmt: skip
    env.update(WOG_DATA_DIR=str(tmp_path / "data"), WOG_SENSOR_INTERVAL="5")
    log = tmp_path / "dev.log"
    port = _free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["uv", "run", "wog", "dev", "--demo", "--port", str(port), "--demo-interval", "8"],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 240
        run_id = None
        while time.monotonic() < deadline and proc.poll() is None and run_id is None:
            text = log.read_text()
            started = re.findall(r" - ([0-9a-f-]{36}) - \d+ - RUN_START - ", text)
            finished = set(re.findall(r" - ([0-9a-f-]{36}) - \d+ - RUN_(?:SUCCESS|FAILURE)", text))
            running = [r for r in started if r not in finished]
            run_id = running[-1] if running else None
            time.sleep(0.1)
        assert run_id, log.read_text()[-3000:]
        processes = _tree(proc.pid)
        mark = len(log.read_text())
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal
        stopped = time.monotonic()
        proc.wait(timeout=60)
        while _alive(processes) and time.monotonic() - stopped < 30:
            time.sleep(0.1)
        took = time.monotonic() - stopped
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for pid in _alive(_tree(proc.pid)):
            os.kill(pid, signal.SIGKILL)
    after = log.read_text()[mark:]
    assert took <= 10, f"still running {took:.1f} s after Ctrl-C: {after[-2000:]}"
    assert not _alive(processes)
    assert proc.returncode == 0, after
    assert "Traceback" not in after and "Stack Trace" not in after, after
    assert "KeyboardInterrupt" not in after, after
    assert re.search(rf"canceled \d run\(s\) in progress: .*{run_id[:8]}", after), after
    assert "stopped the embedded Postgres" in after, after
    pgdata = tmp_path / "data" / "pgdata"
    assert not (pgdata / "postmaster.pid").exists()

    # The run ended canceled, not failed: read the Dagster database (the server started anew).
    import sqlalchemy as sa

    from dbschema.connection import embedded_server_uri, normalize_url, stop_embedded_server

    url = sa.engine.make_url(normalize_url(embedded_server_uri(pgdata))).set(database="dagster")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as conn:
            status = conn.scalar(
                sa.text("SELECT status FROM runs WHERE run_id = :r"), {"r": run_id}
            )
            running = conn.scalar(sa.text("SELECT count(*) FROM runs WHERE status = 'STARTED'"))
    finally:
        engine.dispose()
        stop_embedded_server(pgdata)
    assert status == "CANCELED"
    assert running == 0
