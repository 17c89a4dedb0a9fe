"""A fake Twitch (OAuth client credentials + Helix users/streams/clips) on loopback.

Scriptable: streams can go live/offline (flaps with the same stream id), clips can be added
(with pagination when many), the service can be down (503), and the token can be revoked so
the next call answers 401 until a new one is issued.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

CLIENT_ID = "fake-client-id"
CLIENT_SECRET = "fake-client-secret"


class FakeTwitch:
    def __init__(
        self, page_size: int = 20, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET
    ):
        self.page_size = page_size
        self.client_id = client_id
        self.client_secret = client_secret
        self.users = {"streamer": "4242"}
        self.live: dict[str, dict] = {}  # user id -> stream
        self.clips: list[dict] = []
        self.down = False
        self.tokens_issued = 0
        self.valid_tokens: set[str] = set()
        self.requests: list[str] = []
        self.rate_limit_remaining: int | None = None
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FakeTwitch:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeTwitch:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- scripting ------------------------------------------------------------------------

    def go_live(self, stream_id: str, title: str = "Arma 3 WOG", login: str = "streamer") -> None:
        with self._lock:
            self.live[self.users[login]] = {
                "id": stream_id, "user_id": self.users[login], "user_login": login, "user_name": login.title(),
                "game_name": "Arma 3", "type": "live", "title": title, "viewer_count": 10,
                "started_at": dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z"),
                "thumbnail_url": f"https://static.example/{login}-{{width}}x{{height}}.jpg",
            }  # fmt: skip

    def go_offline(self, login: str = "streamer") -> None:
        with self._lock:
            self.live.pop(self.users[login], None)

    def add_clip(
        self,
        created_at: dt.datetime,
        login: str = "streamer",
        title: str = "clip",
        creator: str = "ClipMaker",
    ) -> str:
        clip_id = f"Clip{next(self._ids)}"
        with self._lock:
            self.clips.append({
                "id": clip_id, "url": f"https://clips.example/{clip_id}", "broadcaster_id": self.users[login],
                "broadcaster_name": login, "title": title, "creator_name": creator,
                "created_at": created_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            })  # fmt: skip
        return clip_id

    def revoke_tokens(self) -> None:
        with self._lock:
            self.valid_tokens.clear()

    # --- serving --------------------------------------------------------------------------

    def _answer(self, method: str, path: str, headers: dict, body: bytes = b"") -> tuple[int, dict]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        form = parse_qs(body.decode("utf-8", errors="replace"))
        with self._lock:
            self.requests.append(f"{method} {parts.path}")
            if self.down:
                return 503, {"error": "Service Unavailable", "status": 503}
            if parts.path == "/oauth2/token" and method == "POST":
                # Credentials in the form body only, as Twitch documents: a query string
                # would put the secret into every access log and httpx's request line.
                if form.get("client_id") != [self.client_id] or form.get("client_secret") != [
                    self.client_secret
                ]:
                    return 403, {"status": 403, "message": "invalid client secret"}
                self.tokens_issued += 1
                token = f"token{self.tokens_issued}"
                self.valid_tokens.add(token)
                return 200, {"access_token": token, "expires_in": 5000000, "token_type": "bearer"}
            if not parts.path.startswith("/helix/"):
                return 404, {"error": "Not Found"}
            token = headers.get("Authorization", "").removeprefix("Bearer ")
            if headers.get("Client-Id") != self.client_id or token not in self.valid_tokens:
                return 401, {
                    "error": "Unauthorized",
                    "status": 401,
                    "message": "Invalid OAuth token",
                }
            endpoint = parts.path.removeprefix("/helix/")
            if endpoint == "users":
                logins = query.get("login", [])
                return 200, {
                    "data": [
                        {"id": self.users[x], "login": x, "display_name": x.title()}
                        for x in logins
                        if x in self.users
                    ]
                }
            if endpoint == "streams":
                ids = query.get("user_id", [])
                return 200, {
                    "data": [s for uid, s in self.live.items() if uid in ids],
                    "pagination": {},
                }
            if endpoint == "clips":
                broadcaster = query.get("broadcaster_id", [""])[0]
                started = query.get("started_at", [None])[0]
                matching = [
                    c
                    for c in self.clips
                    if c["broadcaster_id"] == broadcaster
                    and (not started or c["created_at"] >= started)
                ]
                matching.sort(key=lambda c: c["created_at"], reverse=True)
                offset = int(query.get("after", ["0"])[0])
                page = matching[offset : offset + self.page_size]
                cursor = (
                    str(offset + self.page_size)
                    if offset + self.page_size < len(matching)
                    else None
                )
                return 200, {"data": page, "pagination": {"cursor": cursor} if cursor else {}}
            return 404, {"error": "Not Found"}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _reply(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(length) if length else b""
                status, body = fake._answer(method, self.path, dict(self.headers), sent)
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                if fake.rate_limit_remaining is not None:
                    self.send_header("Ratelimit-Limit", "800")
                    self.send_header("Ratelimit-Remaining", str(fake.rate_limit_remaining))
                    self.send_header("Ratelimit-Reset", str(int(dt.datetime.now().timestamp()) + 1))
                self.end_headers()
                self.wfile.write(raw)

            def do_GET(self) -> None:
                self._reply("GET")

            def do_POST(self) -> None:
                self._reply("POST")

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
