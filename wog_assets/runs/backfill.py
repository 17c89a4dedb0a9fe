"""Backfills of replay id ranges and announcements of single games, as runs recorded in Dagster.

``run_backfill`` registers the ids as partitions and executes them in runs of at most
``batch`` partitions (the assets' ``BackfillPolicy.multi_run`` size), in this process, each run
recorded in the instance (so it shows in the UI with its logs and materializations). Runs carry
no ``wog/trigger`` tag: backfilled games are never announced. ``submit_backfill`` instead
records a backfill exactly as the UI's "Materialize" dialog does, for a running daemon.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
import sqlalchemy as sa

from dbschema.tables import SOURCE_BLOCK
from wog_assets.defs.core.partitions import REPLAYS, contiguous_batches
from wog_assets.defs.core.problems import Problems, recorded_in_run
from wog_assets.defs.core.processes import heal_dead_runs, process_tags
from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource
from wog_assets.defs.core.steps import SITE_POOL
from wog_assets.defs.core.tags import (
    BACKFILL_TAG,
    RANGE_END,
    RANGE_START,
    REPLAY_TAG,
    SOURCE_TAG,
    TRIGGER_TAG,
)
from wog_assets.defs.sources import ConfiguredSource
from wog_assets.defs.sources.wog import INGEST_JOB
from wog_assets.defs.stats.assets import (
    CAREERS_JOB,
    DIGEST_JOBS,
    LEADERBOARD_JOBS,
    key_of_period,
    stale_ranges,
)
from wog_assets.runs.recovery import wait_for_pool
from wog_core.logs import VERBOSE
from wog_sources.errors import ReplayNotFound
from wog_warehouse.replays import loaded_ids
from wog_warehouse.sources import replay_ids_for, source_of_replay

DEFAULT_WAIT_TIMEOUT_S = 600.0  # how long a backfill waits for the site pool before giving up


def quiet() -> dict:
    """Run config for in-process runs: runs still record every event in the instance (the UI
    shows them, tracebacks included); the terminal gets the command's own report instead —
    one line per rejected game and failed run — unless the command runs as ``wog -v``."""
    level = "DEBUG" if VERBOSE.get() else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


@dataclass
class BackfillReport:
    backfill_id: str
    partitions: int
    runs: list[str] = field(default_factory=list)
    failed_runs: list[tuple[str, str]] = field(default_factory=list)  # (range, error)
    missing: list[int] = field(default_factory=list)
    problems: Problems = field(default_factory=Problems)  # every replay rejected or repaired
    stats_runs: int = 0  # of ``runs``, those bringing the statistics up to date (the last ones)


def register_partitions(instance: dg.DagsterInstance, replay_ids: list[int]) -> list[str]:
    """Add the ids as ``replays`` partitions (ascending); returns all their keys."""
    keys = [str(i) for i in sorted(set(replay_ids))]
    known = set(instance.get_dynamic_partitions(REPLAYS))
    new = [k for k in keys if k not in known]
    if new:
        instance.add_dynamic_partitions(REPLAYS, new)
    return keys


def newest_registered_game(instance: dg.DagsterInstance) -> int | None:
    """The highest WOG replay id registered as a ``replays`` partition (OCAP sources' ids lie
    in higher blocks), or None."""
    keys = instance.get_dynamic_partitions(REPLAYS)
    return max((int(k) for k in keys if k.isdigit() and int(k) < SOURCE_BLOCK), default=None)


def plan_batches(instance: dg.DagsterInstance, keys: list[str], batch: int) -> list[list[str]]:
    """Split keys into ranges that are contiguous in the partitions' order, each <= batch.

    Dynamic partitions are ordered by registration, so a range must not span keys that are not
    part of this backfill (for example ids the sensor registered in between).
    """
    return contiguous_batches(instance.get_dynamic_partitions(REPLAYS), keys, batch)


def run_backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    first: int,
    last: int,
    *,
    batch: int,
    on_batch: Callable[[list[str], bool], None] | None = None,
    say: Callable[[str], None] = lambda _: None,
    wait_timeout_s: float = DEFAULT_WAIT_TIMEOUT_S,
    only: list[int] | None = None,
) -> BackfillReport:
    """Materialize replays ``first..last`` (or just the ids in ``only``) in batched ranged
    runs; returns what happened.

    Runs left behind by a ``wog`` process that died are healed first; before each batch it
    waits (saying for whom, up to ``wait_timeout_s``) until the site pool has a free slot.
    """
    # A backfill writes thousands of events from this one process: keep one pooled storage
    # connection instead of Dagster's default of a new connection per event (as the webserver
    # does); statement_timeout 0 = none.
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=2)
    keys = register_partitions(instance, only if only is not None else list(range(first, last + 1)))
    report = BackfillReport(
        backfill_id=f"wog-{first}-{last}-{uuid.uuid4().hex[:6]}", partitions=len(keys)
    )
    job = replay_job(defs)
    heal_dead_runs(instance, say)
    for keys_batch in plan_batches(instance, keys, batch):
        wait_for_pool(instance, SITE_POOL, timeout_s=wait_timeout_s, say=say)
        tags = {BACKFILL_TAG: report.backfill_id, **process_tags()}
        if len(keys_batch) == 1:
            result = job.execute_in_process(
                instance=instance,
                partition_key=keys_batch[0],
                tags=tags,
                raise_on_error=False,
                run_config=quiet(),
            )
        else:
            tags.update({RANGE_START: keys_batch[0], RANGE_END: keys_batch[-1]})
            result = job.execute_in_process(
                instance=instance,
                tags=tags,
                raise_on_error=False,
                run_config=quiet(),
            )
        report.runs.append(result.run_id)
        report.problems.merge(recorded_in_run(instance, result.run_id))
        if not result.success and "DagsterExecutionInterruptedError" in failure_text(result):
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM during the run: stop, do not go on
        if not result.success:
            report.failed_runs.append((f"{keys_batch[0]}..{keys_batch[-1]}", failure_text(result)))
        if on_batch:
            on_batch(keys_batch, result.success)
    refresh_stats(defs, instance, report)
    return report


def refresh_stats(
    defs: dg.Definitions, instance: dg.DagsterInstance, report: BackfillReport
) -> None:
    """Bring the statistics up to date after a backfill's batches: careers and rivals, then one
    ranged run per partition set for the weeks and months whose games changed. Periods a
    backfill completes are computed, never posted (only the digest schedules post)."""
    try:
        careers = defs.resolve_job_def(CAREERS_JOB)
    except Exception:  # definitions built without the stats group (tests of one asset set)
        return
    tags = {BACKFILL_TAG: report.backfill_id, **process_tags()}
    runs: list[tuple[dg.JobDefinition, dict[str, str], str]] = [(careers, {}, "statistics")]
    warehouse = (defs.resources or {}).get("warehouse")
    if isinstance(warehouse, WarehouseResource):  # resolved as a run resolves it
        with warehouse.process_config_and_initialize_cm() as resolved:
            for kind, (first, last, _) in stale_ranges(resolved.engine).items():
                runs.append((defs.resolve_job_def(LEADERBOARD_JOBS[kind]),
                             {RANGE_START: first, RANGE_END: last}, f"{kind} leaderboards"))  # fmt: skip
    for job, extra, what in runs:
        result = job.execute_in_process(
            instance=instance, tags={**tags, **extra}, raise_on_error=False, run_config=quiet()
        )
        report.runs.append(result.run_id)
        report.stats_runs += 1
        if not result.success:
            report.failed_runs.append((what, failure_text(result)))


def announce_digest(defs: dg.Definitions, instance: dg.DagsterInstance, period: str) -> str:
    """Queue ``period``'s digest (``2026-W48``: the week's tables; ``2026-11``: the month's
    nominations) again for every target — its tables first brought current; returns the run id."""
    kind, key = key_of_period(period)
    result = defs.resolve_job_def(DIGEST_JOBS[kind]).execute_in_process(
        instance=instance,
        partition_key=key,
        tags={TRIGGER_TAG: "announce", **process_tags()},
        raise_on_error=False,
        run_config=quiet(),
    )
    if not result.success:
        raise AnnounceFailed(f"digest {period} could not be announced: {failure_text(result)}")
    return result.run_id


def replay_job(defs: dg.Definitions) -> dg.JobDefinition:
    """The job materializing the WOG replay assets (``ingest_replays``; the implicit asset job
    of definitions built without it)."""
    try:
        return defs.resolve_job_def(INGEST_JOB)
    except Exception:
        return defs.resolve_implicit_global_asset_job_def()


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    """What made the run fail, as a user reads it (a Failure without its class path)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data and event.step_failure_data.error:
            message = event.step_failure_data.error.message.strip()
            return _CLASS_PREFIX.sub("", message, count=1)
    return "run failed"


# A step's dg.Failure is our own message for the user; its class path is noise (other errors keep
# their class: the backfill tells an interrupted run by it).
_CLASS_PREFIX = re.compile(r"^(?:[A-Za-z_]\w*\.)+Failure: ")


def submit_backfill(
    defs: dg.Definitions, instance: dg.DagsterInstance, first: int, last: int
) -> str:
    """Record a backfill for the daemon, as the UI does; returns its id."""
    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    keys = register_partitions(instance, list(range(first, last + 1)))
    backfill_id = make_new_backfill_id()
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=defs.resolve_asset_graph(),
        partition_names=keys,
        asset_selection=list(replay_job(defs).asset_layer.selected_asset_keys),
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"wog backfill {first}..{last}",
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill_id


def prune_missing_partitions(
    instance: dg.DagsterInstance, engine: sa.Engine, ids: list[int]
) -> None:
    """Drop the partitions of ids the site does not have and the warehouse never loaded.

    A ranged run marks every partition of its range as materialized (with the missing ids in
    its metadata); removing them keeps the UI's partition view honest.
    """
    loaded = loaded_ids(engine, ids)
    for rid in ids:
        if rid not in loaded:
            instance.delete_dynamic_partition(REPLAYS, str(rid))


class AnnounceFailed(RuntimeError):
    """The game could not be loaded or its message not queued; the message says why."""


def announce(
    defs: dg.Definitions, instance: dg.DagsterInstance, engine: sa.Engine, replay_id: int
) -> str:
    """Queue ``replay_id``'s Discord message for posting; returns the run id.

    Runs only the ``notifications`` asset when the game is already in the warehouse, else every
    replay asset (fetching it first). The run is tagged ``wog/trigger=announce``.
    """
    origin = source_of_replay(engine, replay_id)
    if origin is not None:  # a game of an OCAP source: its own job, partition and targets
        return _announce_source_game(defs, instance, replay_id, *origin)
    selection = [dg.AssetKey("notifications")] if loaded_ids(engine, [replay_id]) else None
    if selection is None:
        _check_on_the_site(defs, replay_id)
    register_partitions(instance, [replay_id])
    heal_dead_runs(instance)
    if selection is None:
        wait_for_pool(instance, SITE_POOL, timeout_s=DEFAULT_WAIT_TIMEOUT_S)
    result = replay_job(defs).execute_in_process(
        instance=instance,
        partition_key=str(replay_id),
        asset_selection=selection,
        tags={TRIGGER_TAG: "announce", REPLAY_TAG: str(replay_id), **process_tags()},
        raise_on_error=False,
        run_config=quiet(),
    )
    if not result.success:
        raise AnnounceFailed(f"replay {replay_id} could not be announced: {failure_text(result)}")
    return result.run_id


def _check_on_the_site(defs: dg.Definitions, replay_id: int) -> None:
    """Refuse, before any partition or run exists, a game the stats site does not have."""
    site = (defs.resources or {}).get("site")
    if not isinstance(site, StatsSiteResource):
        return
    site = site.process_config_and_initialize()  # its settings as a run would resolve them
    with site.client(max_retries=1) as client:
        try:
            client.fetch_game_page(replay_id)
        except ReplayNotFound as exc:
            raise AnnounceFailed(f"{exc}; nothing was run or registered") from None


def _announce_source_game(
    defs: dg.Definitions, instance: dg.DagsterInstance, replay_id: int, source: str, key: str
) -> str:
    register_partitions(instance, [replay_id])
    result = source_job(defs, source).execute_in_process(
        instance=instance,
        partition_key=str(replay_id),
        asset_selection=[dg.AssetKey("notifications")],
        tags={TRIGGER_TAG: "announce", REPLAY_TAG: f"{source}/{key}", **process_tags()},
        raise_on_error=False,
        run_config=quiet(),
    )
    if not result.success:
        raise AnnounceFailed(f"replay {replay_id} could not be announced: {failure_text(result)}")
    return result.run_id


def run_source_backfill(
    defs: dg.Definitions,
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    configured: ConfiguredSource,
    *,
    batch: int,
    keys: list[str] | None = None,
    say: Callable[[str], None] = lambda _: None,
) -> BackfillReport:
    """Load a source's games (every one it lists, or ``keys``) in batched runs of its job;
    nothing is announced. Returns what happened."""
    source, name = configured.source, configured.name
    if keys is None:
        if configured.plugin.list_keys is None:
            raise KeyError(f"source {name!r} is loaded by id range (wog backfill FIRST LAST)")
        keys = configured.plugin.list_keys(source)
    keys = list(dict.fromkeys(keys))
    ids = replay_ids_for(engine, source.name, source.kind, source.location, keys)
    rids = sorted(ids.values())
    register_partitions(instance, rids)
    report = BackfillReport(backfill_id=f"wog-{name}-{uuid.uuid4().hex[:6]}", partitions=len(keys))
    job = source_job(defs, name)
    heal_dead_runs(instance, say)
    order = instance.get_dynamic_partitions(REPLAYS)
    for keys_batch in contiguous_batches(order, [str(r) for r in rids], batch):
        tags = {BACKFILL_TAG: report.backfill_id, **process_tags()}
        if len(keys_batch) == 1:
            result = job.execute_in_process(
                instance=instance,
                tags=tags,
                raise_on_error=False,
                run_config=quiet(),
                partition_key=keys_batch[0],
            )
        else:
            tags.update({RANGE_START: keys_batch[0], RANGE_END: keys_batch[-1]})
            result = job.execute_in_process(
                instance=instance, tags=tags, raise_on_error=False, run_config=quiet()
            )
        report.runs.append(result.run_id)
        report.problems.merge(recorded_in_run(instance, result.run_id))
        if not result.success:
            report.failed_runs.append((f"{keys_batch[0]}..{keys_batch[-1]}", failure_text(result)))
        say(f"{name}: {keys_batch[0]}..{keys_batch[-1]} {'ok' if result.success else 'FAILED'}")
    refresh_stats(defs, instance, report)
    return report


def source_job(defs: dg.Definitions, name: str) -> dg.JobDefinition:
    """The job of source ``name`` (the one its plug-in tagged with it)."""
    for job in defs.resolve_all_job_defs():
        if job.tags.get(SOURCE_TAG) == name:
            return job
    raise KeyError(f"source {name!r} is not in WOG_SOURCES_FILE")
