"""The new_replays sensor: first tick, new games, the min-players filter, outages, late JSON."""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator

import dagster as dg
import pytest

from tests.wog_assets.dagster_helpers import code_location, run_replays
from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource
from wog_assets.defs.sources import wog_sensor as sensors_module
from wog_fakes.fake_site import GAMES_LIST_PATH, FakeSite, Fault, game_path
from wog_fakes.generator import GameOptions, generate_game

# players per game: 3400..3405; 3401 and 3404 are below the default minimum of 100
PLAYERS = {3400: 150, 3401: 40, 3402: 120, 3403: 200, 3404: 99, 3405: 100}


def _game(replay_id: int, players: int):  # type: ignore[no-untyped-def]
    return generate_game(replay_id, seed=9, options=GameOptions(players=players))


@pytest.fixture(autouse=True)
def _warehouse(db_url: str) -> str:
    """The sensor queues operator alerts in the warehouse (WOG_DATABASE_URL)."""
    return db_url


@pytest.fixture
def site(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSite]:
    monkeypatch.delenv("WOG_MIN_PLAYERS", raising=False)
    monkeypatch.delenv("WOG_START_FROM_REPLAY", raising=False)
    with FakeSite() as fake:
        fake.publish(*(_game(i, n) for i, n in PLAYERS.items()))
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(sensors_module.time, "time", fake)
    return fake


_PARTITIONS: list[str] = []  # the replays partitions in order, as the last tick left them


def tick(instance: dg.DagsterInstance, site: FakeSite, cursor: str | None):  # type: ignore[no-untyped-def]
    """Evaluate the sensor once and apply its partition requests, as the daemon would."""
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "site": StatsSiteResource(base_url=site.url, min_request_interval=0.0, max_retries=0),
            "warehouse": WarehouseResource(database_url=os.environ["WOG_DATABASE_URL"]),
        },
    ) as context:
        sensor = code_location(site.url, os.environ["WOG_DATABASE_URL"]).resolve_sensor_def(
            "new_replays"
        )
        result = sensor(context)
    if isinstance(result, dg.SensorResult):
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(
                request.partitions_def_name, list(request.partition_keys)
            )
    _PARTITIONS[:] = instance.get_dynamic_partitions("replays")
    return result


def _requested(result: dg.SensorResult) -> list[tuple[str, str]]:
    """The announced games: (partition, run key), a run of several games expanded (newest
    first, as the sensor orders them)."""
    found = []
    for r in result.run_requests:
        if r.tags.get("wog/trigger") != "new":
            continue
        if r.partition_key:
            found.append((r.partition_key, r.run_key))
            continue
        first, last = (
            r.tags["dagster/asset_partition_range_start"],
            r.tags["dagster/asset_partition_range_end"],
        )
        keys = _PARTITIONS[_PARTITIONS.index(first) : _PARTITIONS.index(last) + 1]
        found += [(key, r.run_key) for key in reversed(keys)]
    return found


def _quiet(result: dg.SensorResult) -> list[tuple[str, str]]:
    """The quiet loads (never announced): (first, last) partition of each run."""
    spans = []
    for r in result.run_requests:
        if r.tags.get("wog/trigger") == "quiet":
            first = r.partition_key or r.tags["dagster/asset_partition_range_start"]
            last = r.partition_key or r.tags["dagster/asset_partition_range_end"]
            spans.append((first, last))
    return spans


def test_first_tick_registers_every_listed_game_but_runs_only_the_newest_qualifying(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    result = tick(instance, site, None)
    assert instance.get_dynamic_partitions("replays") == [str(i) for i in sorted(PLAYERS)]
    assert _requested(result) == [("3405", "replay-3405-try-1")]
    assert _quiet(result) == [("3400", "3404")]  # every listed game is loaded, in one run
    request = result.run_requests[0]
    assert request.tags == {"wog/trigger": "new", "wog/replay": "3405"}
    assert json.loads(result.cursor)["max_id"] == 3405


def test_start_from_replay_processes_qualifying_games_from_there(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOG_START_FROM_REPLAY", "3402")
    result = tick(instance, site, None)
    assert [key for key, _ in _requested(result)] == ["3405", "3403", "3402"]  # newest first
    assert _quiet(result) == [("3400", "3401"), ("3404", "3404")]


def test_new_games_are_registered_in_order_and_filtered_by_min_players(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    first = tick(instance, site, None)
    site.publish(_game(3407, 180), _game(3406, 20))
    second = tick(instance, site, first.cursor)
    assert instance.get_dynamic_partitions("replays")[-2:] == ["3406", "3407"]
    assert [key for key, _ in _requested(second)] == ["3407"]
    assert _quiet(second) == [("3406", "3406")]  # loaded, not announced
    assert json.loads(second.cursor)["max_id"] == 3407


def test_min_players_is_a_setting(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = tick(instance, site, None)
    monkeypatch.setenv("WOG_MIN_PLAYERS", "10")
    site.publish(_game(3406, 20))
    assert [key for key, _ in _requested(tick(instance, site, first.cursor))] == ["3406"]


def test_site_down_skips_the_tick_with_a_reason_and_keeps_the_cursor(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    first = tick(instance, site, None)
    site.fail(GAMES_LIST_PATH, Fault(status=503, times=-1))
    result = tick(instance, site, first.cursor)
    message = result.skip_reason.skip_message
    assert "stats site unreachable" in message and "HTTP 503" in message
    assert result.run_requests == []
    # The cursor only learns since when the site is down; nothing was registered or requested.
    kept = {k: v for k, v in json.loads(result.cursor).items() if k != "down_since"}
    assert kept == json.loads(first.cursor)
    assert instance.get_dynamic_partitions("replays") == [str(i) for i in sorted(PLAYERS)]


def test_nothing_is_requested_twice_while_a_run_is_pending(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    first = tick(instance, site, None)
    instance.add_run(
        dg.DagsterRun(job_name="__ASSET_JOB", run_id="r1", status=dg.DagsterRunStatus.STARTED,
                      tags={"wog/trigger": "new", "wog/replay": "3405"})
    )  # fmt: skip
    clock.now += 3600
    again = tick(instance, site, first.cursor)
    assert again.run_requests == []
    assert "3405" in json.loads(again.cursor)["watch"]


def test_late_json_is_retried_on_later_ticks_until_it_succeeds(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine, db_url: str
) -> None:
    site.json_appears_after(3405, 1)
    first = tick(instance, site, None)
    tags = first.run_requests[0].tags
    failed = run_replays(instance, [3405], site.url, db_url, tags=tags, raise_on_error=False)
    assert not failed.success

    # Within the backoff nothing is requested; after it, a second attempt with a new run key.
    clock.now += 10
    waiting = tick(instance, site, first.cursor)
    assert waiting.run_requests == []
    clock.now += 60
    retry = tick(instance, site, waiting.cursor)
    assert _requested(retry) == [("3405", "replay-3405-try-2")]

    assert run_replays(instance, [3405], site.url, db_url, tags=retry.run_requests[0].tags).success
    clock.now += 3600
    done = tick(instance, site, retry.cursor)
    assert done.run_requests == []
    assert json.loads(done.cursor)["watch"] == {}
    with engine.connect() as conn:
        assert (
            conn.exec_driver_sql("SELECT count(*) FROM games WHERE replay_id = 3405").scalar() == 1
        )


def test_a_quiet_tick_says_why_it_skipped(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    first = tick(instance, site, None)
    quiet = tick(instance, site, first.cursor)
    assert quiet.run_requests == []
    assert quiet.skip_reason.skip_message == "no new games (newest listed: 3405); waiting on 3405"


def _games(first: int, count: int, players: int = 150) -> list:
    return [_game(i, players) for i in range(first, first + count)]


def test_an_outage_longer_than_the_list_is_recovered_by_probing_the_ids(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine, db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WOG_GAP_PROBES", "8")
    clock.now = dt.datetime(2026, 11, 28, tzinfo=dt.UTC).timestamp()  # the games are older
    cursor = tick(instance, site, None).cursor
    # 40 games are published while the daemon is down; the list shows only the newest 20,
    # and one id in the gap never existed (the site's error page).
    games = _games(3406, 40)
    site.publish(*games[:20], listed=False)
    site.publish(*games[20:])
    site.show_error_page(3410)
    site.unpublish(3410)
    ticks = []
    for _ in range(4):
        clock.now += 60
        result = tick(instance, site, cursor)
        ticks.append(result)
        cursor = result.cursor
    registered = set(instance.get_dynamic_partitions("replays"))
    assert {str(i) for i in range(3406, 3446)} - {"3410"} <= registered
    assert "3410" not in registered
    assert "gap" not in json.loads(cursor)  # recovery finished
    # The recovered games ended long ago (more than WOG_ANNOUNCE_MAX_AGE): loaded quietly.
    recovered_quietly = {
        str(i)
        for result in ticks
        for first, last in _quiet(result)
        for i in range(int(first), int(last) + 1)
    }
    assert {str(i) for i in range(3406, 3426)} - {"3410"} <= recovered_quietly
    announced = [
        key
        for result in ticks
        for key, run_key in _requested(result)
        if int(key) >= 3406 and run_key.endswith("-try-1")  # (unrun ones are retried later)
    ]
    assert announced[0] == "3445"  # the newest game runs first
    assert sorted(announced) == [str(i) for i in range(3426, 3446)]  # each once
    # The quiet run of recovered games loads them without announcing anything.
    assert run_replays(
        instance, [3406, 3407, 3408], site.url, db_url, tags={"wog/trigger": "quiet"}
    ).success
    with engine.connect() as conn:
        loaded = conn.exec_driver_sql("SELECT count(*) FROM games").scalar()
        pending = conn.exec_driver_sql(
            "SELECT count(*) FROM notifications WHERE status = 'pending'"
        ).scalar()
    assert loaded == 3 and pending == 0


def test_recovered_games_within_the_announce_age_are_announced(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOG_ANNOUNCE_MAX_AGE", str(100 * 365 * 86400))
    cursor = tick(instance, site, None).cursor
    games = _games(3406, 6)
    site.publish(*games[:3], listed=False)
    site.publish(*games[3:])
    site.unpublish(3405)  # the list's oldest game moves off the page too
    result = tick(instance, site, cursor)
    assert [key for key, _ in _requested(result)] == [str(i) for i in range(3411, 3405, -1)]


def test_a_redesigned_list_page_fails_the_tick_instead_of_finding_nothing(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock
) -> None:
    cursor = tick(instance, site, None).cursor
    redesign = b"<html><body><main><h1>Games</h1><p>coming soon</p></main></body></html>"
    site.fail(GAMES_LIST_PATH, Fault(status=200, body=redesign, times=-1))
    with pytest.raises(dg.Failure, match="no longer matches the parser"):
        tick(instance, site, cursor)


def _alerts(engine) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return [
            (key, payload["content"])
            for key, payload in conn.exec_driver_sql(
                "SELECT dedupe_key, payload FROM notifications WHERE kind = 'alert' ORDER BY id"
            )
        ]


def test_the_admin_is_told_once_when_the_site_stays_down_and_when_it_is_back(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WOG_DISCORD_ADMIN_CHANNEL_ID", "999")
    monkeypatch.setenv("WOG_SITE_DOWN_ALERT_S", "600")
    monkeypatch.setenv("WOG_LANGUAGE", "en")  # operator alerts speak the configured language
    cursor = tick(instance, site, None).cursor
    site.fail(GAMES_LIST_PATH, Fault(status=503, times=-1))
    for _ in range(4):  # 0, 5, 10, 15 minutes down
        result = tick(instance, site, cursor)
        assert "stats site unreachable" in result.skip_reason.skip_message
        cursor = result.cursor
        clock.now += 300
    site.fail(GAMES_LIST_PATH, Fault(status=200, times=0))
    site._faults.clear()
    tick(instance, site, cursor)
    alerts = _alerts(engine)
    assert [key.split(":")[0] for key, _ in alerts] == ["site-down", "site-up"]
    assert "unreachable for 10 min" in alerts[0][1] and "HTTP 503" in alerts[0][1]


def test_a_game_the_sensor_gives_up_on_alerts_the_admin(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WOG_DISCORD_ADMIN_CHANNEL_ID", "999")
    cursor = tick(instance, site, None).cursor
    clock.now += 25 * 3600  # never succeeded within the retry window
    tick(instance, site, cursor)
    ((key, text),) = _alerts(engine)
    assert key == "gave-up:3405" and "wog announce 3405" in text
    assert text.startswith("⚠️ Сенсор сдался на игре 3405 после")  # WOG_LANGUAGE's default, ru


def test_a_redesigned_list_page_alerts_once(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WOG_DISCORD_ADMIN_CHANNEL_ID", "999")
    cursor = tick(instance, site, None).cursor
    site.fail(GAMES_LIST_PATH, Fault(status=200, body=b"<html><body>new</body></html>", times=-1))
    for _ in range(3):
        with pytest.raises(dg.Failure):
            tick(instance, site, cursor)
    ((key, text),) = _alerts(engine)
    assert key.startswith("parser:list:") and "no links to /games/<id>/" in text


def _evaluate_failure_alert(
    instance: dg.DagsterInstance, run_id: str, db_url: str, times: int = 1
) -> None:
    """Evaluate the run-failure alert sensor on a failed run, as the daemon would."""
    alert_on_failed_game_runs = code_location("http://127.0.0.1:1", db_url).resolve_sensor_def(
        "alert_on_failed_game_runs"
    )
    failure = next(
        e
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE"
    )
    with dg.build_run_status_sensor_context(
        sensor_name="alert_on_failed_game_runs",
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        dagster_event=failure.dagster_event,
        resources={"warehouse": WarehouseResource(database_url=db_url)},
    ) as status_context:
        context = status_context.for_run_failure()
        for _ in range(times):
            alert_on_failed_game_runs(context)


def test_a_failed_new_game_run_alerts_the_admin_with_a_link(
    site: FakeSite, instance: dg.DagsterInstance, engine, db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("WOG_DISCORD_ADMIN_CHANNEL_ID", "999")
    monkeypatch.setenv("WOG_DAGSTER_UI_URL", "http://dagster.example:3000")
    site.fail(game_path(3403), Fault(status=200, body=b"<html><title>x</title></html>", times=-1))
    result = run_replays(instance, [3403], site.url, db_url,
                         tags={"wog/trigger": "new", "wog/replay": "3403"}, raise_on_error=False)  # fmt: skip
    assert not result.success
    _evaluate_failure_alert(instance, result.run_id, db_url, times=2)  # again: still one alert
    ((key, text),) = _alerts(engine)
    assert key == f"run-failed:{result.run_id}"
    assert text.startswith("❌ Запуск для игры 3403 завершился ошибкой: ")
    assert f"http://dagster.example:3000/runs/{result.run_id}" in text


def test_a_burst_of_new_games_is_one_run_and_a_late_one_does_not_hold_the_others(
    site: FakeSite, instance: dg.DagsterInstance, clock: Clock, engine, db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Three games appear between two ticks: one run announces them all (one start-up, not
    three). The middle one's JSON is late: the run fails for it alone — the other two are
    queued for Discord and leave the watch — and only it is retried, in a run of its own."""
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    first = tick(instance, site, None)
    site.publish(_game(3406, 150), _game(3407, 150), _game(3408, 150))
    site.json_appears_after(3407, 1)
    burst = tick(instance, site, first.cursor)
    announced = _requested(burst)
    assert [key for key, _ in announced] == ["3408", "3407", "3406"]
    assert {run_key for _, run_key in announced} == {"replays-3406-3408-try-1"}
    (request,) = [r for r in burst.run_requests if r.tags.get("wog/trigger") == "new"]
    tags = {**request.tags, "dagster/run_key": request.run_key}  # as the daemon tags it
    result = run_replays(instance, [3406, 3407, 3408], site.url, db_url, tags=tags,
                         raise_on_error=False)  # fmt: skip
    assert not result.success
    with engine.connect() as conn:
        pending = (
            conn.exec_driver_sql(
                "SELECT DISTINCT replay_id FROM notifications WHERE status = 'pending' ORDER BY 1"
            )
            .scalars()
            .all()
        )
    assert pending == [3406, 3408]

    clock.now += 61
    retry = tick(instance, site, burst.cursor)  # (3405, the first tick's game, never ran here)
    assert ("3407", "replay-3407-try-2") in _requested(retry)
    assert {key for key, _ in _requested(retry)} == {"3405", "3407"}
    assert set(json.loads(retry.cursor)["watch"]) == {"3405", "3407"}


@pytest.mark.parametrize("with_bad_page", [False, True], ids=["late JSON only", "and a bad page"])
def test_a_late_json_alone_does_not_alert_but_a_real_failure_beside_it_does(
    site: FakeSite, instance: dg.DagsterInstance, engine, db_url: str,
    monkeypatch: pytest.MonkeyPatch, with_bad_page: bool,
) -> None:  # fmt: skip
    """A new games' run failing only because a JSON is not published yet is the sensor's to
    retry, not the admin's to hear about; a game failing for another reason in the same run is."""
    monkeypatch.setenv("WOG_DISCORD_ADMIN_CHANNEL_ID", "999")
    site.publish(_game(3406, 150), _game(3407, 150))
    site.json_appears_after(3406, 1)
    if with_bad_page:
        site.fail(
            game_path(3407), Fault(status=200, body=b"<html><title>x</title></html>", times=-1)
        )
    tags = {"wog/trigger": "new", "wog/replay": "3406..3407",
            "dagster/asset_partition_range_start": "3406", "dagster/asset_partition_range_end": "3407"}  # fmt: skip
    result = run_replays(instance, [3406, 3407], site.url, db_url, tags=tags, raise_on_error=False)
    assert not result.success
    _evaluate_failure_alert(instance, result.run_id, db_url)
    alerts = _alerts(engine)
    assert len(alerts) == (1 if with_bad_page else 0), alerts
