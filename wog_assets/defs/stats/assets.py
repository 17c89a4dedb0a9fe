"""The ``stats`` asset group: career statistics kept current as games land.

- ``player_game_stats`` (replay-partitioned) is part of every replay run — sensor, backfill,
  announce — right after the warehouse tables: one row per player per game.
- ``player_careers`` and ``rivals`` (not partitioned) are redone set-wise for the players whose
  games changed (marked stale with the per-game rows) by **declarative automation**:
  ``AutomationCondition.eager()`` asks for a run whenever an upstream partition (a new game, a
  re-parse, an OCAP source's games) was materialized, evaluated by the ``stats_automation``
  sensor. ``wog backfill`` runs them itself after its batches, so the statistics are current
  when it returns.
- ``weekly_leaderboards`` and ``monthly_leaderboards`` are partitioned by calendar week (Monday
  to Sunday) and month, Moscow time; the current week and month are partitions too. Writing a
  game's per-game rows marks its week and month stale; the ``stale_leaderboards`` sensor asks
  for one ranged run per partition set covering what is stale (a new game: its week and month).
- ``weekly_digest`` and ``monthly_digest`` (group ``discord``) build each period's message; only
  the Monday / 1st schedules (and ``wog announce --digest``) queue it, see
  :mod:`wog_assets.defs.stats.digests`.

The SQL and the definitions live in :mod:`wog_warehouse.stats`.
"""

import datetime as dt
from collections.abc import Iterator

import dagster as dg
import sqlalchemy as sa

# What define_asset_job returns (dagster does not export its name).
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from wog_assets.defs.core.partitions import replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.steps import backfill_policy, passing_ids
from wog_assets.defs.core.tags import RANGE_END, RANGE_START, TRIGGER_TAG
from wog_assets.defs.stats import digests
from wog_core.clock import SITE_TIMEZONE_NAME, week_of
from wog_report.catalogue import Catalogue
from wog_warehouse.stats import (
    refresh_careers,
    refresh_game_stats,
    refresh_leaderboards,
    stale_marks,
)

KEYS = ("player_game_stats",)
"""The statistics' replay step, part of the chain every source's job runs."""
CAREERS_JOB = "refresh_careers"
LEADERBOARD_JOBS = {"weekly": "refresh_weekly_leaderboards",
                    "monthly": "refresh_monthly_leaderboards"}  # fmt: skip
DIGEST_JOBS = {"weekly": "weekly_digest_job", "monthly": "monthly_digest_job"}
PERIODS = {
    "weekly": dg.WeeklyPartitionsDefinition(
        start_date="2015-01-05", timezone=SITE_TIMEZONE_NAME, day_offset=1, end_offset=1
    ),
    "monthly": dg.MonthlyPartitionsDefinition(
        start_date="2015-01", timezone=SITE_TIMEZONE_NAME, fmt="%Y-%m", end_offset=1
    ),
}


def period_of_key(kind: str, key: str) -> str:
    """The period a partition key means: ``2026-03-02`` (a Monday) → ``2026-W10``; months are
    their own keys (``2026-03``)."""
    return week_of(dt.date.fromisoformat(key)) if kind == "weekly" else key


def key_of_period(period: str) -> tuple[str, str]:
    """(kind, partition key) of ``2026-W10`` or ``2026-03``."""
    kind = digests.kind_of(period)
    if kind == "weekly":
        year, week = period.split("-W")
        return kind, dt.date.fromisocalendar(int(year), int(week), 1).isoformat()
    return kind, period


def build_game_stats(batch: int) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(batch),
        deps=["games", "players", "frags"],
        group_name="stats",
        kinds={"postgres"},
        description="One row per player per game: side, kills, teamkills, suicides, deaths, "
        "survival, longest kill, kills from a vehicle, weapons, command (player_game_stats).",
    )
    def player_game_stats(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        rows = refresh_game_stats(warehouse.engine, passing_ids(context, warehouse.engine))
        finish_step(context, Problems(), "computing per-game statistics")
        return dg.MaterializeResult(metadata={"dagster/row_count": rows})

    return player_game_stats


def build_careers_asset(upstream: list[dg.AssetKey], min_games: int) -> dg.AssetsDefinition:
    """Careers of the stale players, redone whenever any of ``upstream`` is materialized.
    (Rivals are read from the frags when asked, so no step keeps them.)"""

    @dg.asset(
        name="player_careers",
        deps=upstream,
        group_name="stats",
        kinds={"postgres"},
        automation_condition=dg.AutomationCondition.eager(),
        description="Each player's record over all their games: K/D, vitality, score "
        "(shrunk toward the community mean), favourites, command (player_careers).",
    )
    def careers(warehouse: WarehouseResource) -> dg.MaterializeResult:
        counts = refresh_careers(warehouse.engine, min_games=min_games)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": counts["careers"], "min_games": min_games},
        )

    return careers


def _leaderboards(kind: str, upstream: list[dg.AssetKey], min_games: int) -> dg.AssetsDefinition:
    name = f"{kind}_leaderboards"

    @dg.asset(
        name=name,
        partitions_def=PERIODS[kind],
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[dg.AssetDep(key, partition_mapping=dg.AllPartitionMapping()) for key in upstream],
        group_name="stats",
        kinds={"postgres"},
        description=f"Each {'week' if kind == 'weekly' else 'month'}'s tables (score, kills, "
        "deaths, teamkills, vitality, longest kill, commanders) and nominations (leaderboards, "
        "nominations). Kept current by the stale_leaderboards sensor.",
    )
    def leaderboards(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        periods = [period_of_key(kind, key) for key in context.partition_keys]
        counts = refresh_leaderboards(warehouse.engine, periods, min_games=min_games)
        return dg.MaterializeResult(
            metadata={
                "periods": f"{periods[0]} … {periods[-1]}" if len(periods) > 1 else periods[0],
                "dagster/row_count": counts["leaderboards"],
                "nominations": counts["nominations"],
                "min_games": min_games,
            }
        )

    return leaderboards


def _digest(kind: str, pipeline: Pipeline) -> dg.AssetsDefinition:
    @dg.asset(
        name=f"{kind}_digest",
        partitions_def=PERIODS[kind],
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[f"{kind}_leaderboards"],
        group_name="discord",
        kinds={"postgres", "discord"},
        description="The weekly tables (posted on Mondays)"
        if kind == "weekly"
        else "The month's nominations (posted on the 1st)"
        + "; queued only by its schedule or `wog announce --digest`, once per target.",
    )
    def digest(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        knobs = pipeline.knobs
        trigger = context.run.tags.get(TRIGGER_TAG)
        sources = [
            (name, list(source.policy.targets), source.policy.language)
            for name, source in pipeline.sources.items()
        ]
        queued: dict[str, dict[str, str]] = {}
        games: dict[str, int] = {}
        periods = [period_of_key(kind, key) for key in context.partition_keys]
        for period in periods:
            for source, targets, language in sources:
                built = digests.prepare(
                    warehouse.engine,
                    period,
                    source,
                    Catalogue(language),
                    min_games=knobs.stats_min_games,
                )
                games[f"{source}:{period}"] = built.games
                if trigger not in ("schedule", "announce") or not targets:
                    continue
                if trigger == "schedule" and built.games == 0:
                    continue  # nothing was played: nothing to say
                if trigger == "announce":
                    mode = digests.REPOST
                else:
                    mode = digests.SCHEDULED if kind in knobs.digests else digests.OFF
                queued[f"{source}:{period}"] = digests.queue(warehouse.engine, built, targets, mode)
        if trigger not in ("schedule", "announce"):
            context.log.info(
                f"{', '.join(periods)}: built, not queued — only the {kind} schedule or "
                f"`wog announce --digest PERIOD` queue a digest"
            )
        return dg.MaterializeResult(
            metadata={
                "games": dg.MetadataValue.json(games),
                "queued": dg.MetadataValue.json(queued),
                "trigger": trigger or "none",
            }
        )

    return digest


def build_defs(pipeline: Pipeline) -> dg.Definitions:
    """The statistics: the per-game step of the chain, careers kept current by automation, the
    period tables with their jobs and sensor, the digests with their schedules."""
    min_games = pipeline.knobs.stats_min_games
    game_stats = build_game_stats(pipeline.knobs.backfill_batch)
    upstream = [game_stats.key]
    careers = build_careers_asset(upstream, min_games)
    assets: list[dg.AssetsDefinition] = [game_stats, careers]
    jobs: list[UnresolvedAssetJobDefinition] = [
        dg.define_asset_job(
            CAREERS_JOB,
            selection=[careers],
            description="Bring careers and rivals up to date for the players whose games changed.",
        )
    ]
    sensors: list[dg.SensorDefinition] = [
        dg.AutomationConditionSensorDefinition(
            "stats_automation",
            target=[careers],
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=30,
            description="Rebuilds careers and rivals once new games' statistics have landed.",
        )
    ]
    schedules: list[dg.ScheduleDefinition] = []
    board_jobs: list[UnresolvedAssetJobDefinition] = []
    for kind in PERIODS:
        boards, digest = _leaderboards(kind, upstream, min_games), _digest(kind, pipeline)
        assets += [boards, digest]
        board_jobs.append(
            dg.define_asset_job(
                LEADERBOARD_JOBS[kind],
                selection=[boards],
                description=f"Rebuild {kind} leaderboards and nominations for a range of periods.",
            )
        )
        jobs.append(board_jobs[-1])
        jobs.append(
            dg.define_asset_job(
                DIGEST_JOBS[kind],
                selection=[boards, digest],
                description=f"The {kind} digest: the period's tables, then its message.",
            )
        )
        schedules.append(_schedule(kind, jobs[-1]))
    sensors.append(_stale_sensor(board_jobs))
    return dg.Definitions(assets=assets, jobs=jobs, sensors=sensors, schedules=schedules)


CRON = {"weekly": "0 12 * * 1", "monthly": "0 12 1 * *"}  # noon, Moscow


def _schedule(kind: str, job: UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=f"{kind}_digest_schedule",
        cron_schedule=CRON[kind],
        execution_timezone=SITE_TIMEZONE_NAME,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Mondays at noon (Moscow): last week's tables"
        if kind == "weekly"
        else "The 1st at noon (Moscow): last month's nominations",
    )
    def schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        period = digests.completed_period(kind, context.scheduled_execution_time)
        return dg.RunRequest(
            run_key=period,
            partition_key=key_of_period(period)[1],
            tags={TRIGGER_TAG: "schedule"},
        )

    return schedule


def stale_ranges(engine: sa.Engine) -> dict[str, tuple[str, str, str]]:
    """For each kind with stale periods: (first key, last key, marked) — the ranged run that
    brings them current, clamped to the partitions (``marked`` identifies this state)."""
    rows = stale_marks(engine)
    now = dt.datetime.now(dt.UTC)
    found: dict[str, tuple[str, str, str]] = {}
    for kind, definition in PERIODS.items():
        keys = definition.get_partition_keys(current_time=now)
        stale = [(key_of_period(p)[1], m) for p, m in rows if digests.kind_of(p) == kind]
        stale = [(k, m) for k, m in stale if keys[0] <= k <= keys[-1]]
        if stale:
            first, last = min(k for k, _ in stale), max(k for k, _ in stale)
            marked = max(m for _, m in stale).isoformat()
            found[kind] = (first, last, marked)
    return found


def _stale_sensor(jobs: list[UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    @dg.sensor(
        name="stale_leaderboards",
        jobs=jobs,
        description="Asks for one ranged run per partition set covering the weeks and months "
        "whose games changed (stats_stale), so their tables are current within a minute.",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sensor(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> Iterator[dg.RunRequest]:
        for kind, (first, last, marked) in stale_ranges(warehouse.engine).items():
            yield dg.RunRequest(
                run_key=f"{kind}:{first}..{last}@{marked}",
                job_name=LEADERBOARD_JOBS[kind],
                tags={RANGE_START: first, RANGE_END: last},
            )

    return sensor
