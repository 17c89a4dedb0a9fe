"""The notifications asset: pending only for new games, suppressed for backfills, sent stays
sent, NOTIFY on pending; and the HTML preview in a real browser."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from tests.wog_assets.dagster_helpers import run_replays
from wog_fakes.fake_site import FakeSite
from wog_fakes.generator import GameOptions, generate_game, generate_games

GAMES = generate_games(3400, 3, seed=33)
NEW = {"wog/trigger": "new", "wog/replay": "3400"}
ARTIFACTS = Path(
    os.environ.get("WOG_TEST_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111, 222")
    monkeypatch.setenv(
        "WOG_DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/333/s3cret-token"
    )
    monkeypatch.setenv("WOG_LANGUAGE", "ru")
    with FakeSite() as fake:
        fake.publish(*GAMES)
        yield fake


def _notifications(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT replay_id, target, status, attachment IS NOT NULL, payload->>'content' "
                    "FROM notifications ORDER BY replay_id, target"
                )
            )
        ]


def test_backfill_creates_no_pending_notifications(site, instance, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    assert run_replays(instance, [3400, 3401, 3402], site.url, db_url).success
    rows = _notifications(engine)
    assert len(rows) == 9
    assert {r[2] for r in rows} == {"suppressed"}
    assert not any(r[3] for r in rows)  # no chart rendered for messages nobody will see


def test_a_sensor_found_game_creates_exactly_one_pending_row_per_target(
    site, instance, engine, db_url
) -> None:  # type: ignore[no-untyped-def]
    assert run_replays(instance, [3400], site.url, db_url, tags=NEW).success
    assert _notifications(engine) == [
        (3400, "channel:111", "pending", True, "📨 Доступен новый реплей!"),
        (3400, "channel:222", "pending", True, "📨 Доступен новый реплей!"),
        (3400, "webhook:333", "pending", True, "📨 Доступен новый реплей!"),
    ]
    with engine.connect() as conn:
        assert "s3cret-token" not in str(
            conn.execute(sa.text("SELECT payload::text, target FROM notifications")).all()
        )
    # Re-materializing (sensor retry, or a backfill over it) keeps one row per target, still pending.
    assert run_replays(instance, [3400], site.url, db_url, tags=NEW).success
    assert run_replays(instance, [3400], site.url, db_url).success
    assert [r[2] for r in _notifications(engine)] == ["pending"] * 3


def test_a_sent_notification_stays_sent(site, instance, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    assert run_replays(instance, [3400], site.url, db_url, tags=NEW).success
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "UPDATE notifications SET status='sent', discord_message_id=42, payload='{}'::jsonb"
            )
        )
    assert run_replays(instance, [3400], site.url, db_url, tags=NEW).success
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT status, discord_message_id, payload::text FROM notifications")
        ).all()
    assert [tuple(r) for r in rows] == [("sent", 42, "{}")] * 3


def test_announcing_a_backfilled_game_makes_it_pending(site, instance, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    assert run_replays(instance, [3401], site.url, db_url).success
    announce = {"wog/trigger": "announce", "wog/replay": "3401"}
    assert run_replays(
        instance, [3401], site.url, db_url, tags=announce, selection=["notifications"]
    ).success
    assert {(r[2], r[3]) for r in _notifications(engine)} == {("pending", True)}


def test_pending_rows_are_announced_with_notify(site, instance, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    libpq = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as listener:
        listener.execute("LISTEN wog_notifications")
        assert run_replays(instance, [3400], site.url, db_url, tags=NEW).success
        received = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
    assert received == ["3400"]


def _publish_without_players(site: FakeSite, replay_id: int) -> None:
    import msgspec

    from wog_fakes.generator import GeneratedGame, render_game_page, render_replay_json

    truth = generate_game(replay_id, seed=2, options=GameOptions(players=30)).replay
    empty = msgspec.structs.replace(truth, players=[], frags=[])
    site.publish(GeneratedGame(empty, render_game_page(empty), render_replay_json(empty)))


def test_a_game_failing_a_blocking_check_is_not_announced(site, instance, engine, db_url) -> None:  # type: ignore[no-untyped-def]
    # Since the site's own inconsistencies only warn, the blocking check left is a game
    # without players: its message would be meaningless.
    _publish_without_players(site, 3410)
    result = run_replays(
        instance, [3410], site.url, db_url, tags={**NEW, "wog/replay": "3410"}, raise_on_error=False
    )
    assert not result.success
    assert _notifications(engine) == []


@pytest.mark.parametrize("announced", [False, True], ids=["quiet batch", "announced batch"])
def test_one_held_game_does_not_strip_its_batch(
    site, instance, engine, db_url, announced, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """A batch (a backfill range, a sensor quiet batch, or announced games together) with one
    game failing a blocking check: every other game goes through every step."""
    monkeypatch.setenv("WOG_MIN_PLAYERS", "1")  # every generated game qualifies
    site.publish(*generate_games(3500, 5, seed=8))
    _publish_without_players(site, 3502)
    tags = {"wog/trigger": "new"} if announced else {}
    result = run_replays(
        instance, [3500, 3501, 3502, 3503, 3504], site.url, db_url, tags=tags, raise_on_error=False
    )
    good = [3500, 3501, 3503, 3504]
    with engine.connect() as conn:

        def ids(sql: str) -> list[int]:
            return sorted(set(conn.execute(sa.text(sql)).scalars()))

        assert ids("SELECT replay_id FROM games") == [3500, 3501, 3502, 3503, 3504]
        assert (
            ids("SELECT p.replay_id FROM players p JOIN player_directory d USING (player_id)")
            == good
        )
        unknown = "SELECT count(*) FROM players p LEFT JOIN player_directory d USING (player_id) "
        assert conn.scalar(sa.text(unknown + "WHERE d.player_id IS NULL")) == 0
        assert ids("SELECT replay_id FROM player_game_stats") == good
        assert ids("SELECT replay_id FROM notifications") == good
        statuses = set(conn.execute(sa.text("SELECT status FROM notifications")).scalars())
    assert statuses == ({"pending"} if announced else {"suppressed"})
    # The run names the held game, with the rule and the reason, and fails for it alone.
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert "replay 3502: rejected: held by check game_has_players" in message
    assert "3500" not in message and "3503" not in message
    check = next(
        e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
        and e.event_specific_data.check_name == "game_has_players"
    )
    assert not check.passed  # still visible as a failing check in the UI


def test_preview_renders_in_a_real_browser(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from wog_cli import main

    game = generate_game(3413, seed=1)
    page, replay, out = tmp_path / "g.html", tmp_path / "g.json", tmp_path / "preview.html"
    page.write_text(game.page_html, encoding="utf-8")
    replay.write_bytes(game.replay_json)
    result = CliRunner().invoke(
        main, ["preview", "--page", str(page), "--replay", str(replay), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output

    from tests.browser import chromium_page

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(900, 900) as tab:
        tab.goto(out.as_uri())
        assert tab.locator(".embed").count() == 5
        assert tab.locator(".title").first.inner_text().endswith("Общая статистика")
        assert tab.locator(".content").inner_text().endswith("Доступен новый реплей!")
        width = tab.locator("img.image").evaluate("img => img.naturalWidth")
        assert width == 800
        tab.screenshot(path=str(ARTIFACTS / "preview.png"), full_page=True)
    assert (ARTIFACTS / "preview.png").stat().st_size > 10_000


def test_a_new_game_below_min_players_is_stored_suppressed(
    site, instance, engine, db_url, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    """The source's announce policy holds in the chain, whichever way a run was started."""
    (game,) = generate_games(3600, 1, seed=3)
    site.publish(game)
    players = game.replay.game.players_active
    monkeypatch.setenv("WOG_MIN_PLAYERS", str(players + 1))
    assert run_replays(instance, [3600], site.url, db_url, tags=NEW).success
    assert {row[2] for row in _notifications(engine)} == {"suppressed"}
    # Quiet stays quiet: the same game found new again (the policy since lowered) is not
    # posted; only a user asking for it (wog announce) posts it.
    monkeypatch.setenv("WOG_MIN_PLAYERS", str(players))
    assert run_replays(instance, [3600], site.url, db_url, tags=NEW).success
    assert {row[2] for row in _notifications(engine)} == {"suppressed"}
    asked = {"wog/trigger": "announce"}
    assert run_replays(instance, [3600], site.url, db_url, tags=asked).success
    assert {row[2] for row in _notifications(engine)} == {"pending"}
