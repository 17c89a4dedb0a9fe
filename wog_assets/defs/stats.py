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
  :mod:`wog_assets.digests`.

The SQL and the definitions live in :mod:`wog_warehouse.stats`.
"""

import datetime as dt
from typing import TYPE_CHECKING

import dagster as dg
import sqlalchemy as sa

from wog_assets import digests
from wog_assets.defs.assets import PARTITIONED, passing_ids
from wog_assets.defs.problems import Problems, finish_step
from wog_assets.defs.resources import PipelineResource, WarehouseResource
from wog_assets.tags import TRIGGER_TAG
from wog_core.clock import SITE_TIMEZONE_NAME, week_of
from wog_report.catalogue import Catalogue
from wog_warehouse.stats import (
    refresh_careers,
    refresh_game_stats,
    refresh_leaderboards,
    stale_marks,
)

if TYPE_CHECKING:  # what define_asset_job returns; not exported by dagster itself
    from dagster._core.definitions.unresolved_asset_job_definition import (
        UnresolvedAssetJobDefinition,
    )

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


@dg.asset(
    **PARTITIONED,
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


def build_careers_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
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
    def careers(warehouse: WarehouseResource, pipeline: PipelineResource):  # type: ignore[no-untyped-def]
        min_games = pipeline.settings.pipeline.stats_min_games
        counts = refresh_careers(warehouse.engine, min_games=min_games)
        return dg.MaterializeResult(
            metadata={"dagster/row_count": counts["careers"], "min_games": min_games},
        )

    return careers


def _leaderboards(kind: str, upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
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
    def leaderboards(  # type: ignore[no-untyped-def]
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, pipeline: PipelineResource
    ):
        periods = [period_of_key(kind, key) for key in context.partition_keys]
        min_games = pipeline.settings.pipeline.stats_min_games
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


def _digest(kind: str) -> dg.AssetsDefinition:
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
    def digest(  # type: ignore[no-untyped-def]
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, pipeline: PipelineResource
    ):
        current = pipeline.settings
        trigger = context.run.tags.get(TRIGGER_TAG)
        sources = [
            (name, list(source.policy.targets), source.policy.language)
            for name, source in pipeline.sources().items()
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
                    min_games=current.pipeline.stats_min_games,
                )
                games[f"{source}:{period}"] = built.games
                if trigger not in ("schedule", "announce") or not targets:
                    continue
                if trigger == "schedule" and built.games == 0:
                    continue  # nothing was played: nothing to say
                if trigger == "announce":
                    mode = digests.REPOST
                else:
                    mode = digests.SCHEDULED if kind in current.pipeline.digests else digests.OFF
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


def build_period_definitions(
    upstream: list[dg.AssetKey],
) -> tuple[list[dg.AssetsDefinition], list, list]:
    """The period assets, their jobs, the stale_leaderboards sensor and the digest schedules."""
    assets, jobs, triggers, board_jobs = [], [], [], []
    for kind in PERIODS:
        boards, digest = _leaderboards(kind, upstream), _digest(kind)
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
        triggers.append(_schedule(kind, jobs[-1]))
    triggers.append(_stale_sensor(board_jobs))
    return assets, jobs, triggers


CRON = {"weekly": "0 12 * * 1", "monthly": "0 12 1 * *"}  # noon, Moscow


def _schedule(kind: str, job: "UnresolvedAssetJobDefinition") -> dg.ScheduleDefinition:
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


def _stale_sensor(jobs: "list[UnresolvedAssetJobDefinition]") -> dg.SensorDefinition:
    from wog_assets.tags import RANGE_END, RANGE_START

    @dg.sensor(
        name="stale_leaderboards",
        jobs=jobs,
        description="Asks for one ranged run per partition set covering the weeks and months "
        "whose games changed (stats_stale), so their tables are current within a minute.",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def sensor(context: dg.SensorEvaluationContext, warehouse: WarehouseResource):  # type: ignore[no-untyped-def]
        for kind, (first, last, marked) in stale_ranges(warehouse.engine).items():
            yield dg.RunRequest(
                run_key=f"{kind}:{first}..{last}@{marked}",
                job_name=LEADERBOARD_JOBS[kind],
                tags={RANGE_START: first, RANGE_END: last},
            )

    return sensor
