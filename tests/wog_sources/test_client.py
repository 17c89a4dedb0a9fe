"""The site client against the fake stats site: each fault gets the right retries and error."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterator

import pytest

from wog_core.models import GameListing
from wog_core.settings import Settings
from wog_fakes.fake_site import GAMES_LIST_PATH, FakeSite, Fault, game_path, json_path
from wog_fakes.generator import GameOptions, generate_game
from wog_sources.client import USER_AGENT, SiteClient, SourceSettings
from wog_sources.errors import ReplayNotFound, ResponseTooLarge, SourceUnavailable

GAME = generate_game(3413, seed=5)


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        fake.publish(GAME)
        yield fake


class Sleeps(list):
    """Records the client's sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def _client(site: FakeSite, sleeps: Sleeps | None = None, **settings: object) -> SiteClient:
    base = {"base_url": site.url, "min_interval": 0.0, "read_timeout": 2.0, "max_retries": 3}
    base.update(settings)
    return SiteClient(SourceSettings(**base), sleep=sleeps if sleeps is not None else Sleeps())  # type: ignore[arg-type]


def test_fetches_list_page_and_json(site: FakeSite) -> None:
    with _client(site) as client:
        assert client.list_games() == [
            GameListing(3413, GAME.replay.game.players_active, GAME.replay.game.slots)
        ]
        page = client.fetch_game_page(3413)
        assert page.http_status == 200
        assert page.text == GAME.page_html
        assert page.url == f"{site.url}/games/3413/"
        assert len(page.sha256) == 64
        replay = client.fetch_replay_json(3413)
        assert bytes(replay.body) == GAME.replay_json
        # The hash is taken while the body streams in, and is the body's.
        assert replay.digest == hashlib.sha256(GAME.replay_json).hexdigest() == replay.sha256
        assert page.digest == hashlib.sha256(GAME.page_html.encode()).hexdigest()


def test_user_agent_and_gzip_are_sent(site: FakeSite) -> None:
    import httpx

    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(request.headers)
        return httpx.Response(200, text=GAME.page_html)

    client = SiteClient(
        SourceSettings(base_url="http://wog.test", min_interval=0),
        transport=httpx.MockTransport(handler),
    )
    client.fetch_game_page(3413)
    assert seen["user-agent"] == USER_AGENT
    assert "gzip" in seen["accept-encoding"]


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_is_retried_with_backoff_then_succeeds(site: FakeSite, status: int) -> None:
    site.fail(game_path(3413), Fault(status=status, times=2))
    sleeps = Sleeps()
    with _client(site, sleeps, backoff_base=1.0) as client:
        assert client.fetch_game_page(3413).http_status == 200
    assert site.requests_to(game_path(3413)) == 3
    assert len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1.0 and 1.0 <= sleeps[1] <= 2.0  # exponential, with jitter


def test_429_honours_retry_after(site: FakeSite) -> None:
    site.fail(game_path(3413), Fault(status=429, retry_after="7"))
    sleeps = Sleeps()
    with _client(site, sleeps, backoff_base=0.1) as client:
        client.fetch_game_page(3413)
    assert sleeps == [7.0]


def test_retries_exhausted_raise_source_unavailable_with_last_status(site: FakeSite) -> None:
    site.fail(json_path(3413), Fault(status=503, times=-1))
    with _client(site, max_retries=2) as client, pytest.raises(SourceUnavailable) as info:
        client.fetch_replay_json(3413)
    assert site.requests_to(json_path(3413)) == 3
    assert info.value.status == 503
    assert info.value.replay_id == 3413
    assert "gave up after 3 attempts; last: HTTP 503" in str(info.value)
    assert json_path(3413) in str(info.value)


def test_404_is_not_retried(site: FakeSite) -> None:
    with _client(site) as client, pytest.raises(ReplayNotFound) as info:
        client.fetch_game_page(999)
    assert site.requests_to(game_path(999)) == 1
    assert str(info.value) == f"replay 999, {site.url}/games/999/: game page answered 404"


def test_error_page_is_replay_not_found(site: FakeSite) -> None:
    site.show_error_page(3413)
    with _client(site) as client, pytest.raises(ReplayNotFound, match="error page"):
        client.fetch_game_page(3413)


def test_timeouts_are_retried_and_nothing_hangs(site: FakeSite) -> None:
    site.fail(game_path(3413), Fault(delay=1.5, times=1))
    started = time.monotonic()
    with _client(site, read_timeout=0.3) as client:
        assert client.fetch_game_page(3413).http_status == 200
    assert site.requests_to(game_path(3413)) == 2
    assert time.monotonic() - started < 10


def test_persistent_timeouts_give_up_with_a_clear_cause(site: FakeSite) -> None:
    site.fail(game_path(3413), Fault(delay=1.0, times=-1))
    with (
        _client(site, read_timeout=0.2, max_retries=1) as client,
        pytest.raises(SourceUnavailable, match="timed out"),
    ):
        client.fetch_game_page(3413)


def test_connection_refused_is_source_unavailable() -> None:
    client = SiteClient(
        SourceSettings(base_url="http://127.0.0.1:9", min_interval=0, max_retries=1), sleep=Sleeps()
    )
    with pytest.raises(SourceUnavailable, match="connection failed"):
        client.list_games()


def test_json_that_appears_later(site: FakeSite) -> None:
    site.json_appears_after(3413, 2)
    with _client(site) as client:
        for _ in range(2):
            with pytest.raises(ReplayNotFound, match="not published"):
                client.fetch_replay_json(3413)
        assert bytes(client.fetch_replay_json(3413).body) == GAME.replay_json


def test_truncated_json_is_fetched_as_is_for_the_parser_to_reject(site: FakeSite) -> None:
    from wog_sources.errors import ReplayParseError
    from wog_sources.parse import parse_replay_json

    site.fail(json_path(3413), Fault(body=GAME.replay_json[:1000]))
    with _client(site) as client:
        fetched = client.fetch_replay_json(3413)
    with pytest.raises(ReplayParseError, match="truncated"):
        parse_replay_json(fetched.body, replay_id=3413, url=fetched.url)


def test_body_over_the_cap_is_refused(site: FakeSite) -> None:
    big = generate_game(3414, seed=1, options=GameOptions(viewer_bytes=3_000_000))
    site.publish(big)
    with _client(site, max_json_bytes=1_000_000) as client, pytest.raises(ResponseTooLarge) as info:
        client.fetch_replay_json(3414)
    assert "exceeds the 1,000,000-byte cap" in str(info.value)
    assert info.value.replay_id == 3414


def test_requests_are_spaced_by_the_politeness_interval(site: FakeSite) -> None:
    with SiteClient(SourceSettings(base_url=site.url, min_interval=0.2)) as client:
        started = time.monotonic()
        for _ in range(4):
            client.list_games()
        elapsed = time.monotonic() - started
    assert elapsed >= 0.6  # three waits between four requests
    assert site.requests_to(GAMES_LIST_PATH) == 4


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WOG_BASE_URL", "http://127.0.0.1:1234")
    monkeypatch.setenv("WOG_MIN_REQUEST_INTERVAL", "2.5")
    monkeypatch.setenv("WOG_MAX_JSON_MB", "64")
    settings = Settings.from_env(os.environ).source
    assert settings.base_url == "http://127.0.0.1:1234"
    assert settings.min_interval == 2.5
    assert settings.max_json_bytes == 64 * 2**20
