"""No secret reaches a log, at any level: every ``wog`` command, the bot with Twitch on and the
pipeline run at DEBUG with sentinel secrets, and every byte they write — stdout, stderr, files in
the data directory and Dagster's home (compute logs included) — is searched for them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.conftest import ROOT, new_database, run_wog
from tests.wog_bot.conftest import queue_game
from wog_fakes.discord import FakeDiscord
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_games
from wog_fakes.twitch import CLIENT_ID, FakeTwitch

pytestmark = pytest.mark.slow  # every command at DEBUG (~1 min)

DISCORD_TOKEN = "SENTINEL-DISCORD-TOKEN-4e1d"
WEBHOOK_TOKEN = "SENTINELWEBHOOKTOKEN9c2f"
TWITCH_SECRET = "SENTINEL-TWITCH-SECRET-77a1"
DB_PASSWORD = "SENTINELDBPASSWORD0b3e"
SENTINELS = (DISCORD_TOKEN, WEBHOOK_TOKEN, TWITCH_SECRET, DB_PASSWORD)


def _with_password(url: str) -> str:
    # The test server trusts local connections, so the password is carried but not checked.
    return make_url(url).set(password=DB_PASSWORD).render_as_string(hide_password=False)


def _grep(outputs: list[str], *directories: Path) -> list[str]:
    found = []
    for index, text in enumerate(outputs):
        found += [f"output {index}: {s}" for s in SENTINELS if s in text]
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file() and "pgdata" not in path.parts:
                data = path.read_bytes()
                found += [f"{path}: {s}" for s in SENTINELS if s.encode() in data]
    return found


def test_no_secret_in_any_output_at_debug(
    tmp_path: Path, db_url: str, pg_server_url: str, engine: sa.Engine
) -> None:
    dagster_url = make_url(new_database(pg_server_url)).set(drivername="postgresql")
    games = generate_games(9000, 3, seed=2, options=GameOptions(players=20))
    outputs: list[str] = []
    with (
        FakeSite() as site,
        FakeDiscord() as discord,
        FakeTwitch(client_secret=TWITCH_SECRET) as twitch,
    ):
        site.publish(*games)
        twitch.go_live("s1", title="WOG night")
        webhook = f"{discord.api_url}/webhooks/333/{WEBHOOK_TOKEN}"
        env = {
            **os.environ,
            "WOG_DATABASE_URL": _with_password(db_url),
            "DAGSTER_POSTGRES_URL": _with_password(dagster_url.render_as_string(False)),
            "DAGSTER_HOME": str(tmp_path / "home"),
            "WOG_DATA_DIR": str(tmp_path / "data"),
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "DISCORD_TOKEN": DISCORD_TOKEN,
            "WOG_DISCORD_API_URL": discord.api_url,
            "WOG_DISCORD_CHANNEL_IDS": "111",
            "WOG_DISCORD_WEBHOOK_URL": webhook,
            "TWITCH_CLIENT_ID": CLIENT_ID,
            "TWITCH_CLIENT_SECRET": TWITCH_SECRET,
            "WOG_TWITCH_STREAMERS": "streamer",
            "WOG_TWITCH_ALERT_CHANNEL_ID": "222",
            "WOG_TWITCH_API_URL": f"{twitch.url}/helix",
            "WOG_TWITCH_AUTH_URL": f"{twitch.url}/oauth2",
            "WOG_POLL_INTERVAL": "0.5",
        }

        def wog(*args: str) -> subprocess.CompletedProcess[str]:
            result = run_wog("-v", *args, env=env, timeout=300)
            outputs.extend([result.stdout, result.stderr])
            return result

        assert wog("db", "upgrade").returncode == 0
        assert wog("backfill", "--from", "9000", "--to", "9002").returncode == 0
        assert wog("announce", "9001").returncode == 0
        for args in (
            ("db", "current"),
            ("db", "url"),
            ("summary", "--replay-id", "9001"),
            ("notifications", "list"),
            ("healthcheck", "--role", "db"),
            ("parse", "--replay-id", "9002"),
        ):
            assert wog(*args).returncode == 0, args
        # The bot token is refused by the fake Discord: the errors are logged, redacted.
        wog("bot", "-v", "--once")

        # The bot through the webhook, Twitch on, at DEBUG, until SIGTERM.
        queue_game(engine, 4242, ["webhook:333"], chart=True)
        bot = subprocess.Popen(
            [sys.executable, "-m", "wog_cli", "-v", "bot", "-v", "--webhook", webhook],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            discord.webhook_messages[333] and twitch.tokens_issued
        ):
            time.sleep(0.2)
        time.sleep(1)
        bot.send_signal(signal.SIGTERM)
        outputs.append(bot.communicate(timeout=60)[0])
    assert discord.webhook_messages[333], outputs[-1][-3000:]  # the bot really worked
    assert twitch.tokens_issued >= 1
    assert "DEBUG" in outputs[-1]
    leaks = _grep(outputs, tmp_path)
    assert not leaks, leaks
