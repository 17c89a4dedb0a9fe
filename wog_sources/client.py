"""A polite HTTP client for the WOG stats site.

Polite by default: at most one request per ``min_interval`` seconds (1 s), a User-Agent naming
the project, gzip accepted. Connection errors, timeouts, 429 (honouring ``Retry-After``) and 5xx
are retried with capped exponential backoff and jitter; 404 is not. Replay JSON is streamed into
a bounded buffer and refused past ``max_json_bytes``.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import random
import threading
import time
from collections.abc import Callable
from typing import Self

import httpx

from wog_core.models import Fetched, GameListing
from wog_core.settings import SourceSettings
from wog_sources.errors import ReplayNotFound, ResponseTooLarge, SourceUnavailable
from wog_sources.parse import is_error_page, parse_games_list

USER_AGENT = "wog-replay-platform/0.1 (+https://github.com/wog-a3/wog-replay-platform; Discord replay notifier)"
RETRYABLE_STATUSES = {429, 500, 502, 503, 504, 520, 521, 522, 524}


def game_page_url(base_url: str, replay_id: int) -> str:
    """The game page's URL on the site at ``base_url``."""
    return f"{base_url.rstrip('/')}/games/{replay_id}/"


class SiteClient:
    """Fetches the games list, game pages and replay JSON from the stats site."""

    def __init__(
        self,
        settings: SourceSettings,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        self.settings = settings
        self._sleep = sleep
        self._lock = threading.Lock()
        self._last_request = 0.0
        self._http = httpx.Client(
            base_url=self.settings.base_url.rstrip("/"),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"},
            timeout=httpx.Timeout(
                self.settings.read_timeout, connect=self.settings.connect_timeout
            ),
            follow_redirects=True,
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- public API -----------------------------------------------------------------------

    def url_for(self, path: str) -> str:
        return f"{self.settings.base_url.rstrip('/')}{path}"

    def game_page_url(self, replay_id: int) -> str:
        return game_page_url(self.settings.base_url, replay_id)

    def replay_json_url(self, replay_id: int) -> str:
        return self.url_for(f"/json/replay-data.json?game={replay_id}")

    def list_games(self) -> list[GameListing]:
        """The games on the list page, newest first."""
        path = "/projects/wog-a3/games/"
        status, body, _ = self._get(path, replay_id=None)
        if status == 404:
            raise SourceUnavailable("games list answered 404", url=self.url_for(path), status=404)
        return parse_games_list(body.decode("utf-8", errors="replace"), url=self.url_for(path))

    def fetch_game_page(self, replay_id: int) -> Fetched:
        """The game page; :class:`ReplayNotFound` for 404 or the site's error page."""
        path = f"/games/{replay_id}/"
        fetched_at = _now()
        status, body, digest = self._get(path, replay_id=replay_id)
        url = self.url_for(path)
        if status == 404:
            raise ReplayNotFound("game page answered 404", replay_id=replay_id, url=url)
        fetched = Fetched(replay_id, url, status, fetched_at, body, digest)
        if is_error_page(fetched.text):
            raise ReplayNotFound(
                "the site shows its error page (no such game)", replay_id=replay_id, url=url
            )
        return fetched

    def fetch_replay_json(self, replay_id: int) -> Fetched:
        """The replay JSON, streamed into a buffer capped at ``max_json_bytes``.

        :class:`ReplayNotFound` when it is not (yet) published: 404 or an empty body.
        """
        path = f"/json/replay-data.json?game={replay_id}"
        url = self.url_for(path)
        fetched_at = _now()
        status, body, digest = self._get(
            path, replay_id=replay_id, cap=self.settings.max_json_bytes
        )
        if status == 404 or not body.strip() or body.strip() in (b"null", b"[]", b"{}"):
            raise ReplayNotFound("replay JSON is not published (yet)", replay_id=replay_id, url=url)
        return Fetched(replay_id, url, status, fetched_at, body, digest)

    # --- mechanics ------------------------------------------------------------------------

    def _wait_turn(self) -> None:
        with self._lock:
            wait = self._last_request + self.settings.min_interval - time.monotonic()
            if wait > 0:
                self._sleep(wait)
            self._last_request = time.monotonic()

    def _backoff(self, attempt: int) -> float:
        delay = min(self.settings.backoff_cap, self.settings.backoff_base * 2.0**attempt)
        return delay / 2 + random.uniform(0, delay / 2)  # "equal jitter"

    def _get(
        self, path: str, *, replay_id: int | None, cap: int | None = None
    ) -> tuple[int, bytes | bytearray, str | None]:
        url = self.url_for(path)
        last_cause = "no attempt made"
        last_status: int | None = None
        for attempt in range(self.settings.max_retries + 1):
            self._wait_turn()
            delay = self._backoff(attempt)
            try:
                with self._http.stream("GET", path) as response:
                    status = response.status_code
                    if status in RETRYABLE_STATUSES:
                        last_status, last_cause = status, f"HTTP {status}"
                        if status == 429:
                            delay = max(
                                delay, _retry_after(response.headers.get("Retry-After")) or 0
                            )
                            delay = min(delay, max(self.settings.backoff_cap, 1.0))
                        response.close()
                    elif status == 404:
                        return status, b"", None
                    elif status >= 400:
                        raise SourceUnavailable(
                            f"HTTP {status} (not retried)",
                            replay_id=replay_id,
                            url=url,
                            status=status,
                        )
                    else:
                        return status, *self._read(response, cap, replay_id, url)
            except httpx.TimeoutException as exc:
                last_status, last_cause = None, f"timed out ({type(exc).__name__})"
            except httpx.TransportError as exc:
                last_status, last_cause = None, f"connection failed: {exc or type(exc).__name__}"
            if attempt < self.settings.max_retries:
                self._sleep(delay)
        raise SourceUnavailable(
            f"gave up after {self.settings.max_retries + 1} attempts; last: {last_cause}",
            replay_id=replay_id,
            url=url,
            status=last_status,
        )

    @staticmethod
    def _read(
        response: httpx.Response, cap: int | None, replay_id: int | None, url: str
    ) -> tuple[bytearray, str]:
        """The body, and its SHA-256 computed chunk by chunk as it arrives (the raw tables keep
        it; hashing while the network is the bottleneck keeps it off the storing step)."""
        if cap is not None:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise ResponseTooLarge(
                    f"body of {int(declared):,} bytes exceeds the {cap:,}-byte cap (WOG_MAX_JSON_MB)",
                    replay_id=replay_id,
                    url=url,
                )
        buffer = bytearray()
        digest = hashlib.sha256()
        for chunk in response.iter_bytes(chunk_size=1 << 20):
            buffer += chunk
            digest.update(chunk)
            if cap is not None and len(buffer) > cap:
                raise ResponseTooLarge(
                    f"body exceeds the {cap:,}-byte cap (WOG_MAX_JSON_MB); download stopped",
                    replay_id=replay_id,
                    url=url,
                )
        return buffer, digest.hexdigest()  # no copy: replay JSON can be tens of MB


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - _now()).total_seconds())


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)
