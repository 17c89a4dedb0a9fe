"""The Dagster code location: ``dagster dev -m wog_assets.definitions`` (or workspace.yaml).

The definitions are built when Dagster loads the code location (``@dg.definitions``), from the
process's settings: nothing is read from the environment at import time.
"""

import dagster as dg

from wog_assets.defs.alerts import alert_on_failed_game_runs
from wog_assets.defs.assets import (
    INGEST_JOB,
    backfill_policy,
    build_warehouse_tables,
    game_page_html,
    replay_json,
)
from wog_assets.defs.ocap import build_recordings_asset, build_source_sensor, job_name
from wog_assets.defs.resources import default_resources
from wog_assets.defs.selection import shared_chain
from wog_assets.defs.sensors import build_new_replays_sensor
from wog_assets.defs.stats import CAREERS_JOB, build_careers_asset, build_period_definitions
from wog_core import settings as wog_settings
from wog_core.logs import install_log_redaction
from wog_core.settings import Settings


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for ``settings``: one chain every source shares (warehouse tables and
    checks, player directory, per-game statistics, notifications), each source's fetch step,
    job and sensor (the WOG site's, and one per OCAP source of ``WOG_SOURCES_FILE``), and the
    statistics over all of them."""
    batch = settings.pipeline.backfill_batch
    policy = backfill_policy(batch)
    site_raw = [a.with_attributes(backfill_policy=policy) for a in (game_page_html, replay_json)]
    source_raw = {s.name: build_recordings_asset(s, batch) for s in settings.sources}
    chain = [
        a.with_attributes(backfill_policy=policy)
        for a in (build_warehouse_tables([*site_raw, *source_raw.values()]), *shared_chain[1:])
    ]
    assets: list = [*site_raw, *source_raw.values(), *chain]
    jobs = [
        dg.define_asset_job(
            INGEST_JOB,
            selection=[*site_raw, *chain],
            description="Fetch, parse, store and announce WOG games (one partition per replay).",
        )
    ]
    sensors = [
        build_new_replays_sensor(settings.pipeline.sensor_interval_s, jobs[0]),
        alert_on_failed_game_runs,
    ]
    for source in settings.sources:
        job = dg.define_asset_job(
            job_name(source),
            selection=[source_raw[source.name], *chain],
            description=f"Fetch, decode, store and announce {source.name}'s OCAP2 games.",
        )
        jobs.append(job)
        sensors.append(build_source_sensor(source, job, settings))
    upstream = [dg.AssetKey("player_game_stats")]
    careers = build_careers_asset(upstream)
    assets.append(careers)
    jobs.append(
        dg.define_asset_job(
            CAREERS_JOB,
            selection=[careers],
            description="Bring careers and rivals up to date for the players whose games changed.",
        )
    )
    sensors.append(
        dg.AutomationConditionSensorDefinition(
            "stats_automation",
            target=[careers],
            default_status=dg.DefaultSensorStatus.RUNNING,
            minimum_interval_seconds=30,
            description="Rebuilds careers and rivals once new games' statistics have landed.",
        )
    )
    period_assets, period_jobs, period_triggers = build_period_definitions(upstream)
    assets += period_assets
    jobs += period_jobs
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=sensors + [t for t in period_triggers if isinstance(t, dg.SensorDefinition)],
        schedules=[t for t in period_triggers if isinstance(t, dg.ScheduleDefinition)],
        resources=default_resources(settings),
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    settings = wog_settings.current()
    install_log_redaction(settings.secrets)  # the code server's and each run's process
    return build_definitions(settings)
