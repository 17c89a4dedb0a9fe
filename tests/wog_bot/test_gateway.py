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
import time
from pathlib import Path

import sqlalchemy as sa

from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.generator import generate_game
from wog_warehouse.replays import write_replay

ROOT = Path(__file__).resolve().parents[2]


def test_the_bot_answers_slash_commands_through_the_gateway(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    from tests.wog_warehouse.test_stats import HISTORY
    from wog_warehouse.replays import refresh_player_directory
    from wog_warehouse.stats import (
        all_periods,
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
    )

    game = generate_game(3413, seed=5)
    write_replay(engine, game.replay, "https://stats.example/games/3413/")
    for replay in HISTORY:  # the hand-computed history of the statistics' tests
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
    refresh_player_directory(engine, [r.replay_id for r in HISTORY])
    refresh_game_stats(engine, [r.replay_id for r in HISTORY])
    refresh_careers(engine, min_games=2)
    refresh_leaderboards(engine, all_periods(engine), min_games=2)
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
            [sys.executable, "-m", "wog_cli", "bot"],
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
            by_name = {c["name"]: c for c in discord.commands}
            assert set(by_name) == {"replay", "last", "top", "player", "rivals", "commanders",
                                    "ping"}  # fmt: skip
            assert by_name["player"]["options"][0]["autocomplete"] is True
            metric = next(o for o in by_name["top"]["options"] if o["name"] == "metric")
            assert [c["value"] for c in metric["choices"]][:3] == ["score", "kills", "deaths"]

            first = discord.interact("replay", {"id": 3413})
            assert discord.wait_for(lambda: first in discord.interaction_responses, 20), log()
            answer = discord.interaction_responses[first]
            assert answer["type"] == 4  # a message in reply (at once, or deferred then edited in)
            assert first not in discord.expired_interactions
            embeds = answer["data"]["embeds"]
            assert game.replay.game.mission_name in json.dumps(embeds, ensure_ascii=False)
            assert embeds[0]["image"]["url"] == "attachment://battle.png"
            callback = next(r for r in discord.requests if "battle.png" in r.files)
            assert callback.path.endswith(("/callback", "/messages/@original"))
            assert callback.files["battle.png"][:4] == b"\x89PNG"  # the chart, uploaded with it

            # Autocomplete while typing a nickname: current and past names, the id as value.
            typing = discord.interact("player", {"name": "ha"}, focused="name")
            assert discord.wait_for(lambda: typing in discord.interaction_responses, 20), log()
            suggested = discord.interaction_responses[typing]
            assert suggested["type"] == 8
            assert suggested["data"]["choices"][:2] == [
                {"name": "Alpha", "value": "1"},
                {"name": "Charlie", "value": "3"},
            ]  # fmt: skip (players with games first)
            card = discord.interact("player", {"name": "1"})
            assert discord.wait_for(lambda: card in discord.interaction_responses, 20), log()
            (embed,) = discord.interaction_responses[card]["data"]["embeds"]
            assert embed["title"] == "🎖️ Alpha" and embed["image"]["url"].startswith("attachment://")
            board = discord.interact("top", {"period": "2026-W10", "metric": "kills"})
            assert discord.wait_for(lambda: board in discord.interaction_responses, 20), log()
            (embed,) = discord.interaction_responses[board]["data"]["embeds"]
            assert embed["description"].startswith("1. Alpha — 2\n1. Charlie — 2")
            nobody = discord.interact("commanders", {"period": "2027-W01"})
            assert discord.wait_for(lambda: nobody in discord.interaction_responses, 20), log()
            assert discord.interaction_responses[nobody]["data"]["flags"] & 64

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


def test_a_slow_answer_is_deferred_within_discords_3_seconds_then_edited_in(
    engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    """A cold bot, and a database that keeps the games table locked for 5 s: the answer cannot
    be ready in 3 s, so the interaction is acknowledged as deferred, then the answer arrives."""
    game = generate_game(3413, seed=5)
    write_replay(engine, game.replay, "https://stats.example/games/3413/")
    with FakeDiscord() as discord:
        env = {**os.environ, "DISCORD_TOKEN": BOT_TOKEN, "WOG_DISCORD_API_URL": discord.api_url,
               "WOG_DISCORD_CHANNEL_IDS": "111", "WOG_DATABASE_URL": db_url,
               "WOG_DATA_DIR": str(tmp_path / "data")}  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "wog_cli", "bot"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        try:
            assert discord.wait_for(lambda: discord.commands, 60), "commands not registered"
            with engine.connect() as conn:
                conn.execute(sa.text("BEGIN"))
                conn.execute(sa.text("LOCK TABLE games IN ACCESS EXCLUSIVE MODE"))
                asked = discord.interact("replay", {"id": 3413})
                assert discord.wait_for(lambda: asked in discord.deferred_interactions, 5)
                time.sleep(5 - discord.deferred_interactions[asked])  # the lock holds on
                conn.execute(sa.text("ROLLBACK"))
            assert discord.wait_for(lambda: asked in discord.interaction_responses, 20)
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    assert discord.deferred_interactions[asked] < discord.interaction_deadline_s
    assert asked not in discord.expired_interactions
    embeds = discord.interaction_responses[asked]["data"]["embeds"]
    assert game.replay.game.mission_name in json.dumps(embeds, ensure_ascii=False)
    (posted,) = discord.channel_messages(1)  # the edited answer, in the channel it was asked
    assert posted["embeds"][0]["image"]["url"] == "attachment://battle.png"
    assert proc.returncode == 0, output
