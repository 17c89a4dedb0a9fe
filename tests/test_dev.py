"""``wog dev --demo`` as a newcomer runs it: quiet start-up, other commands act on the demo while
it runs, and Ctrl-C stops everything it started — the embedded Postgres included."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import ROOT, run_wog


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dev_demo_starts_quietly_shares_its_site_and_stops_everything(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items()
           if k not in ("WOG_DATABASE_URL", "DAGSTER_POSTGRES_URL", "DAGSTER_HOME", "WOG_BASE_URL")}  # fmt: skip
    env["WOG_DATA_DIR"] = str(tmp_path / "data")
    port = _free_port()
    log = tmp_path / "dev.log"
    with log.open("w") as out:
        dev = subprocess.Popen(
            [sys.executable, "-m", "wog_assets.cli", "dev", "--demo", "--port", str(port)],
            env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            demo_file = tmp_path / "data" / "demo.env"
            deadline = time.monotonic() + 180
            ui_up = False
            while time.monotonic() < deadline and not ui_up and dev.poll() is None:
                time.sleep(1)
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=2)
                    ui_up = demo_file.exists()
                except OSError:
                    pass
            assert ui_up, log.read_text()[-3000:]
            # The next command of the Quick start acts on the demo, not the real site.
            parsed = run_wog("parse", "--replay-id", "3400", env=env)
            assert parsed.returncode == 0, parsed.stderr
            assert json.loads(parsed.stdout)["replay_id"] == 3400
        finally:
            os.killpg(dev.pid, signal.SIGINT)  # Ctrl-C in the terminal
            stopped = time.monotonic()
            dev.wait(timeout=60)
    output = log.read_text()
    assert time.monotonic() - stopped < 40
    assert "SupersessionWarning" not in output and "will not be used" not in output, output[-3000:]
    assert f"Dagster UI: http://127.0.0.1:{port}" in output
    assert "stopped the embedded Postgres" in output
    assert not demo_file.exists()
    assert not (tmp_path / "data" / "pgdata" / "postmaster.pid").exists()
