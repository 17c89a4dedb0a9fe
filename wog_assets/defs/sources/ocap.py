"""An OCAP2 community's fetch step, job and sensor; everything after fetching is the chain every
source shares (:mod:`wog_assets.defs.warehouse` onward).

One set per source of ``WOG_SOURCES_FILE``, named after it (``sg`` below):

- ``sg/recordings`` (raw), on the ``replays`` partitions like every replay asset (the keys are
  warehouse ids: an OCAP game's id is its operation id inside the source's block, or the next
  number for a file): the listing entry (``raw_game_pages``, as JSON) and the recording as
  fetched (``raw_replay_json``, zstd);
- job ``ingest_sg``: ``sg/recordings`` then the shared chain (warehouse tables and checks,
  player directory, per-game statistics, notifications);
- sensor ``new_replays_sg``: its first tick remembers what the source already lists (history is
  loaded with ``wog backfill --source sg``, never announced); later ticks run each new
  recording, tagged as a new game (announced if it has the source's ``min_players``).

Every replay is handled on its own, as for WOG: a bad recording is named with its reason and
the others go on (:mod:`wog_assets.defs.core.problems`).
"""

import json
from collections.abc import Sequence

import dagster as dg
import msgspec
import sqlalchemy as sa
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from dbschema import tables as t
from wog_assets.defs.core.partitions import REPLAYS, replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.steps import backfill_policy, database_error, is_new_game_run, replay_ids
from wog_assets.defs.core.tags import REPLAY_TAG, SOURCE_TAG, TRIGGER_TAG
from wog_assets.defs.sources.plugin import SourcePlugin
from wog_core.models import Fetched
from wog_core.settings import Settings, SourceConfig
from wog_sources.base import ReplaySource
from wog_sources.errors import ReplayNotFound, ReplayParseError, SourceError
from wog_sources.ocap_sources import OcapReplaySource, Operation
from wog_sources.registry import ocap_source
from wog_warehouse.raw import record_miss, store_game_page, store_replay_json, stored_raw_ids
from wog_warehouse.sources import replay_ids_for, sources_of


def job_name(source: ReplaySource) -> str:
    return f"ingest_{source.name}"


def keys_to_ids(engine: sa.Engine, source: OcapReplaySource, keys: Sequence[str]) -> dict[str, int]:
    """The warehouse ids (partition keys) of the source's own ids, allocated the first time."""
    return replay_ids_for(engine, source.name, source.kind, source.location, list(keys))


def build_recordings_asset(src: OcapReplaySource, batch: int) -> dg.AssetsDefinition:
    """``<name>/recordings``: the source's fetch step."""
    name = src.name

    @dg.asset(
        name="recordings",
        key_prefix=[name],
        group_name="raw",
        kinds={"postgres", "json"},
        description=f"Each OCAP2 recording of {name} ({src.location}) exactly as fetched, "
        "with its listing entry (raw_replay_json, raw_game_pages).",
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(batch),
    )
    def recordings(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        engine = warehouse.engine
        ids = replay_ids(context)
        origins = sources_of(engine, ids)
        own = {rid: key for rid, (origin, key) in origins.items() if origin == name}
        others = sorted(set(ids) - set(own))
        if others:
            context.log.warning(f"{name}: not its games, left alone: {others[:20]}")
        stored = stored_raw_ids(engine, t.raw_replay_json, list(own))
        todo = {rid: key for rid, key in own.items() if rid not in stored}
        problems = Problems()
        fetched = 0
        missing: list[int] = []
        if todo:
            with src.open() as client:
                try:
                    listed = {op.id: op for op in client.list_operations()}
                except SourceError as exc:
                    raise dg.Failure(f"{name}: the recordings list: {exc}") from None
                for rid, key in sorted(todo.items()):
                    op = listed.get(key)
                    if op is None:
                        url = client.recording_url(Operation(id=key, filename=key))
                        record_miss(engine, rid, "game_page", url, "not in the source's list")
                        missing.append(rid)
                        continue
                    try:
                        body = client.fetch_recording(op, rid)
                    except ReplayNotFound as exc:
                        record_miss(engine, rid, "replay_json", exc.url or "", exc.detail)
                        missing.append(rid)
                        continue
                    except SourceError as exc:
                        problems.reject(rid, f"fetching the recording: {exc}")
                        continue
                    listing = Fetched(
                        rid, client.viewer_url(op), 200, body.fetched_at, msgspec.json.encode(op)
                    )
                    try:
                        store_game_page(engine, listing)
                        store_replay_json(engine, body)
                    except sa.exc.DBAPIError as exc:
                        problems.reject(rid, f"storing {body.url}: {database_error(exc)}")
                        continue
                    fetched += 1
        if is_new_game_run(context) and (missing or problems.rejected):
            raise dg.Failure(
                f"{name}: recordings not available yet: {missing or problems.rejected}"
            )
        finish_step(context, problems, "fetching recordings")
        return dg.MaterializeResult(
            metadata={
                "fetched": fetched,
                "kept_stored_copy": len(own) - len(todo),
                "missing": dg.MetadataValue.json(missing),
                **problems.metadata(),
            }
        )

    return recordings


def build_source_sensor(
    src: OcapReplaySource, job: UnresolvedAssetJobDefinition, interval_s: int
) -> dg.SensorDefinition:
    """``new_replays_<name>``: each new recording of the source as a run of its job."""
    name = src.name

    @dg.sensor(
        name=f"new_replays_{name}",
        job=job,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {src.location} for new OCAP2 recordings and loads them "
        "(announced when they have at least the source's min_players).",
    )
    def new_replays(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        try:
            with src.open() as client:
                listed = [op.id for op in client.list_operations()]
        except (SourceError, ReplayParseError) as exc:
            return dg.SkipReason(f"{name}: cannot read the recordings list: {exc}")
        seen = set(json.loads(context.cursor)) if context.cursor else None
        if seen is None:
            return dg.SensorResult(
                skip_reason=f"{name}: first look, {len(listed)} recordings already there "
                f"(load them with 'wog backfill --source {name}')",
                cursor=json.dumps(sorted(listed)),
            )
        new = [key for key in listed if key not in seen]
        if not new:
            return dg.SkipReason(f"{name}: no new recordings")
        ids = keys_to_ids(warehouse.engine, src, new)
        known = set(context.instance.get_dynamic_partitions(REPLAYS))
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{name}-{key}",
                    partition_key=str(ids[key]),
                    tags={TRIGGER_TAG: "new", REPLAY_TAG: f"{name}/{key}"},
                )
                for key in new
            ],
            dynamic_partitions_requests=[
                replays_partitions.build_add_request(
                    [str(ids[k]) for k in new if str(ids[k]) not in known]
                )
            ],
            cursor=json.dumps(sorted(seen | set(new))),
        )

    return new_replays


def _ocap(source: ReplaySource) -> OcapReplaySource:
    if not isinstance(source, OcapReplaySource):
        raise TypeError(f"{source.name} is a {source.kind} source, not an OCAP2 one")
    return source


def build_defs(
    source: ReplaySource, pipeline: Pipeline, chain: dg.AssetSelection
) -> dg.Definitions:
    """``<name>/recordings``, ``ingest_<name>`` (it, then ``chain``) and ``new_replays_<name>``."""
    src = _ocap(source)
    raw = build_recordings_asset(src, pipeline.knobs.backfill_batch)
    job = dg.define_asset_job(
        job_name(src),
        selection=dg.AssetSelection.assets(raw) | chain,
        tags={SOURCE_TAG: src.name},
        description=f"Fetch, decode, store and announce {src.name}'s OCAP2 games.",
    )
    sensor = build_source_sensor(src, job, pipeline.knobs.sensor_interval_s)
    return dg.Definitions(assets=[raw], jobs=[job], sensors=[sensor])


def list_keys(source: ReplaySource) -> list[str]:
    """Every recording the source lists, by its own id."""
    with _ocap(source).open() as client:
        return [op.id for op in client.list_operations()]


def make(config: SourceConfig, settings: Settings) -> ReplaySource:
    return ocap_source(config, settings)


PLUGIN = SourcePlugin(make, build_defs, list_keys)
