"""A fake Discord REST API on loopback: records requests, answers like Discord, scriptable.

Implements what the bot uses: create message (JSON or multipart with files, ``nonce`` with
``enforce_nonce`` deduplication as Discord does), list a channel's messages, the current user,
execute webhook (``?wait=true``), and application commands. Any route can be scripted to answer
429 (with ``retry_after``), 5xx, 403, 404 a number of times, or to hold its response (to kill a
client between Discord's write and its answer).

Runs in a thread with its own event loop, so sync and async tests can share it; or
``python -m tests.fakes.discord --port P`` for process-level tests.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiohttp import web

API = "/api/v10"
BOT_TOKEN = "fake-bot-token"
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

    def channel_messages(self, channel_id: int) -> list[dict]:
        with self._lock:
            return list(self.messages[int(channel_id)])

    def all_messages(self) -> list[dict]:
        with self._lock:
            return [m for msgs in self.messages.values() for m in msgs] + [
                m for msgs in self.webhook_messages.values() for m in msgs
            ]

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
                limit = int(request.query.get("limit", "50"))
                with self._lock:
                    newest_first = list(reversed(self.messages[channel]))[:limit]
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
        if parts[:1] == ["webhooks"] and len(parts) == 3 and request.method == "GET":
            return web.json_response({"id": parts[1], "type": 1, "name": "WOG", "channel_id": "1"})
        if parts[:1] == ["webhooks"] and len(parts) == 3 and request.method == "POST":
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
            attachments = [
                {"id": str(next(self._ids)), "filename": name, "size": len(data), "url": f"https://cdn.example/{name}",
                 "proxy_url": f"https://cdn.example/{name}", "content_type": "image/png"}
                for name, data in files.items()
            ]  # fmt: skip
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

    parser = argparse.ArgumentParser(description="Run the fake Discord REST API")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    fake = FakeDiscord(port=args.port).start()
    print(f"fake Discord at {fake.api_url}", flush=True)
    threading.Event().wait()
