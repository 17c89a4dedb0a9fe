"""The Twitch watcher against a fake Helix: once per stream id, clips once, outages, tokens."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import hikari
import pytest
import sqlalchemy as sa

from wog_bot.twitch import (
    ChannelAlertPoster,
    HelixClient,
    TwitchState,
    TwitchUnavailable,
    TwitchWatcher,
)
from wog_core.settings import BotSettings
from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.twitch import CLIENT_ID, CLIENT_SECRET, FakeTwitch


class Posts(list):
    async def post(self, content, embed, *, ping_here: bool, nonce: str) -> None:  # type: ignore[no-untyped-def]
        self.append({"content": content, "embed": embed, "ping_here": ping_here, "nonce": nonce})


@pytest.fixture
def twitch() -> Iterator[FakeTwitch]:
    with FakeTwitch() as fake:
        yield fake


def settings(twitch: FakeTwitch, **overrides: object) -> BotSettings:
    values: dict = {
        "twitch_client_id": CLIENT_ID,
        "twitch_client_secret": CLIENT_SECRET,
        "twitch_logins": ("streamer",),
        "twitch_api_url": f"{twitch.url}/helix",
        "twitch_auth_url": f"{twitch.url}/oauth2",
        "twitch_live_interval_s": 0.1,
        "twitch_clips_interval_s": 0.1,
    }
    values.update(overrides)
    return BotSettings(**values)


def sqlite_state(path: Path) -> TwitchState:
    return TwitchState(sa.create_engine(f"sqlite:///{path}"), sqlite=True)


def watcher(
    twitch: FakeTwitch, state: TwitchState, posts: Posts, **overrides: object
) -> TwitchWatcher:
    s = settings(twitch, **overrides)
    return TwitchWatcher(s, state, posts, HelixClient(s))


def test_one_alert_per_stream_id_across_flaps_and_restarts(
    twitch: FakeTwitch, tmp_path: Path
) -> None:
    posts = Posts()
    state_file = tmp_path / "twitch.sqlite3"

    async def scenario() -> None:
        w = watcher(twitch, sqlite_state(state_file), posts)
        assert await w.check_live() == 0  # offline
        twitch.go_live("s1", title="**WOG** night")
        assert await w.check_live() == 1
        assert await w.check_live() == 0
        twitch.go_offline()
        await w.check_live()
        twitch.go_live("s1")  # a brief drop: same stream id
        assert await w.check_live() == 0
        # A restarted bot (new process, same state file) does not alert again.
        restarted = watcher(twitch, sqlite_state(state_file), posts)
        assert await restarted.check_live() == 0
        twitch.go_live("s2")
        assert await restarted.check_live() == 1

    asyncio.run(scenario())
    assert [p["nonce"] for p in posts] == ["tws1", "tws2"]
    first = posts[0]
    assert first["ping_here"] is True and first["content"].startswith("@here")  # by default
    assert first["embed"].title == r"\*\*WOG\*\* night"  # markdown escaped
    assert first["embed"].url == "https://www.twitch.tv/streamer"
    assert "640x360" in first["embed"].image.url


def test_state_can_live_in_postgres(twitch: FakeTwitch, engine: sa.Engine) -> None:
    posts = Posts()

    async def scenario() -> None:
        twitch.go_live("s9")
        assert await watcher(twitch, TwitchState(engine, sqlite=False), posts).check_live() == 1
        assert await watcher(twitch, TwitchState(engine, sqlite=False), posts).check_live() == 0

    asyncio.run(scenario())
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT stream_id FROM twitch_streams")).scalars().all() == [
            "s9"
        ]


def test_clips_only_after_start_paginated_and_once(twitch: FakeTwitch, tmp_path: Path) -> None:
    posts = Posts()
    start = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)
    twitch.add_clip(start - dt.timedelta(days=2), title="old")
    twitch.add_clip(start - dt.timedelta(minutes=5), title="just before start")

    async def scenario() -> None:
        w = watcher(twitch, sqlite_state(tmp_path / "s.sqlite3"), posts)
        assert await w.check_clips(now=start) == 0  # first start: remembers, posts nothing
        for i in range(45):  # more than two pages of 20
            twitch.add_clip(start + dt.timedelta(seconds=30 + i), title=f"new {i}")
        assert await w.check_clips(now=start + dt.timedelta(minutes=2)) == 45
        assert await w.check_clips(now=start + dt.timedelta(minutes=4)) == 0
        # A clip that shows up late in search (created before the last check) is still posted.
        twitch.add_clip(start + dt.timedelta(minutes=3), title="late")
        assert await w.check_clips(now=start + dt.timedelta(minutes=6)) == 1

    asyncio.run(scenario())
    titles = [p["content"] for p in posts]
    assert len(titles) == 46 and len(set(titles)) == 46
    assert all("(клип от ClipMaker)" in t for t in titles)  # the clip's author is named
    assert not any("old" in t or "just before" in t for t in titles)
    assert any(r.endswith("/helix/clips") for r in twitch.requests)


def test_token_is_renewed_on_401(twitch: FakeTwitch, tmp_path: Path) -> None:
    posts = Posts()

    async def scenario() -> None:
        w = watcher(twitch, sqlite_state(tmp_path / "s.sqlite3"), posts)
        await w.check_live()
        twitch.revoke_tokens()
        twitch.go_live("s1")
        assert await w.check_live() == 1

    asyncio.run(scenario())
    assert twitch.tokens_issued == 2


def test_an_outage_is_logged_and_retried_never_crashing(twitch: FakeTwitch, tmp_path: Path) -> None:
    posts = Posts()

    async def scenario() -> None:
        w = watcher(twitch, sqlite_state(tmp_path / "s.sqlite3"), posts)
        twitch.down = True
        with pytest.raises(TwitchUnavailable):
            await w.check_live()
        stop = asyncio.Event()
        task = asyncio.create_task(w.run(stop))
        await asyncio.sleep(0.8)  # several failing ticks
        assert not task.done()
        twitch.down = False
        twitch.go_live("s1")
        for _ in range(100):
            if posts:
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, 5)

    asyncio.run(scenario())
    assert [p["nonce"] for p in posts] == ["tws1"]


def test_rate_limit_headers_are_honoured(
    twitch: FakeTwitch, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import wog_bot.twitch as module

    waits: list[float] = []
    real_sleep = asyncio.sleep

    async def recording_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(module.asyncio, "sleep", recording_sleep)
    twitch.rate_limit_remaining = 0

    async def scenario() -> None:
        await watcher(twitch, sqlite_state(tmp_path / "s.sqlite3"), Posts()).check_live()

    asyncio.run(scenario())
    assert waits and all(0 <= w <= 60 for w in waits)


def test_live_alert_pings_here_by_default_and_a_setting_turns_it_off(
    twitch: FakeTwitch, tmp_path: Path
) -> None:
    with FakeDiscord() as discord:

        async def scenario(ping: bool, stream: str) -> None:
            app = hikari.RESTApp(url=discord.api_url)
            await app.start()
            async with app.acquire(BOT_TOKEN, hikari.TokenType.BOT) as rest:
                twitch.go_live(stream)
                w = watcher(
                    twitch,
                    sqlite_state(tmp_path / "s.sqlite3"),
                    ChannelAlertPoster(rest, 555),
                    twitch_ping_here=ping,
                )
                assert await w.check_live() == 1
            await app.close()

        asyncio.run(scenario(False, "a1"))
        asyncio.run(scenario(BotSettings().twitch_ping_here, "a2"))  # the default pings
        quiet, loud = discord.channel_messages(555)
    assert quiet["allowed_mentions"] == {"parse": []} and not quiet["content"].startswith("@here")
    assert loud["allowed_mentions"] == {"parse": ["everyone"]} and loud["content"].startswith(
        "@here"
    )


def test_twitch_without_an_alert_channel_is_reported() -> None:
    from wog_bot.app import twitch_warning

    configured = BotSettings(
        twitch_client_id="id", twitch_client_secret="secret", twitch_logins=("streamer",)
    )
    assert "WOG_TWITCH_ALERT_CHANNEL_ID is not set" in twitch_warning(configured, gateway=True)
    assert twitch_warning(configured, gateway=False) is None  # webhook mode posts to the webhook
    with_channel = BotSettings(**{**configured.__dict__, "twitch_alert_channel_id": 5})
    assert twitch_warning(with_channel, gateway=True) is None
    assert "half configured" in twitch_warning(BotSettings(twitch_client_id="id"), gateway=True)


def test_alert_wording_comes_from_the_catalogue_in_the_bots_language() -> None:
    from wog_bot.twitch import clip_alert, live_alert
    from wog_report.catalogue import Catalogue

    stream = {
        "user_login": "streamer",
        "user_name": "Streamer",
        "title": "Ops",
        "game_name": "Arma 3",
    }
    ru, _ = live_alert(stream, False, Catalogue("ru"))
    en, _ = live_alert(stream, True, Catalogue("en"))
    assert ru == "🔴 Streamer в эфире: https://www.twitch.tv/streamer"
    assert en == "@here 🔴 Streamer is live: https://www.twitch.tv/streamer"
    clip = {"title": "Boom", "creator_name": "Cam", "url": "https://clips.twitch.tv/x"}
    assert (
        clip_alert(clip, Catalogue("en")) == "🎬 Boom (clipped by Cam) — https://clips.twitch.tv/x"
    )
