"""`wog bot` in bot mode, end to end, against the Discord stand-in's REST and gateway.

The path most admins run — a token, Discord's gateway — driven as Discord drives it: HELLO,
IDENTIFY → READY, heartbeats, slash commands registered, a `/replay` interaction answered over
REST, a RECONNECT followed by RESUME, another interaction answered, and SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa

from tests.fakes.discord import BOT_TOKEN, FakeDiscord
from wog_assets.demo.generator import generate_game
from wog_warehouse.replays import write_replay

ROOT = Path(__file__).resolve().parents[2]


def test_the_bot_answers_slash_commands_through_the_gateway(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    game = generate_game(3413, seed=5)
    write_replay(engine, game.replay, "https://stats.example/games/3413/")
    with FakeDiscord() as discord:
        discord.heartbeat_interval_ms = 500  # several heartbeats within the test
        env = {
            **os.environ,
            "DISCORD_TOKEN": BOT_TOKEN,
            "WOG_DISCORD_API_URL": discord.api_url,
            "WOG_DISCORD_CHANNEL_IDS": "111",
            "WOG_DISCORD_GUILD_ID": "800000000000000001",
            "WOG_DATABASE_URL": db_url,
            "WOG_DATA_DIR": str(tmp_path / "data"),
            "WOG_POLL_INTERVAL": "0.5",
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "wog_assets.cli", "bot"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

        def log() -> str:
            proc.terminate()
            return proc.communicate(timeout=30)[0][-3000:]

        try:
            assert discord.wait_for(lambda: discord.gateway_sessions() == 1, 60), "no READY"
            assert discord.wait_for(lambda: discord.commands, 30), "commands not registered"
            assert {c["name"] for c in discord.commands} >= {"replay", "last", "top", "ping"}

            first = discord.interact("replay", {"id": 3413})
            assert discord.wait_for(lambda: first in discord.interaction_responses, 20), log()
            answer = discord.interaction_responses[first]
            assert answer["type"] == 4  # a message in reply
            embeds = answer["data"]["embeds"]
            assert game.replay.game.mission_name in json.dumps(embeds, ensure_ascii=False)
            assert embeds[0]["image"]["url"] == "attachment://battle.png"
            callback = next(r for r in discord.requests if r.path.endswith("/callback"))
            assert callback.files["battle.png"][:4] == b"\x89PNG"  # the chart, uploaded with it

            heartbeats_before = sum(1 for r in discord.gateway_events if r[0] == "RESUME")
            discord.request_reconnect()
            assert discord.wait_for(
                lambda: (
                    sum(1 for r in discord.gateway_events if r[0] == "RESUME") > heartbeats_before
                ),
                30,
            ), "no RESUME after RECONNECT"
            assert discord.wait_for(lambda: discord.gateway_sessions() == 1, 10)
            second = discord.interact("replay", {"id": 999999})
            assert discord.wait_for(lambda: second in discord.interaction_responses, 20)
            unknown = discord.interaction_responses[second]["data"]
            assert unknown["flags"] & 64  # ephemeral: no such replay
            assert [e[0] for e in discord.gateway_events].count("IDENTIFY") == 1

            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert proc.returncode == 0, output
    assert BOT_TOKEN not in output
