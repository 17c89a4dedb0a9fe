"""Delivery against the fake Discord: success, 429, 5xx, 403, 404, concurrency, crashes."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import hikari
import pytest
import sqlalchemy as sa

from tests.wog_bot.conftest import bot_settings, queue_game, rows
from wog_bot.app import run_once
from wog_bot.delivery import ChannelSender, Dispatcher, Senders
from wog_fakes.discord import BOT_TOKEN, FakeDiscord, Script
from wog_warehouse.queue import claim, paused_targets

ROOT = Path(__file__).resolve().parents[2]


def test_pending_notifications_are_posted_once_and_marked_sent(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111", "channel:222"])
    assert asyncio.run(run_once(bot_settings(discord))) == 2
    for channel in (111, 222):
        (message,) = discord.channel_messages(channel)
        assert message["content"] == "📨 Доступен новый реплей!"
        assert len(message["embeds"]) == 5
        assert message["embeds"][0]["image"]["url"] == "attachment://battle.png"
        assert message["_files"]["battle.png"] > 10_000
    posts = [r for r in discord.requests if r.method == "POST"]
    assert all(r.json["allowed_mentions"] == {"parse": []} for r in posts)
    assert all(
        r.json["enforce_nonce"] is True and r.json["nonce"].startswith("wog3413n") for r in posts
    )
    stored = rows(engine)
    assert [r["status"] for r in stored] == ["sent", "sent"]
    ids = {int(m["id"]) for c in (111, 222) for m in discord.channel_messages(c)}
    assert {r["discord_message_id"] for r in stored} == ids
    # Nothing left: a second pass posts nothing.
    assert asyncio.run(run_once(bot_settings(discord))) == 0
    assert len(discord.all_messages()) == 2


def test_429_is_waited_out_and_the_message_posted_once(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    discord.script(
        "POST /channels/111/messages", Script(429, times=2, headers={"Retry-After": "0.3"})
    )
    asyncio.run(run_once(bot_settings(discord, channel_ids=(111,))))
    assert len(discord.channel_messages(111)) == 1
    assert rows(engine)[0]["status"] == "sent"


def test_5xx_is_retried_later_with_backoff_then_delivered(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    discord.script("POST /channels/111/messages", Script(503, times=-1))
    settings = bot_settings(discord, channel_ids=(111,))
    asyncio.run(run_once(settings))
    (row,) = rows(engine)
    assert row["status"] == "pending" and row["attempts"] == 1 and row["backing_off"]
    assert row["last_error"].startswith("503")

    # Not due yet: another pass does not hammer Discord.
    def posts() -> int:
        return sum(r.method == "POST" for r in discord.requests)

    before = posts()
    asyncio.run(run_once(settings))
    assert posts() == before
    # Discord recovers and the backoff has elapsed.
    discord._scripts.clear()
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE notifications SET next_attempt_at = now()"))
    asyncio.run(run_once(settings))
    (row,) = rows(engine)
    assert row["status"] == "sent" and row["attempts"] == 2
    assert len(discord.channel_messages(111)) == 1


@pytest.mark.slow  # hikari's own retries back off for ~18 s
def test_too_many_transient_failures_end_as_failed(discord: FakeDiscord, engine: sa.Engine) -> None:
    queue_game(engine, 3413, ["channel:111"])
    discord.script("POST /channels/111/messages", Script(500, times=-1))
    settings = bot_settings(discord, channel_ids=(111,), max_attempts=2)
    for _ in range(2):
        asyncio.run(run_once(settings))
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE notifications SET next_attempt_at = now()"))
    (row,) = rows(engine)
    assert row["status"] == "failed"
    assert row["last_error"].startswith("gave up after 2 attempts; last: 500")


def test_a_refused_target_is_paused_with_its_rows_held_and_a_bad_message_fails_alone(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111", "channel:222", "channel:333"])
    discord.script("POST /channels/111/messages", Script(403))
    discord.script("POST /channels/222/messages", Script(404))
    bad_form = {"message": "Invalid Form Body", "code": 50035,
                "errors": {"embeds": {"0": {"title": {"_errors": [
                    {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer."}]}}}}}  # fmt: skip
    discord.script("POST /channels/333/messages", Script(400, body=bad_form))
    asyncio.run(run_once(bot_settings(discord, channel_ids=(111, 222, 333))))
    by_target = {r["target"]: r for r in rows(engine)}
    # The channel is refused, not the message: held pending with the reason, the try uncounted.
    held = by_target["channel:111"]
    assert held["status"] == "pending" and held["attempts"] == 0
    assert held["last_error"] == (
        "held: channel:111 is paused — 403 Forbidden: Missing Access (code 50001)"
    )
    assert by_target["channel:222"]["last_error"] == (
        "held: channel:222 is paused — 404 Not Found: Unknown Channel (code 10003)"
    )
    assert [(p.target, p.held) for p in paused_targets(engine)] == [
        ("channel:111", 1),
        ("channel:222", 1),
    ]
    # A 400 is this message's fault: that row alone fails, naming the field.
    assert by_target["channel:333"]["status"] == "failed"
    assert by_target["channel:333"]["last_error"] == (
        "400 Bad Request: Invalid Form Body (code 50035) — embeds.0.title: Must be 256 or fewer."
    )
    assert discord.all_messages() == []


def test_two_concurrent_dispatchers_never_double_post(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    for replay_id in range(3400, 3412):
        queue_game(engine, replay_id, ["channel:111", "channel:222"], chart=False)
    settings = bot_settings(discord)

    async def both() -> list[int]:
        return await asyncio.gather(run_once(settings), run_once(settings))

    handled = asyncio.run(both())
    assert sum(handled) == 24
    assert all(h > 0 for h in handled)  # both took part
    nonces = Counter(m["nonce"] for m in discord.all_messages())
    assert len(nonces) == 24 and set(nonces.values()) == {1}
    assert {r["status"] for r in rows(engine)} == {"sent"}


def test_a_repost_with_the_same_nonce_returns_the_existing_message(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    claimed = claim(engine, ["channel:111"])

    async def post_twice() -> tuple[int, int]:
        app = hikari.RESTApp(url=discord.api_url)
        await app.start()
        async with app.acquire(BOT_TOKEN, hikari.TokenType.BOT) as rest:
            sender = ChannelSender(rest, [111])
            first = await sender.send(claimed)
            second = await sender.send(claimed)
        await app.close()
        return first, second

    first, second = asyncio.run(post_twice())
    assert first == second
    assert len(discord.channel_messages(111)) == 1


def _bot_once(discord: FakeDiscord, db_url: str, **env: str) -> subprocess.Popen:
    environment = {
        **os.environ,
        "WOG_DATABASE_URL": db_url,
        "DISCORD_TOKEN": BOT_TOKEN,
        "WOG_DISCORD_API_URL": discord.api_url,
        "WOG_DISCORD_CHANNEL_IDS": "111",
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "wog_cli", "bot", "--once"],
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_between_post_and_mark_recovers_without_duplicate_or_loss(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    # Discord stores the message but answers only after 60 s: kill the bot in between.
    discord.script("POST /channels/111/messages", Script(200, hold_s=60))
    proc = _bot_once(discord, db_url)
    deadline = time.monotonic() + 60
    while not discord.channel_messages(111) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert discord.channel_messages(111), proc.communicate(timeout=5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert rows(engine)[0]["status"] == "sending"

    # The restarted bot sees the stale claim, finds our message in the channel, marks it sent.
    async def restart() -> None:
        await run_once(bot_settings(discord, channel_ids=(111,), stale_sending_s=0))

    asyncio.run(restart())
    (message,) = discord.channel_messages(111)
    (row,) = rows(engine)
    assert row["status"] == "sent", row["last_error"]
    assert row["discord_message_id"] == int(message["id"])


def test_a_stale_claim_whose_post_never_arrived_is_posted_again(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    assert claim(engine, ["channel:111"]) is not None  # a dispatcher claimed it, then died
    asyncio.run(run_once(bot_settings(discord, channel_ids=(111,), stale_sending_s=0)))
    assert len(discord.channel_messages(111)) == 1
    assert rows(engine)[0]["status"] == "sent"


def test_webhook_mode_needs_no_bot_token(discord: FakeDiscord, engine: sa.Engine) -> None:
    queue_game(engine, 3413, ["webhook:333"])
    settings = bot_settings(
        discord,
        discord_token=None,
        channel_ids=(),
        webhook_url=f"{discord.api_url}/webhooks/333/hook-secret-token",
    )
    assert asyncio.run(run_once(settings)) == 1
    (message,) = discord.webhook_messages[333]
    assert message["_files"]["battle.png"] > 0
    request = next(r for r in discord.requests if r.method == "POST")
    assert request.json["allowed_mentions"] == {"parse": []}
    assert "Authorization" not in request.headers
    assert rows(engine)[0]["status"] == "sent"


def test_a_webhook_post_interrupted_mid_request_is_unknown_and_alerted_not_reposted(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["webhook:333"])
    claim(engine, ["webhook:333"])  # a bot claimed it, its request went out, then it died
    settings = bot_settings(discord, discord_token=None, channel_ids=(),
                            webhook_url=f"{discord.api_url}/webhooks/333/hook-secret-token",
                            admin_webhook_url=f"{discord.api_url}/webhooks/444/admin-secret",
                            stale_sending_s=0)  # fmt: skip
    asyncio.run(run_once(settings))
    by_kind = {r["kind"]: r for r in rows(engine)}
    assert by_kind["game"]["status"] == "unknown"
    assert "wog notifications retry" in by_kind["game"]["last_error"]
    assert discord.webhook_messages[333] == []  # never re-posted blindly
    # The admin is told once, with the game and the target.
    (alert,) = discord.webhook_messages[444]
    assert "game 3413" in alert["content"] and "webhook:333" in alert["content"]
    asyncio.run(run_once(settings))
    assert len(discord.webhook_messages[444]) == 1
    # After checking the channel, the admin posts it.
    from wog_warehouse.queue import retry

    assert retry(engine, by_kind["game"]["id"]) == "unknown"
    asyncio.run(run_once(settings))
    assert len(discord.webhook_messages[333]) == 1


@pytest.mark.parametrize("target", ["channel:111", "webhook:333"])
def test_a_bot_killed_during_a_429_wait_leaves_the_row_pending_and_the_next_bot_posts_once(
    discord: FakeDiscord, engine: sa.Engine, db_url: str, target: str
) -> None:
    queue_game(engine, 3413, [target])
    route = (
        "POST /channels/111/messages"
        if target.startswith("channel")
        else "POST /webhooks/333/hook-secret-token"
    )
    discord.script(route, Script(429, headers={"Retry-After": "4"}))
    env = {"WOG_DISCORD_WEBHOOK_URL": f"{discord.api_url}/webhooks/333/hook-secret-token"}
    if target.startswith("webhook"):
        env.update(DISCORD_TOKEN="", WOG_DISCORD_CHANNEL_IDS="")
    proc = _bot_once(discord, db_url, **env)
    deadline = time.monotonic() + 60
    while not any(r.method == "POST" for r in discord.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.5)  # the bot is now "waiting out" the 429
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    (row,) = rows(engine)
    assert row["status"] == "pending", row  # not in flight: nothing is on the wire
    assert row["last_error"] == "rate limited"
    assert row["attempts"] == 0  # a rate limit is not a failed attempt
    # The next bot (no stale-claim recovery needed) posts it once, when it is due.
    again = _bot_once(discord, db_url, **env)
    _, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert len(discord.all_messages()) == 1
    assert rows(engine)[0]["status"] == "sent"


def test_errors_never_leak_the_webhook_token(discord: FakeDiscord, engine: sa.Engine) -> None:
    queue_game(engine, 3413, ["webhook:333"])
    discord.script("POST /webhooks/333/hook-secret-token", Script(403))
    settings = bot_settings(discord, discord_token=None, channel_ids=(),
                            webhook_url=f"{discord.api_url}/webhooks/333/hook-secret-token")  # fmt: skip
    asyncio.run(run_once(settings))
    (row,) = rows(engine)
    assert row["status"] == "pending" and "hook-secret-token" not in row["last_error"]
    (pause,) = paused_targets(engine)
    assert pause.target == "webhook:333" and "hook-secret-token" not in pause.reason


def test_the_dispatcher_wakes_on_notify(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    async def scenario() -> float:
        app = hikari.RESTApp(url=discord.api_url)
        await app.start()
        stop = asyncio.Event()
        async with app.acquire(BOT_TOKEN, hikari.TokenType.BOT) as rest:
            settings = bot_settings(discord, channel_ids=(111,), poll_interval_s=60)
            dispatcher = Dispatcher(engine, Senders(ChannelSender(rest, [111])), settings)
            task = asyncio.create_task(dispatcher.run(stop, db_url))
            await asyncio.sleep(0.5)
            started = time.monotonic()
            await asyncio.to_thread(queue_game, engine, 3413, ["channel:111"], chart=False)
            while not discord.channel_messages(111) and time.monotonic() - started < 20:
                await asyncio.sleep(0.02)
            elapsed = time.monotonic() - started
            stop.set()
            await asyncio.wait_for(task, 10)
        await app.close()
        return elapsed

    elapsed = asyncio.run(scenario())
    assert len(discord.channel_messages(111)) == 1
    assert elapsed < 30  # far below the 60 s poll: it was the NOTIFY


def _webhook_bot(discord: FakeDiscord, db_url: str, data_dir: Path) -> subprocess.Popen:
    """`wog bot --webhook …` as its own process (as in a container)."""
    environment = {**os.environ, "WOG_DATABASE_URL": db_url, "WOG_DISCORD_API_URL": discord.api_url,
                   "WOG_DATA_DIR": str(data_dir)}  # fmt: skip
    environment.pop("DISCORD_TOKEN", None)
    command = [
        sys.executable,
        "-m",
        "wog_cli",
        "bot",
        "--webhook",
        f"{discord.api_url}/webhooks/1/tok",
    ]
    return subprocess.Popen(
        command,
        env=environment,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_sigterm_stops_the_bot_cleanly(discord: FakeDiscord, db_url: str, tmp_path: Path) -> None:
    proc = _webhook_bot(discord, db_url, tmp_path)
    heartbeat = tmp_path / "bot.heartbeat"
    deadline = time.monotonic() + 60
    while not heartbeat.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
    assert heartbeat.exists(), proc.communicate(timeout=5)[0]
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=20)[0]
    assert proc.returncode == 0, output


def test_sigterm_during_a_post_lets_it_finish_and_records_it(
    discord: FakeDiscord, engine: sa.Engine, db_url: str, tmp_path: Path
) -> None:
    queue_game(engine, 3413, ["webhook:1"], chart=False)
    discord.script("POST /webhooks/1/tok", Script(200, hold_s=2))
    proc = _webhook_bot(discord, db_url, tmp_path)
    deadline = time.monotonic() + 60
    while not discord.webhook_messages[1] and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    proc.send_signal(signal.SIGTERM)  # Discord has the message; its answer is still on the way
    output = proc.communicate(timeout=30)[0]
    assert proc.returncode == 0, output
    (row,) = rows(engine)
    assert row["status"] == "sent", output
    assert len(discord.webhook_messages[1]) == 1


def test_a_channel_without_attach_files_gets_the_message_without_the_chart(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    discord.without_attach_files.add(111)
    queue_game(engine, 3413, ["channel:111"])
    queue_game(engine, 3414, ["channel:111"])
    settings = bot_settings(discord, channel_ids=(111,), admin_channel_id=999)
    assert asyncio.run(run_once(settings)) == 3  # two games, then the admin alert
    posted = discord.channel_messages(111)
    assert len(posted) == 2 and all(not m["attachments"] for m in posted)
    assert all("image" not in e for m in posted for e in m["embeds"])  # no dangling chart
    statuses = {r["replay_id"]: r["status"] for r in rows(engine)}
    assert statuses[3413] == statuses[3414] == "sent"
    with engine.connect() as conn:
        notes = (
            conn.execute(sa.text("SELECT note FROM notifications WHERE replay_id IS NOT NULL"))
            .scalars()
            .all()
        )
    assert all(n.startswith("posted without the chart: 403") for n in notes)
    (alert,) = discord.channel_messages(999)  # the admin is told once for the channel
    assert "Attach Files" in alert["content"] and "channel:111" in alert["content"]


def test_operator_alerts_are_delivered_exactly_once_across_restarts(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    from wog_warehouse.queue import enqueue_alert

    settings = bot_settings(discord, channel_ids=(111,), admin_channel_id=999)
    assert enqueue_alert(engine, "site-down:1", "🔴 site down", ["channel:999"]) == ["channel:999"]
    assert enqueue_alert(engine, "site-down:1", "🔴 site down", ["channel:999"]) == []
    asyncio.run(run_once(settings))
    asyncio.run(run_once(settings))  # a restarted bot
    assert enqueue_alert(engine, "site-down:1", "🔴 site down", ["channel:999"]) == []
    asyncio.run(run_once(settings))
    assert [m["content"] for m in discord.channel_messages(999)] == ["🔴 site down"]


def test_a_permanently_failed_message_alerts_the_admin_once(
    discord: FakeDiscord, engine: sa.Engine
) -> None:
    queue_game(engine, 3413, ["channel:404"])
    discord.script("POST /channels/404/messages", Script(400, times=5))
    settings = bot_settings(discord, channel_ids=(111, 404), admin_channel_id=999)
    asyncio.run(run_once(settings))
    asyncio.run(run_once(settings))
    (alert,) = discord.channel_messages(999)
    assert "game 3413" in alert["content"] and "wog notifications retry" in alert["content"]


def test_bot_once_exits_non_zero_after_a_permanent_failure_or_a_refused_token(
    discord: FakeDiscord, engine: sa.Engine, db_url: str
) -> None:
    queue_game(engine, 3413, ["channel:111"])
    discord.script("POST /channels/111/messages", Script(403))
    proc = _bot_once(discord, db_url)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    assert "paused: channel:111 refuses posts (403 Forbidden: Missing Access" in err
    # A revoked token: refused before anything is posted, even with nothing pending.
    discord.script("GET /users/@me", Script(401, times=-1))
    proc = _bot_once(discord, db_url)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1].startswith("Error: Discord refused DISCORD_TOKEN (401")
    assert BOT_TOKEN not in err


def test_an_invalid_form_body_names_the_field() -> None:
    import hikari

    from wog_bot.delivery import describe

    exc = hikari.BadRequestError(
        "https://discord.com/api/v10/channels/1/messages",
        {},
        b"",
        "Invalid Form Body",
        50035,
        errors={
            "embeds": {
                "0": {
                    "title": {
                        "_errors": [
                            {"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 256 or fewer."}
                        ]
                    }
                }
            }
        },
    )
    assert describe(exc) == (
        "400 Bad Request: Invalid Form Body (code 50035) — embeds.0.title: Must be 256 or fewer."
    )
