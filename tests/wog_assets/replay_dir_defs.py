"""The test-only ``replay-dir`` kind, its Dagster part: the fetch step ``<name>/exports``, job
``ingest_<name>`` (it, then the shared chain) and sensor ``new_replays_<name>``."""

import json

import dagster as dg

from tests.wog_sources.replay_dir import ReplayDir, make
from wog_assets.defs.core.partitions import replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.steps import backfill_policy, replay_ids
from wog_assets.defs.core.tags import SOURCE_TAG, TRIGGER_TAG
from wog_assets.defs.sources.plugin import SourcePlugin
from wog_core.models import Fetched
from wog_sources.base import ReplaySource
from wog_sources.errors import ReplayNotFound
from wog_warehouse.raw import record_miss, store_game_page, store_replay_json
from wog_warehouse.sources import replay_ids_for, sources_of


def _dir(source: ReplaySource) -> ReplayDir:
    assert isinstance(source, ReplayDir)
    return source


def build_defs(
    source: ReplaySource, pipeline: Pipeline, chain: dg.AssetSelection
) -> dg.Definitions:
    src = _dir(source)

    @dg.asset(
        name="exports",
        key_prefix=[src.name],
        group_name="raw",
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(pipeline.knobs.backfill_batch),
    )
    def exports(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        engine = warehouse.engine
        own = {rid: key for rid, (origin, key) in sources_of(engine, replay_ids(context)).items()
               if origin == src.name}  # fmt: skip
        problems = Problems()
        for rid, key in sorted(own.items()):
            try:
                body = src.fetch(key, rid)
            except ReplayNotFound as exc:
                record_miss(engine, rid, "replay_json", exc.url or "", exc.detail)
                continue
            listing = json.dumps({"file": key}).encode()
            store_game_page(engine, Fetched(rid, src.url(key), 200, body.fetched_at, listing))
            store_replay_json(engine, body)
        finish_step(context, problems, "reading exports")
        return dg.MaterializeResult(metadata={"read": len(own)})

    job = dg.define_asset_job(
        f"ingest_{src.name}",
        selection=dg.AssetSelection.assets(exports) | chain,
        tags={SOURCE_TAG: src.name},
    )

    @dg.sensor(name=f"new_replays_{src.name}", job=job, minimum_interval_seconds=30)
    def new_replays(
        context: dg.SensorEvaluationContext, warehouse: WarehouseResource
    ) -> dg.SensorResult:
        listed = src.list_keys()
        if context.cursor is None:
            return dg.SensorResult(skip_reason="first look", cursor=json.dumps(listed))
        new = [key for key in listed if key not in set(json.loads(context.cursor))]
        ids = replay_ids_for(warehouse.engine, src.name, src.kind, src.location, new)
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(run_key=key, partition_key=str(ids[key]), tags={TRIGGER_TAG: "new"})
                for key in new
            ],
            dynamic_partitions_requests=[
                replays_partitions.build_add_request([str(ids[k]) for k in new])
            ],
            cursor=json.dumps(listed),
        )

    return dg.Definitions(assets=[exports], jobs=[job], sensors=[new_replays])


def list_keys(source: ReplaySource) -> list[str]:
    return _dir(source).list_keys()


PLUGIN = SourcePlugin(make, build_defs, list_keys)
