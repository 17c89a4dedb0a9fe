"""A Discord stand-in on loopback: REST, gateway and a page showing the channel.

For the demo (``wog dev --demo`` posts its games here, so a newcomer sees the message without a
Discord account) and for tests. It records requests and answers like Discord:

- **REST** (``/api/v10``): create message (JSON or multipart with files, ``nonce`` with
  ``enforce_nonce`` deduplication as Discord does), list a channel's messages, the current user,
  execute webhook (``?wait=true``), application commands, interaction callbacks, and
  ``GET /gateway/bot``. Any route can be scripted to answer 429 (with ``retry_after``), 5xx,
  403, 404 a number of times, or to hold its response.
- **Gateway** (``/gateway``, what hikari needs): HELLO, IDENTIFY → READY, heartbeats and their
  ACKs, RESUME → RESUMED, RECONNECT on request, and INTERACTION_CREATE dispatched by
  :meth:`FakeDiscord.interact` — JSON over ``zlib-stream`` as Discord sends it.
- **The channel page** (``/``): every posted message rendered the way Discord shows it —
  embeds with their colour bar, fields, images (the chart), timestamps, newest at the bottom —
  refreshed by polling ``/demo/messages`` with fetch.

Runs in a thread with its own event loop, so sync and async code can share it; or ``python -m
wog_fakes.discord --port P``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import threading
import time
import uuid
import zlib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from aiohttp import BodyPartReader, WSMsgType, web

API = "/api/v10"
# Shaped like a real token (its first part is the bot id in base64), which hikari checks.
BOT_TOKEN = "OTAwMDAwMDAwMDAwMDAwMDAx.Gstand.in-signature-not-a-real-token"
BOT_USER = {"id": "900000000000000001", "username": "wog-bot", "discriminator": "0", "global_name": None,
            "avatar": None, "bot": True}  # fmt: skip
APPLICATION_ID = "900000000000000001"
GUILD_ID = "800000000000000001"
ATTACH_FILES = 1 << 15
VIEW_SEND_EMBED_ATTACH = (1 << 10) | (1 << 11) | (1 << 14) | ATTACH_FILES


@dataclass
class Script:
    status: int
    times: int = 1
    body: dict | None = None
    headers: dict[str, str] = field(default_factory=dict)
    hold_s: float = 0.0  # store the message, then wait this long before answering


@dataclass
class Recorded:
    method: str
    path: str
    json: dict | None
    files: dict[str, bytes]
    headers: dict[str, str]
    at: float = 0.0  # time.monotonic() when received


class FakeDiscord:
    def __init__(self, host: str = "127.0.0.1", port: int = 0):
        self.host, self.port = host, port
        self.requests: list[Recorded] = []
        self.messages: dict[int, list[dict]] = defaultdict(
            list
        )  # channel id -> messages, oldest first
        self.webhook_messages: dict[int, list[dict]] = defaultdict(list)
        self.without_attach_files: set[int] = set()  # channels where the bot lacks Attach Files
        # What `wog doctor` reads: every channel is in GUILD_ID, whose @everyone role grants
        # the bot what it needs; a channel in without_attach_files denies Attach Files.
        self.everyone_permissions = VIEW_SEND_EMBED_ATTACH
        self.commands: list[dict] = []
        self.files: dict[str, tuple[str, bytes]] = {}  # attachment id -> (name, bytes)
        self.interaction_responses: dict[str, dict] = {}  # interaction id -> final answer
        # Discord forgets an interaction not acknowledged within 3 s ("The application did not
        # respond"): a later callback gets 404 Unknown interaction, and the id lands here.
        self.interaction_deadline_s = 3.0
        self.expired_interactions: set[str] = set()
        self.deferred_interactions: dict[str, float] = {}  # id -> seconds until acknowledged
        self._interaction_sent: dict[str, float] = {}
        self._interaction_channels: dict[str, int] = {}
        self.gateway_events: list[tuple[str, int | str | None]] = []  # ("IDENTIFY", …)
        self._sockets: list[_Session] = []
        self.heartbeat_interval_ms = 45_000
        self._scripts: dict[str, deque[Script]] = defaultdict(deque)
        self._ids = itertools.count(1_100_000_000_000_000_000)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._started = threading.Event()
        self.url = ""

    # --- control --------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        return self.url + API

    def script(self, route: str, script: Script) -> None:
        """Queue a scripted answer for a route key such as ``POST /channels/123/messages``."""
        with self._lock:
            self._scripts[route].append(script)

    def unscript(self, route: str) -> None:
        """Drop what is scripted for ``route``: it answers normally again."""
        with self._lock:
            self._scripts.pop(route, None)

    def channel_messages(self, channel_id: int) -> list[dict]:
        with self._lock:
            return list(self.messages[int(channel_id)])

    def all_messages(self) -> list[dict]:
        with self._lock:
            return [m for msgs in self.messages.values() for m in msgs] + [
                m for msgs in self.webhook_messages.values() for m in msgs
            ]

    def interact(
        self,
        name: str,
        options: dict[str, object] | None = None,
        *,
        channel_id: int = 1,
        locale: str = "ru",
        focused: str | None = None,
    ) -> str:
        """Dispatch a slash command interaction to every connected gateway session (with
        ``focused``: an autocomplete of that option); returns its id (its answer appears in
        :attr:`interaction_responses`)."""
        interaction_id = str(next(self._ids))
        user = {k: v for k, v in BOT_USER.items() if k != "bot"} | {
            "id": "700000000000000001", "username": "player", "bot": False
        }  # fmt: skip
        typed = {bool: 5, int: 4, float: 10, str: 3}
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": APPLICATION_ID,
            "token": f"token-{interaction_id}",
            "type": 4 if focused else 2,
            "version": 1,
            "user": user,
            "channel": {"id": str(channel_id), "type": 1},
            "channel_id": str(channel_id),
            "locale": locale,
            "app_permissions": str(VIEW_SEND_EMBED_ATTACH),
            "entitlements": [],
            "authorizing_integration_owners": {"0": GUILD_ID},
            "context": 1,
            "attachment_size_limit": 10 * 2**20,
            "data": {
                "id": str(next(self._ids)),
                "name": name,
                "type": 1,
                "options": [
                    {"name": k, "type": typed.get(type(v), 3), "value": v}
                    | ({"focused": True} if k == focused else {})
                    for k, v in (options or {}).items()
                ],
            },
        }
        with self._lock:
            self._interaction_channels[interaction_id] = channel_id
            self._interaction_sent[interaction_id] = time.monotonic()
        self._broadcast("INTERACTION_CREATE", payload)
        return interaction_id

    def request_reconnect(self) -> None:
        """Ask every gateway session to reconnect (op 7), as Discord does before maintenance."""
        for session in list(self._sockets):
            self._send_threadsafe(session, {"op": 7, "d": None})

    def gateway_sessions(self) -> int:
        return len(self._sockets)

    def wait_for(self, predicate: object, timeout: float = 10.0) -> bool:
        """Poll ``predicate()`` until true or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():  # type: ignore[operator]
                return True
            time.sleep(0.05)
        return False

    def start(self) -> FakeDiscord:
        thread = threading.Thread(target=self._run, daemon=True)
        thread.start()
        if not self._started.wait(10):
            raise RuntimeError("fake Discord did not start")
        return self

    def stop(self) -> None:
        if self._loop and self._runner:
            asyncio.run_coroutine_threadsafe(self._shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)

    async def _shutdown(self) -> None:
        assert self._runner is not None
        await self._runner.cleanup()
        # Handlers still holding a response (Script.hold_s) are cancelled, not abandoned.
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in others:
            task.cancel()
        await asyncio.gather(*others, return_exceptions=True)

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        self._loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())
        self._started.set()
        self._loop.run_forever()

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 2**20)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/", self._page)
        app.router.add_get("/demo/messages", self._messages_json)
        app.router.add_get("/attachments/{id}/{name}", self._attachment)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self.host}:{port}"

    # --- handling -------------------------------------------------------------------------

    def _next_script(self, route: str) -> Script | None:
        with self._lock:
            queue = self._scripts.get(route)
            if not queue:
                return None
            script = queue[0]
            if script.times > 0:
                script.times -= 1
                if script.times == 0:
                    queue.popleft()
            return script

    async def _read(self, request: web.Request) -> tuple[dict | None, dict[str, bytes]]:
        files: dict[str, bytes] = {}
        if request.content_type.startswith("multipart/"):
            payload = None
            reader = await request.multipart()
            async for part in reader:
                if not isinstance(part, BodyPartReader):
                    continue  # a nested multipart: Discord sends none
                data = await part.read()
                if part.name == "payload_json":
                    payload = json.loads(data)
                else:
                    files[part.filename or part.name or "file"] = bytes(data)
            return payload, files
        if request.can_read_body:
            raw = await request.read()
            return (json.loads(raw) if raw else None), files
        return None, files

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path[len(API) :] if request.path.startswith(API) else request.path
        body, files = await self._read(request)
        with self._lock:
            self.requests.append(
                Recorded(request.method, path, body, files, dict(request.headers), time.monotonic())
            )
        route = f"{request.method} {path}"
        script = self._next_script(route)
        if script and script.status >= 400:
            if script.status == 429:
                retry_after = float(script.headers.get("Retry-After", "0.1"))
                data = script.body or {
                    "message": "You are being rate limited.",
                    "retry_after": retry_after,
                    "global": False,
                }
                headers = {
                    "Retry-After": str(retry_after),
                    "X-RateLimit-Scope": "user",
                    **script.headers,
                }
                return web.json_response(data, status=429, headers=headers)
            data = script.body or _error_body(script.status)
            return web.json_response(data, status=script.status, headers=script.headers)

        parts = path.strip("/").split("/")
        if request.method == "GET" and path in ("/gateway/bot", "/gateway"):
            ws_url = self.url.replace("http://", "ws://") + "/gateway"
            limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
            return web.json_response({"url": ws_url, "shards": 1, "session_start_limit": limit})
        if parts[:1] == ["interactions"] and parts[-1] == "callback" and len(parts) == 4:
            answer = body or {}
            data = answer.get("data") or {}
            ephemeral = bool(int(data.get("flags") or 0) & 64)
            with self._lock:
                sent = self._interaction_sent.get(parts[1], time.monotonic())
                waited = time.monotonic() - sent
                if waited > self.interaction_deadline_s:
                    self.expired_interactions.add(parts[1])
                    return web.json_response(
                        {"message": "Unknown interaction", "code": 10062}, status=404
                    )
                if answer.get("type") == 5:  # deferred: "thinking…" until the edit arrives
                    self.deferred_interactions[parts[1]] = waited
                else:
                    self.interaction_responses[parts[1]] = answer
                channel = self._interaction_channels.get(parts[1])
            message_id = None
            if channel is not None and not ephemeral and answer.get("type") == 4:
                message_id = self._create(channel, data, files)["id"]
            callback = {"id": parts[1], "type": 2, "response_message_loading": False,
                        "response_message_ephemeral": ephemeral}  # fmt: skip
            if message_id:
                callback["response_message_id"] = message_id
            return web.json_response({"interaction": callback})
        if request.method == "GET" and path == "/users/@me":
            if request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
                return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
            return web.json_response({**BOT_USER, "mfa_enabled": False, "verified": True, "locale": "ru",
                                      "flags": 0, "premium_type": 0, "email": None})  # fmt: skip
        if parts[:1] == ["channels"] and len(parts) == 3 and parts[2] == "messages":
            if request.headers.get("Authorization") != f"Bot {BOT_TOKEN}":
                return web.json_response({"message": "401: Unauthorized", "code": 0}, status=401)
            channel = int(parts[1])
            if request.method == "POST" and files and channel in self.without_attach_files:
                return web.json_response(
                    {"message": "Missing Permissions", "code": 50013}, status=403
                )
            if request.method == "POST":
                message = self._create(channel, body or {}, files)
                if script and script.hold_s:
                    await asyncio.sleep(script.hold_s)
                return web.json_response(message)
            if request.method == "GET":
                count = int(request.query.get("limit", "50"))
                with self._lock:
                    newest_first = list(reversed(self.messages[channel]))[:count]
                return web.json_response(newest_first)
        if request.method == "GET" and parts[:1] == ["channels"] and len(parts) == 2:
            channel = int(parts[1])
            deny = ATTACH_FILES if channel in self.without_attach_files else 0
            overwrites = [{"id": GUILD_ID, "type": 0, "allow": "0", "deny": str(deny)}]
            return web.json_response({"id": str(channel), "type": 0, "guild_id": GUILD_ID,
                                      "name": f"channel-{channel}",
                                      "permission_overwrites": overwrites})  # fmt: skip
        if request.method == "GET" and parts[:1] == ["guilds"] and parts[2:3] == ["roles"]:
            return web.json_response([{"id": GUILD_ID, "name": "@everyone",
                                       "permissions": str(self.everyone_permissions)}])  # fmt: skip
        if request.method == "GET" and parts[:1] == ["guilds"] and parts[2:3] == ["members"]:
            return web.json_response({"user": BOT_USER, "roles": []})
        if parts[:1] == ["webhooks"] and parts[3:] == ["messages", "@original"]:
            # The answer to a deferred interaction (its token is ``token-<interaction id>``).
            interaction = parts[2].removeprefix("token-")
            if request.method == "DELETE":
                return web.Response(status=204)
            data = body or {}
            with self._lock:
                self.interaction_responses[interaction] = {"type": 4, "data": data}
                channel = self._interaction_channels.get(interaction)
            ephemeral = bool(int(data.get("flags") or 0) & 64)
            if channel is not None and not ephemeral:
                return web.json_response(self._create(channel, data, files))
            return web.json_response({"id": str(next(self._ids)), "channel_id": "1", **data})
        if parts[:1] == ["webhooks"] and len(parts) == 3 and request.method == "GET":
            return web.json_response({"id": parts[1], "type": 1, "name": "WOG", "channel_id": "1"})
        if parts[:1] == ["webhooks"] and len(parts) == 3 and request.method == "POST":
            if parts[2].startswith("token-"):  # a follow-up to an interaction (ephemeral here)
                with self._lock:
                    self.interaction_responses[parts[2].removeprefix("token-")] = {
                        "type": 4, "data": body or {}
                    }  # fmt: skip
                return web.json_response({"id": str(next(self._ids)), "channel_id": "1"})
            message = self._create(int(parts[1]), body or {}, files, webhook=True)
            if script and script.hold_s:
                await asyncio.sleep(script.hold_s)
            if request.query.get("wait") in ("true", "True", "1"):
                return web.json_response(message)
            return web.Response(status=204)
        if path == "/oauth2/applications/@me" and request.method == "GET":
            return web.json_response({
                "id": APPLICATION_ID, "name": "WOG", "icon": None, "description": "", "bot_public": True,
                "bot_require_code_grant": False, "verify_key": "00", "flags": 0, "owner": BOT_USER,
                "team": None, "rpc_origins": [], "terms_of_service_url": None, "privacy_policy_url": None,
                "approximate_guild_count": 1, "approximate_user_install_count": 0,
            })  # fmt: skip
        if parts[:1] == ["applications"] and parts[-1] == "commands" and request.method == "PUT":
            with self._lock:
                self.commands = list(body or [])
            return web.json_response([{**c, "id": str(next(self._ids)), "application_id": APPLICATION_ID, "version": "1",
                                       "default_member_permissions": None, "type": c.get("type", 1)}
                                      for c in self.commands])  # fmt: skip
        return web.json_response({"message": "404: Not Found", "code": 0}, status=404)

    # --- gateway and the channel page ------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(max_msg_size=16 * 2**20)
        await ws.prepare(request)
        compress = request.query.get("compress") == "zlib-stream"
        session = _Session(ws, zlib.compressobj() if compress else None, asyncio.get_running_loop())
        await _send(session, {"op": 10, "d": {"heartbeat_interval": self.heartbeat_interval_ms}})
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT and message.type != WSMsgType.BINARY:
                    break
                data = message.data if message.type == WSMsgType.TEXT else message.data.decode()
                frame = json.loads(data)
                op = frame.get("op")
                if op == 1:
                    await _send(session, {"op": 11, "d": None})
                elif op == 2:
                    token = (frame.get("d") or {}).get("token", "")
                    self.gateway_events.append(("IDENTIFY", None))
                    if token.removeprefix("Bot ") != BOT_TOKEN:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    session.session_id = uuid.uuid4().hex
                    self._sockets.append(session)
                    me = {**BOT_USER, "mfa_enabled": False, "verified": True, "flags": 0,
                          "locale": "ru", "premium_type": 0}  # fmt: skip
                    ready = {
                        "v": 10,
                        "user": me,
                        "guilds": [{"id": GUILD_ID, "unavailable": True}],
                        "session_id": session.session_id,
                        "resume_gateway_url": self.url.replace("http://", "ws://") + "/gateway",
                        "shard": [0, 1],
                        "application": {"id": APPLICATION_ID, "flags": 0},
                    }
                    await self._dispatch(session, "READY", ready)
                elif op == 6:
                    d = frame.get("d") or {}
                    self.gateway_events.append(("RESUME", d.get("seq")))
                    session.session_id = d.get("session_id", "")
                    session.seq = int(d.get("seq") or 0)
                    self._sockets.append(session)
                    await self._dispatch(session, "RESUMED", {})
        finally:
            if session in self._sockets:
                self._sockets.remove(session)
        return ws

    async def _dispatch(self, session: _Session, name: str, data: dict) -> None:
        session.seq += 1
        await _send(session, {"op": 0, "s": session.seq, "t": name, "d": data})

    def _broadcast(self, name: str, data: dict) -> None:
        for session in list(self._sockets):
            asyncio.run_coroutine_threadsafe(self._dispatch(session, name, data), session.loop)

    def _send_threadsafe(self, session: _Session, payload: dict) -> None:
        asyncio.run_coroutine_threadsafe(_send(session, payload), session.loop).result(5)

    async def _page(self, request: web.Request) -> web.Response:
        return web.Response(text=_page_html(), content_type="text/html")

    async def _messages_json(self, request: web.Request) -> web.Response:
        with self._lock:
            messages = sorted(
                [m for msgs in self.messages.values() for m in msgs]
                + [m for msgs in self.webhook_messages.values() for m in msgs],
                key=lambda m: int(m["id"]),
            )
        public = [{k: v for k, v in m.items() if not k.startswith("_")} for m in messages]
        return web.json_response(public, headers={"Cache-Control": "no-store"})

    async def _attachment(self, request: web.Request) -> web.Response:
        found = self.files.get(request.match_info["id"])
        if found is None:
            return web.Response(status=404)
        return web.Response(body=found[1], content_type="image/png")

    def _create(
        self, channel: int, body: dict, files: dict[str, bytes], *, webhook: bool = False
    ) -> dict:
        with self._lock:
            store = self.webhook_messages if webhook else self.messages
            nonce = body.get("nonce")
            if nonce and body.get("enforce_nonce"):
                for existing in store[channel]:
                    if existing.get("nonce") == nonce:
                        return existing  # Discord returns the earlier message, creates none
            message_id = str(next(self._ids))
            attachments = []
            for name, data in files.items():
                attachment_id = str(next(self._ids))
                self.files[attachment_id] = (name, data)
                url = f"{self.url}/attachments/{attachment_id}/{name}"
                attachments.append({"id": attachment_id, "filename": name, "size": len(data), "url": url,
                                    "proxy_url": url, "content_type": "image/png"})  # fmt: skip
            message = {
                "id": message_id,
                "channel_id": str(channel),
                "author": BOT_USER
                if not webhook
                else {**BOT_USER, "id": str(channel), "username": "WOG"},
                "content": body.get("content") or "",
                "timestamp": dt.datetime.now(dt.UTC).isoformat(),
                "edited_timestamp": None,
                "tts": False,
                "mention_everyone": False,
                "mentions": [],
                "mention_roles": [],
                "attachments": attachments,
                "embeds": body.get("embeds") or [],
                "pinned": False,
                "type": 0,
                "flags": 0,
                "nonce": nonce,
                "allowed_mentions": body.get("allowed_mentions"),
                "_files": {name: len(data) for name, data in files.items()},
            }
            if webhook:
                message["webhook_id"] = str(channel)
            store[channel].append(message)
            return message


# --- gateway ------------------------------------------------------------------------------


@dataclass
class _Session:
    ws: web.WebSocketResponse
    deflate: object  # zlib compressobj for zlib-stream, or None
    loop: asyncio.AbstractEventLoop
    session_id: str = ""
    seq: int = 0


def _encode(session: _Session, payload: dict) -> tuple[bytes | str, bool]:
    data = json.dumps(payload)
    if session.deflate is None:
        return data, False
    deflate = session.deflate
    return deflate.compress(data.encode()) + deflate.flush(zlib.Z_SYNC_FLUSH), True  # type: ignore[attr-defined]


async def _send(session: _Session, payload: dict) -> None:
    data, binary = _encode(session, payload)
    if binary:
        await session.ws.send_bytes(data)  # type: ignore[arg-type]
    else:
        await session.ws.send_str(data)  # type: ignore[arg-type]


def _page_html() -> str:
    return resources.files("wog_fakes").joinpath("channel.html").read_text(encoding="utf-8")


def _error_body(status: int) -> dict:
    known = {
        400: {"message": "Invalid Form Body", "code": 50035},
        403: {"message": "Missing Access", "code": 50001},
        404: {"message": "Unknown Channel", "code": 10003},
        500: {"message": "500: Internal Server Error", "code": 0},
        502: {"message": "502: Bad Gateway", "code": 0},
        503: {"message": "503: Service Unavailable", "code": 0},
    }
    return known.get(status, {"message": f"{status}", "code": 0})


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Run the Discord stand-in")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    fake = FakeDiscord(port=args.port).start()
    print(f"Discord stand-in: REST {fake.api_url}, channel page {fake.url}/", flush=True)
    threading.Event().wait()
