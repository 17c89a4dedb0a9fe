"""Leaderboards and digests in the pipeline: stale periods brought current by their sensor or a
backfill, and digests queued exactly once per period and target — only by their schedule —
then posted to the fake Discord."""

from __future__ import annotations

import asyncio
import datetime as dt

import dagster as dg
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.wog_bot.conftest import bot_settings
from tests.wog_bot.conftest import discord as discord  # the fixture
from tests.wog_warehouse.test_stats import HISTORY
from wog_assets.definitions import build_definitions
from wog_assets.defs.core.tags import RANGE_END, RANGE_START
from wog_assets.defs.stats.assets import stale_ranges
from wog_assets.defs.stats.digests import completed_period
from wog_assets.runs.backfill import BackfillReport, refresh_stats
from wog_bot.app import run_once
from wog_core import settings as wog_settings
from wog_core.clock import SITE_TIMEZONE as MOSCOW
from wog_fakes.discord import FakeDiscord
from wog_warehouse.replays import refresh_player_directory, write_replay
from wog_warehouse.stats import refresh_game_stats, stale_periods


def _digests(engine: sa.Engine) -> list[tuple]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT dedupe_key, target, status, attempts FROM notifications "
                    "WHERE kind = 'digest' ORDER BY dedupe_key, target"
                )
            )
        ]


@pytest.fixture
def history(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    monkeypatch.setenv("WOG_STATS_MIN_GAMES", "2")
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111,222")
    for replay in HISTORY:
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
    refresh_player_directory(engine, [r.replay_id for r in HISTORY])
    refresh_game_stats(engine, [r.replay_id for r in HISTORY])
    return engine


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, name: str, when: dt.datetime):
    schedule = defs.resolve_schedule_def(name)
    context = dg.build_schedule_context(
        instance=instance, scheduled_execution_time=when, repository_def=defs.get_repository_def()
    )
    (request,) = schedule.evaluate_tick(context).run_requests
    return request


def test_stale_periods_are_refreshed_and_digests_queued_once_by_the_schedule(
    history: sa.Engine, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
) -> None:
    defs = build_definitions(wog_settings.current())

    # The stale weeks and months become two ranged runs (the sensor's requests).
    ranges = stale_ranges(history)
    assert {k: v[:2] for k, v in ranges.items()} == {
        "weekly": ("2026-03-02", "2026-04-06"),
        "monthly": ("2026-03", "2026-04"),
    }
    sensor = defs.resolve_sensor_def("stale_leaderboards")
    with dg.build_sensor_context(
        instance=instance, resources=defs.resources, repository_def=defs.get_repository_def()
    ) as context:
        requests = list(sensor(context))
    assert sorted((r.job_name, r.tags[RANGE_START], r.tags[RANGE_END]) for r in requests) == [
        ("refresh_monthly_leaderboards", "2026-03", "2026-04"),
        ("refresh_weekly_leaderboards", "2026-03-02", "2026-04-06"),
    ]
    # What a backfill does after its batches: careers, then those ranged runs, in process.
    report = BackfillReport(backfill_id="test", partitions=0)
    refresh_stats(defs, instance, report)
    assert report.failed_runs == [] and len(report.runs) == 3
    assert stale_periods(history) == [] and stale_ranges(history) == {}
    assert _digests(history) == []  # periods a backfill completes are never posted

    # Monday 2026-03-09, noon in Moscow: the schedule asks for week 10's digest.
    monday = dt.datetime(2026, 3, 9, 12, 0, tzinfo=MOSCOW)
    assert completed_period("weekly", monday) == "2026-W10"
    request = _tick(defs, instance, "weekly_digest_schedule", monday)
    assert (request.run_key, request.partition_key) == ("2026-W10", "2026-03-02")
    job = defs.resolve_job_def("weekly_digest_job")
    for _ in range(2):  # a tick run twice (or a restart) queues nothing more
        result = job.execute_in_process(
            instance=instance, partition_key=request.partition_key, tags=request.tags
        )
        assert result.success
    assert _digests(history) == [
        ("digest:wog:2026-W10", "channel:111", "pending", 0),
        ("digest:wog:2026-W10", "channel:222", "pending", 0),
    ]
    # Materializing the period from the UI (no trigger) builds it but never queues it.
    assert job.execute_in_process(instance=instance, partition_key="2026-04-06").success
    assert len(_digests(history)) == 2

    # The 1st of April with monthly digests turned off: recorded suppressed, never posted.
    monkeypatch.setenv("WOG_DIGESTS", "weekly")
    defs = build_definitions(wog_settings.current())
    first = dt.datetime(2026, 4, 1, 12, 0, tzinfo=MOSCOW)
    request = _tick(defs, instance, "monthly_digest_schedule", first)
    assert (request.run_key, request.partition_key) == ("2026-03", "2026-03")
    result = defs.resolve_job_def("monthly_digest_job").execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    )
    assert result.success
    assert [d[2] for d in _digests(history) if d[0] == "digest:wog:2026-03"] == [
        "suppressed",
        "suppressed",
    ]


def test_digests_reach_discord_once_and_can_be_posted_again(
    history: sa.Engine,
    instance: dg.DagsterInstance,
    discord: FakeDiscord,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    defs = build_definitions(wog_settings.current())
    refresh_stats(defs, instance, BackfillReport(backfill_id="t", partitions=0))
    monday = dt.datetime(2026, 3, 9, 12, 0, tzinfo=MOSCOW)
    request = _tick(defs, instance, "weekly_digest_schedule", monday)
    job = defs.resolve_job_def("weekly_digest_job")
    assert job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    ).success

    settings = bot_settings(discord)
    assert asyncio.run(run_once(settings)) == 2
    assert asyncio.run(run_once(settings)) == 0  # the bot restarting posts nothing again
    # A second tick after delivery (a restarted daemon) leaves the sent rows alone.
    assert job.execute_in_process(
        instance=instance, partition_key=request.partition_key, tags=request.tags
    ).success
    assert asyncio.run(run_once(settings)) == 0
    for channel in (111, 222):
        (message,) = discord.channel_messages(channel)
        assert message["content"].startswith(
            "📊 Итоги недели: неделя 2026-W10 (02.03 – 08.03.2026)"
        )
        assert "Игр: 2." in message["content"]
        (embed,) = message["embeds"]
        fields = {f["name"]: f["value"] for f in embed["fields"]}
        assert fields["🔫 Убийства"] == "1. Alpha — 2\n1. Charlie — 2\n2. Bravo — 0\n2. Delta — 0"
        assert fields["🛡 Живучесть"].startswith("1. Bravo — 50%\n1. Charlie — 50%")
        assert fields["🤦 Позорный список тимкиллеров"] == "1. Bravo — 1"
        assert fields["🎯 Самые дальние убийства"] == "1. Alpha — 300 м\n2. Charlie — 60 м"
        assert fields["🎖 Лучшие командиры"].startswith("1. Alpha — 1 из 1\n1. Charlie — 1 из 2")
        assert embed["image"]["url"] == "attachment://battle.png"
        assert message["_files"]["battle.png"] > 5_000
        assert message["allowed_mentions"] == {"parse": []}
    assert {d[2] for d in _digests(history)} == {"sent"}

    # wog announce --digest posts it again (the admin asked).
    monkeypatch.setenv("DAGSTER_HOME", instance.root_directory)
    from wog_cli import main

    out = CliRunner().invoke(main, ["announce", "--digest", "2026-W10"])
    assert out.exit_code == 0, out.output
    assert "digest 2026-W10 queued for channel:111, channel:222" in out.output
    queued = _digests(history)  # the first posts are kept as history under their row id
    assert [(d[0].split("#")[0], d[2]) for d in queued] == [
        ("digest:wog:2026-W10", "pending"), ("digest:wog:2026-W10", "pending"),
        ("digest:wog:2026-W10", "sent"), ("digest:wog:2026-W10", "sent"),
    ]  # fmt: skip
    assert asyncio.run(run_once(settings)) == 2
    assert len(discord.channel_messages(111)) == 2
    bad = CliRunner().invoke(main, ["announce", "--digest", "week 10"])
    assert bad.exit_code == 2 and "ISO week" in bad.output


def test_digest_settings_name_what_is_wrong() -> None:
    from wog_core.settings import Settings, SettingsError

    assert Settings.from_env({}).pipeline.digests == {"weekly", "monthly"}
    assert Settings.from_env({"WOG_DIGESTS": "none"}).pipeline.digests == set()
    assert Settings.from_env({"WOG_DIGESTS": " Monthly "}).pipeline.digests == {"monthly"}
    with pytest.raises(SettingsError, match="WOG_DIGESTS: unknown digest daily"):
        Settings.from_env({"WOG_DIGESTS": "weekly,daily"})
    assert completed_period("weekly", dt.datetime(2026, 11, 30, 0, 30, tzinfo=MOSCOW)) == "2026-W48"
    assert completed_period("monthly", dt.datetime(2026, 1, 1, 12, tzinfo=MOSCOW)) == "2025-12"
    # Sunday 23:00 UTC is already Monday in Moscow: the week before is complete.
    assert completed_period("weekly", dt.datetime(2026, 11, 29, 23, 0, tzinfo=dt.UTC)) == "2026-W48"
