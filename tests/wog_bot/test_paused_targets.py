"""A target Discord refuses for good is paused, not hammered, and caught up once it works.

Driven as an admin meets it: ``wog bot`` processes against the fake Discord, one webhook
answering 404 Unknown Webhook while a channel works, then the webhook fixed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter

import sqlalchemy as sa

from tests.conftest import ROOT, run_wog
from tests.wog_bot.conftest import queue_game, rows
from wog_fakes.discord import BOT_TOKEN, FakeDiscord, Script
from wog_warehouse.queue import paused_targets

UNKNOWN_WEBHOOK = {"message": "Unknown Webhook", "code": 10015}


def _env(discord: FakeDiscord, db_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "WOG_DATABASE_URL": db_url,
        "WOG_DISCORD_API_URL": discord.api_url,
        "WOG_DISCORD_WEBHOOK_URL": f"{discord.api_url}/webhooks/333/game-hook-token",
        **extra,
    }


def _posts(discord: FakeDiscord, path: str) -> int:
    return sum(r.method == "POST" and r.path.startswith(path) for r in discord.requests)


def _games_posted(messages: list[dict]) -> Counter:
    return Counter(next(e["url"] for e in m["embeds"] if e.get("url")) for m in messages)


def test_thirty_rows_to_a_deleted_webhook_cost_two_refusals_and_two_alerts(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    for replay_id in range(4001, 4031):
        queue_game(engine, replay_id, ["webhook:333", "channel:111"], chart=False)
    discord.script(
        "POST /webhooks/333/game-hook-token", Script(404, times=-1, body=UNKNOWN_WEBHOOK)
    )
    env = _env(
        discord,
        db_url,
        DISCORD_TOKEN=BOT_TOKEN,
        WOG_DISCORD_CHANNEL_IDS="111",
        WOG_DISCORD_ADMIN_CHANNEL_ID="999",
    )

    first = run_wog("bot", "--once", env=env)
    assert first.returncode == 1, first.stderr  # cron notices
    assert (
        "paused: webhook:333 refuses posts (404 Not Found: Unknown Webhook (code 10015)); "
        "30 notification(s) held" in first.stderr
    )
    # The channel that works is not held back by the one that does not.
    assert len(_games_posted(discord.channel_messages(111))) == 30
    assert _posts(discord, "/webhooks/333/") == 1
    (alert,) = discord.channel_messages(999)
    assert "webhook:333" in alert["content"] and "Unknown Webhook" in alert["content"]
    assert "WOG_DISCORD_WEBHOOK_URL" in alert["content"]  # what to fix
    assert "retry --target webhook:333" in alert["content"]

    # A restarted bot tries the paused webhook once, and says nothing new to the admin.
    second = run_wog("bot", "--once", env=env)
    assert second.returncode == 1
    assert "paused: webhook:333 still refuses posts" in second.stderr
    assert _posts(discord, "/webhooks/333/") == 2
    assert len(discord.channel_messages(999)) == 1

    listed = run_wog("notifications", "list", "--limit", "5", env=env)
    assert listed.returncode == 0, listed.stderr
    assert "paused: webhook:333 since" in listed.stdout and ", 30 held," in listed.stdout
    assert "held: webhook:333 is paused — 404 Not Found: Unknown Webhook" in listed.stdout
    assert "game-hook-token" not in listed.stdout + first.stderr + second.stderr

    # The webhook works again: the next bot posts all 30, once each, with no per-row command.
    discord.unscript("POST /webhooks/333/game-hook-token")
    third = run_wog("bot", "--once", env=env)
    assert third.returncode == 0, third.stderr
    posted = _games_posted(discord.webhook_messages[333])
    assert len(posted) == 30 and set(posted.values()) == {1}
    assert _posts(discord, "/webhooks/333/") == 2 + 30
    _, resumed = (m["content"] for m in discord.channel_messages(999))
    assert "webhook:333" in resumed and "30" in resumed and resumed.startswith("▶️")
    assert paused_targets(engine) == []
    assert {r["status"] for r in rows(engine)} == {"sent"}
    # And nothing is posted twice by another pass.
    assert run_wog("bot", "--once", env=env).returncode == 0
    assert len(discord.webhook_messages[333]) == 30 and len(discord.channel_messages(111)) == 30


def test_retry_target_wakes_a_running_bot_and_retry_failed_takes_every_failed_row(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    for replay_id in range(4101, 4106):
        queue_game(engine, replay_id, ["webhook:333"], chart=False)
    discord.script(
        "POST /webhooks/333/game-hook-token", Script(404, times=-1, body=UNKNOWN_WEBHOOK)
    )
    env = _env(
        discord,
        db_url,
        WOG_ADMIN_WEBHOOK_URL=f"{discord.api_url}/webhooks/444/admin-hook-token",
        WOG_POLL_INTERVAL="600",  # only NOTIFY wakes it: the retry must do that
    )
    bot = subprocess.Popen(
        [sys.executable, "-m", "wog_cli", "bot"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert discord.wait_for(lambda: discord.webhook_messages[444], timeout=120)
        (alert,) = discord.webhook_messages[444]
        assert alert["content"].startswith("⏸️ webhook:333")
        assert _posts(discord, "/webhooks/333/") == 1

        discord.unscript("POST /webhooks/333/game-hook-token")
        retried = run_wog("notifications", "retry", "--target", "webhook:333", env=env)
        assert retried.returncode == 0, retried.stderr
        assert "webhook:333: paused, re-checked now with 5 held row(s)" in retried.stdout
        assert discord.wait_for(lambda: len(discord.webhook_messages[333]) == 5, timeout=120)
        assert discord.wait_for(lambda: len(discord.webhook_messages[444]) == 2, timeout=120)
    finally:
        bot.send_signal(signal.SIGTERM)
        output = bot.communicate(timeout=60)[0]
    assert bot.returncode == 0, output
    assert set(_games_posted(discord.webhook_messages[333]).values()) == {1}
    assert "game-hook-token" not in output and "admin-hook-token" not in output

    # Rows failed for their own reason come back all at once with --failed.
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE notifications SET status = 'failed', last_error = 'x'"))
    again = run_wog("notifications", "retry", "--failed", env=env)
    assert again.returncode == 0 and "7 failed/unknown notification(s) -> pending" in again.stdout
    assert {r["status"] for r in rows(engine)} == {"pending"}


def test_retry_takes_exactly_one_of_an_id_a_target_or_failed(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    env = _env(discord, db_url)
    for args in ((), ("1", "--failed"), ("--target", "webhook:x"), ("--target", "hook:1")):
        result = run_wog("notifications", "retry", *args, env=env)
        assert result.returncode == 2, (args, result.stdout)
        assert len(result.stderr.strip().splitlines()[-1]) < 120


def test_a_deleted_webhooks_held_messages_move_to_its_replacement_once(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    for replay_id in range(4201, 4205):
        queue_game(engine, replay_id, ["webhook:333"], chart=False)
    queue_game(engine, 4205, ["webhook:333", "webhook:555"], chart=False)
    discord.script(
        "POST /webhooks/333/game-hook-token", Script(404, times=-1, body=UNKNOWN_WEBHOOK)
    )
    assert run_wog("bot", "--once", env=_env(discord, db_url)).returncode == 1

    env = _env(discord, db_url, WOG_DISCORD_WEBHOOK_URL=f"{discord.api_url}/webhooks/555/new-tok")
    moved = run_wog("notifications", "move", "webhook:333", "webhook:555", env=env)
    assert moved.returncode == 0, moved.stderr
    assert "4 notification(s) moved from webhook:333 to webhook:555" in moved.stdout
    assert paused_targets(engine) == []
    assert run_wog("bot", "--once", env=env).returncode == 0
    posted = _games_posted(discord.webhook_messages[555])
    assert len(posted) == 5 and set(posted.values()) == {1}  # 4205 once, not twice
    assert _posts(discord, "/webhooks/333/") == 1
