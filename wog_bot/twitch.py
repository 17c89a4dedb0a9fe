"""Twitch watcher: announces a streamer going live (once per stream id) and their new clips.

Talks to Twitch Helix with an app access token (client credentials), renewed on 401 or expiry;
honours ``Ratelimit-Remaining``/``Ratelimit-Reset``; logs and retries outages without ever
crashing the bot. What was announced is persisted (SQLite file by default, or Postgres), so
restarts and brief offline/online flaps of the same stream never alert twice; on first start
only clips created after the watcher started are posted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Protocol

import hikari
import httpx
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Engine

from dbschema import tables as t
from wog_core.settings import BotSettings, Webhook, redact
from wog_report.catalogue import Catalogue
from wog_report.escape import escape_markdown
from wog_report.limits import shorten

log = logging.getLogger("wog_bot.twitch")
TWITCH_PURPLE = hikari.Color(0x9146FF)
CLIP_WINDOW_OVERLAP = dt.timedelta(minutes=10)  # clips appear in search with a delay


class TwitchUnavailable(RuntimeError):
    pass


# --- state ----------------------------------------------------------------------------------


class TwitchState:
    """Announced streams and clips, and watcher bookkeeping, in SQLite or Postgres."""

    def __init__(self, engine: Engine, *, sqlite: bool):
        self.engine = engine
        self.sqlite = sqlite
        if sqlite:
            self.streams, self.clips, self.kv = (
                t.sqlite_twitch_streams,
                t.sqlite_twitch_clips,
                t.sqlite_twitch_state,
            )
            t.twitch_metadata.create_all(engine)
        else:
            self.streams, self.clips, self.kv = t.twitch_streams, t.twitch_clips, t.twitch_state

    def _insert(self, table: sa.Table):  # type: ignore[no-untyped-def]
        return (sqlite_insert if self.sqlite else pg_insert)(table)

    def stream_alerted(self, stream_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(self.streams.c.stream_id).where(self.streams.c.stream_id == stream_id)
                ).first()
                is not None
            )

    def record_stream(self, stream_id: str, login: str, title: str | None) -> None:
        stmt = (
            self._insert(self.streams)
            .values(
                stream_id=stream_id, login=login, title=title, alerted_at=dt.datetime.now(dt.UTC)
            )
            .on_conflict_do_nothing()
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def clip_seen(self, clip_id: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    sa.select(self.clips.c.clip_id).where(self.clips.c.clip_id == clip_id)
                ).first()
                is not None
            )

    def record_clip(self, clip_id: str, login: str, created_at: dt.datetime, posted: bool) -> None:
        stmt = (
            self._insert(self.clips)
            .values(
                clip_id=clip_id,
                login=login,
                created_at=created_at,
                posted_at=dt.datetime.now(dt.UTC) if posted else None,
            )
            .on_conflict_do_nothing()
        )
        with self.engine.begin() as conn:
            conn.execute(stmt)

    def get(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(self.kv.c.value).where(self.kv.c.key == key)).scalar()

    def set(self, key: str, value: str) -> None:
        stmt = self._insert(self.kv).values(key=key, value=value)
        stmt = stmt.on_conflict_do_update(index_elements=["key"], set_={"value": value})
        with self.engine.begin() as conn:
            conn.execute(stmt)


def open_state(settings: BotSettings, warehouse: Engine | None = None) -> TwitchState:
    """The configured state store: Postgres (the warehouse) or a SQLite file in WOG_DATA_DIR."""
    if settings.twitch_state == "postgres":
        if warehouse is None:
            raise ValueError("WOG_TWITCH_STATE=postgres needs the database")
        return TwitchState(warehouse, sqlite=False)
    data_dir = settings.data_dir
    path = (
        data_dir / "twitch.sqlite3" if settings.twitch_state == "sqlite" else settings.twitch_state
    )
    path_str = str(path)
    if path_str.startswith("sqlite:"):
        return TwitchState(sa.create_engine(path_str), sqlite=True)
    data_dir.mkdir(parents=True, exist_ok=True)
    return TwitchState(sa.create_engine(f"sqlite:///{path_str}"), sqlite=True)


# --- Helix client ---------------------------------------------------------------------------


class HelixClient:
    def __init__(self, settings: BotSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(20.0, connect=10.0), transport=transport
        )
        self._token: str | None = None
        self._expires = 0.0

    async def close(self) -> None:
        await self._http.aclose()

    async def _renew_token(self) -> None:
        # The credentials go in the form body: in a query string they would be in the URL that
        # httpx logs for every request, and in proxies' access logs.
        response = await self._http.post(
            f"{self.settings.twitch_auth_url.rstrip('/')}/token",
            data={
                "client_id": self.settings.twitch_client_id,
                "client_secret": self.settings.twitch_client_secret,
                "grant_type": "client_credentials",
            },
        )
        if response.status_code != 200:
            raise TwitchUnavailable(
                f"token request answered {response.status_code}: {response.text[:200]}"
            )
        data = response.json()
        self._token = data["access_token"]
        self._expires = time.monotonic() + float(data.get("expires_in", 3600)) - 60

    async def get(self, path: str, params: list[tuple[str, str]]) -> dict:
        query: list[tuple[str, str | int | float | bool | None]] = list(params)
        for attempt in range(2):
            if self._token is None or time.monotonic() >= self._expires:
                await self._renew_token()
            response = await self._http.get(
                f"{self.settings.twitch_api_url.rstrip('/')}/{path}",
                params=query,
                headers={
                    "Client-Id": self.settings.twitch_client_id or "",
                    "Authorization": f"Bearer {self._token}",
                },
            )
            await self._respect_rate_limit(response)
            if response.status_code == 401 and attempt == 0:
                self._token = None  # revoked or expired early: renew once
                continue
            if response.status_code == 429:
                raise TwitchUnavailable("rate limited (429)")
            if response.status_code >= 400:
                raise TwitchUnavailable(
                    f"GET {path} answered {response.status_code}: {response.text[:200]}"
                )
            data: dict = response.json()
            return data
        raise TwitchUnavailable(f"GET {path}: still 401 after renewing the token")

    async def _respect_rate_limit(self, response: httpx.Response) -> None:
        remaining = response.headers.get("Ratelimit-Remaining")
        reset = response.headers.get("Ratelimit-Reset")
        if (
            remaining is not None
            and reset is not None
            and remaining.isdigit()
            and int(remaining) == 0
        ):
            wait = max(0.0, min(60.0, float(reset) - time.time()))
            log.info("Twitch rate limit reached; waiting %.1fs", wait)
            await asyncio.sleep(wait)

    async def user_ids(self, logins: list[str]) -> dict[str, str]:
        data = await self.get("users", [("login", login) for login in logins])
        return {u["login"].lower(): u["id"] for u in data.get("data", [])}

    async def live_streams(self, user_ids: list[str]) -> list[dict]:
        data = await self.get(
            "streams", [("user_id", uid) for uid in user_ids] + [("type", "live")]
        )
        return [s for s in data.get("data", []) if s.get("type") == "live"]

    async def clips(self, broadcaster_id: str, started_at: dt.datetime) -> list[dict]:
        found: list[dict] = []
        cursor = None
        for _ in range(50):  # bounded pagination
            params = [
                ("broadcaster_id", broadcaster_id),
                ("started_at", _rfc3339(started_at)),
                ("first", "100"),
            ]
            if cursor:
                params.append(("after", cursor))
            data = await self.get("clips", params)
            found += data.get("data", [])
            cursor = (data.get("pagination") or {}).get("cursor")
            if not cursor:
                break
        return found


def _rfc3339(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- posting --------------------------------------------------------------------------------


class AlertPoster(Protocol):
    async def post(
        self, content: str | None, embed: hikari.Embed | None, *, ping_here: bool, nonce: str
    ) -> None: ...


@dataclass
class ChannelAlertPoster:
    rest: hikari.api.RESTClient
    channel_id: int

    async def post(
        self, content: str | None, embed: hikari.Embed | None, *, ping_here: bool, nonce: str
    ) -> None:
        await self.rest.create_message(
            self.channel_id,
            content or hikari.UNDEFINED,
            embed=embed or hikari.UNDEFINED,
            nonce=nonce[:25],
            mentions_everyone=ping_here,
            user_mentions=False,
            role_mentions=False,
        )


@dataclass
class WebhookAlertPoster:
    rest: hikari.api.RESTClient
    webhook: Webhook

    async def post(
        self, content: str | None, embed: hikari.Embed | None, *, ping_here: bool, nonce: str
    ) -> None:
        await self.rest.execute_webhook(
            self.webhook.id,
            self.webhook.token,
            content or hikari.UNDEFINED,
            embed=embed or hikari.UNDEFINED,
            mentions_everyone=ping_here,
            user_mentions=False,
            role_mentions=False,
        )


def live_alert(
    stream: dict, ping_here: bool, catalogue: Catalogue | None = None
) -> tuple[str, hikari.Embed]:
    login = stream.get("user_login") or stream.get("user_name") or "?"
    name = escape_markdown(stream.get("user_name") or login)
    url = f"https://www.twitch.tv/{login}"
    embed = hikari.Embed(
        title=shorten(escape_markdown(stream.get("title") or login), 256),
        url=url,
        description=f"**{name}** — {escape_markdown(stream.get('game_name') or '—')}",
        color=TWITCH_PURPLE,
    )
    thumbnail = (
        (stream.get("thumbnail_url") or "").replace("{width}", "640").replace("{height}", "360")
    )
    if thumbnail:
        embed.set_image(thumbnail)
    live = (catalogue or Catalogue())("twitch_live", name=name, url=url)
    return f"{'@here ' if ping_here else ''}{live}", embed


def clip_alert(clip: dict, catalogue: Catalogue | None = None) -> str:
    """A new clip: its title, who clipped it (as the original service said) and its link."""
    t = catalogue or Catalogue()
    title = escape_markdown(clip.get("title") or "clip")
    author = clip.get("creator_name")
    if author:
        return t("twitch_clip_by", title=title, author=escape_markdown(author), url=clip.get("url"))
    return t("twitch_clip", title=title, url=clip.get("url"))


# --- the watcher ----------------------------------------------------------------------------


class TwitchWatcher:
    def __init__(
        self,
        settings: BotSettings,
        state: TwitchState,
        poster: AlertPoster,
        helix: HelixClient | None = None,
    ):
        self.settings = settings
        self.state = state
        self.poster = poster
        self.helix = helix or HelixClient(settings)
        self.catalogue = Catalogue(settings.language)
        self._user_ids: dict[str, str] = {}

    async def _ids(self) -> dict[str, str]:
        missing = [login for login in self.settings.twitch_logins if login not in self._user_ids]
        if missing:
            self._user_ids.update(await self.helix.user_ids(missing))
        return self._user_ids

    async def check_live(self) -> int:
        """Alert for each live stream not alerted before; returns alerts posted."""
        ids = await self._ids()
        if not ids:
            return 0
        posted = 0
        for stream in await self.helix.live_streams(list(ids.values())):
            stream_id = str(stream["id"])
            if await asyncio.to_thread(self.state.stream_alerted, stream_id):
                continue
            content, embed = live_alert(stream, self.settings.twitch_ping_here, self.catalogue)
            await self.poster.post(
                content, embed, ping_here=self.settings.twitch_ping_here, nonce=f"tw{stream_id}"
            )
            await asyncio.to_thread(
                self.state.record_stream,
                stream_id,
                stream.get("user_login", ""),
                stream.get("title"),
            )
            posted += 1
        return posted

    async def check_clips(self, now: dt.datetime | None = None) -> int:
        """Post clips created since the watcher started (per streamer); returns clips posted."""
        now = now or dt.datetime.now(dt.UTC)
        posted = 0
        for login, user_id in (await self._ids()).items():
            key = f"clips_since:{login}"
            since_text = await asyncio.to_thread(self.state.get, key)
            if since_text is None:  # first start: remember, post nothing older than now
                await asyncio.to_thread(self.state.set, key, now.isoformat())
                continue
            since = dt.datetime.fromisoformat(since_text)
            window_start = since - CLIP_WINDOW_OVERLAP
            started_key = f"clips_started:{login}"
            started_text = await asyncio.to_thread(self.state.get, started_key) or since_text
            if not await asyncio.to_thread(self.state.get, started_key):
                await asyncio.to_thread(self.state.set, started_key, started_text)
            started = dt.datetime.fromisoformat(started_text)
            for clip in sorted(
                await self.helix.clips(user_id, window_start), key=lambda c: c.get("created_at", "")
            ):
                clip_id = str(clip["id"])
                created = _parse_time(clip["created_at"])
                if await asyncio.to_thread(self.state.clip_seen, clip_id):
                    continue
                fresh = created >= started
                if fresh:
                    await self.poster.post(
                        clip_alert(clip, self.catalogue),
                        None,
                        ping_here=False,
                        nonce=f"tc{clip_id}",
                    )
                    posted += 1
                await asyncio.to_thread(self.state.record_clip, clip_id, login, created, fresh)
            await asyncio.to_thread(self.state.set, key, now.isoformat())
        return posted

    async def run(self, stop: asyncio.Event) -> None:
        next_live = next_clips = 0.0
        while not stop.is_set():
            now = time.monotonic()
            try:
                if now >= next_live:
                    next_live = now + self.settings.twitch_live_interval_s
                    await self.check_live()
                if now >= next_clips:
                    next_clips = now + self.settings.twitch_clips_interval_s
                    await self.check_clips()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("Twitch watcher: %s; will retry", redact(str(exc), self.settings))
            wait = max(0.5, min(next_live, next_clips) - time.monotonic())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wait)
        await self.helix.close()
