"""A fake WOG stats site on loopback, with fault injection.

Serves the games list, game pages and replay JSON for generated games, and can be told to
misbehave per URL: latency, 5xx, 429 with Retry-After, hanging (timeouts), 404, the site's
«Ошибка» page, truncated JSON, or a JSON that appears only after N requests. Every request is
recorded so tests can assert what was (not) fetched.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from wog_fakes.generator import ERROR_PAGE_HTML, GeneratedGame, render_games_list

GAMES_LIST_PATH = "/projects/wog-a3/games/"


def game_path(replay_id: int) -> str:
    return f"/games/{replay_id}/"


def json_path(replay_id: int) -> str:
    return f"/json/replay-data.json?game={replay_id}"


@dataclass
class Fault:
    """One misbehaviour for the next ``times`` requests to a path (-1: every request)."""

    status: int = 200
    times: int = 1
    delay: float = 0.0
    retry_after: str | None = None
    body: bytes | None = None


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        # A client that timed out and hung up (the timeout tests) is expected, not an error.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class FakeSite:
    """The fake site. Use as a context manager, or ``start()``/``stop()``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, latency: float = 0.0):
        self.latency = latency
        self._games: dict[int, GeneratedGame] = {}
        self._listed: set[int] = set()
        self._faults: dict[str, deque[Fault]] = defaultdict(deque)
        self._json_after: dict[int, int] = {}
        self._error_pages: set[int] = set()
        self._lock = threading.Lock()
        self.requests: list[str] = []
        self._server = _QuietServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None
        self.stopped = threading.Event()  # set by stop(); background publishers watch it

    # --- control --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"

    def start(self) -> FakeSite:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeSite:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def publish(self, *games: GeneratedGame, listed: bool = True) -> None:
        """Make games available (and, by default, shown on the games list)."""
        with self._lock:
            for game in games:
                self._games[game.replay_id] = game
                if listed:
                    self._listed.add(game.replay_id)

    def unpublish(self, replay_id: int) -> None:
        with self._lock:
            self._games.pop(replay_id, None)
            self._listed.discard(replay_id)

    def fail(self, path: str, fault: Fault) -> None:
        """Queue a fault for ``path`` (see :func:`game_path`, :func:`json_path`)."""
        with self._lock:
            self._faults[path].append(fault)

    def json_appears_after(self, replay_id: int, requests: int) -> None:
        """The replay JSON answers 404 for the next ``requests`` requests."""
        with self._lock:
            self._json_after[replay_id] = requests

    def show_error_page(self, replay_id: int) -> None:
        """The game page answers 200 with the site's «Ошибка / WOG Stats» page."""
        with self._lock:
            self._error_pages.add(replay_id)

    def requests_to(self, path: str) -> int:
        with self._lock:
            return sum(1 for p in self.requests if p == path)

    # --- serving --------------------------------------------------------------------------

    def _respond(self, path: str) -> tuple[Fault | None, int, str, bytes]:
        with self._lock:
            self.requests.append(path)
            queue = self._faults.get(path)
            fault = None
            if queue:
                fault = queue[0]
                if fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        queue.popleft()
            if fault is not None and (fault.status != 200 or fault.body is not None):
                return fault, fault.status, "text/plain; charset=utf-8", fault.body or b"fault"
            parts = urlsplit(path)
            if parts.path == GAMES_LIST_PATH:
                listing = [self._games[i].listing for i in self._listed if i in self._games]
                return fault, 200, "text/html; charset=utf-8", render_games_list(listing).encode()
            if parts.path.startswith("/games/"):
                try:
                    replay_id = int(parts.path.strip("/").split("/")[1])
                except (IndexError, ValueError):
                    return fault, 404, "text/plain", b"not found"
                if replay_id in self._error_pages:
                    return fault, 200, "text/html; charset=utf-8", ERROR_PAGE_HTML.encode()
                game = self._games.get(replay_id)
                if game is None:
                    return fault, 404, "text/html; charset=utf-8", b"<h1>404</h1>"
                return fault, 200, "text/html; charset=utf-8", game.page_html.encode()
            if parts.path == "/json/replay-data.json":
                try:
                    replay_id = int(parse_qs(parts.query)["game"][0])
                except (KeyError, ValueError):
                    return fault, 400, "text/plain", b"game parameter required"
                pending = self._json_after.get(replay_id, 0)
                if pending > 0:
                    self._json_after[replay_id] = pending - 1
                    return fault, 404, "text/plain", b"replay not ready"
                game = self._games.get(replay_id)
                if game is None:
                    return fault, 404, "text/plain", b"no such replay"
                return fault, 200, "application/json", game.replay_json
            return fault, 404, "text/plain", b"not found"

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out as separate writes; without this, Nagle's algorithm
                # and delayed ACKs add ~40 ms to every response on loopback.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def do_GET(self) -> None:
                fault, status, content_type, body = site._respond(self.path)
                delay = site.latency + (fault.delay if fault else 0.0)
                if delay:
                    time.sleep(delay)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    if fault and fault.retry_after is not None:
                        self.send_header("Retry-After", fault.retry_after)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            def log_message(self, format: str, *args: object) -> None:
                pass

        return Handler
