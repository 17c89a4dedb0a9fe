"""The WOG stats site as a plug-in: its two fetch steps, the ``ingest_replays`` job and the
``new_replays`` sensor (:mod:`wog_assets.defs.sources.wog_sensor`).

- ``game_page_html`` and ``replay_json`` (raw), on the ``replays`` partitions: each game page
  and replay JSON exactly as fetched (``raw_game_pages``, ``raw_replay_json``, zstd). A replay
  the site does not have (404 / error page) is recorded in ``replay_misses``; in a backfill that
  is not an error, but for a new game found by the sensor it fails the run so the sensor tries
  again later (the JSON can appear late). A replay whose bodies are stored is parsed even when
  another replay's fetch failed.
- job ``ingest_replays``: both, then the chain every source shares.
"""

from collections.abc import Callable
from typing import Any

import dagster as dg
import sqlalchemy as sa

from dbschema import tables as t
from wog_assets.defs.core.partitions import replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource
from wog_assets.defs.core.steps import (
    SITE_POOL,
    backfill_policy,
    database_error,
    is_new_game_run,
    replay_ids,
)
from wog_assets.defs.core.tags import SOURCE_TAG
from wog_assets.defs.sources.plugin import SourcePlugin
from wog_assets.defs.sources.wog_sensor import build_new_replays_sensor
from wog_core.models import Fetched
from wog_core.settings import Settings, SourceConfig
from wog_sources.base import ReplaySource
from wog_sources.client import SiteClient
from wog_sources.errors import ReplayNotFound, SourceError
from wog_sources.registry import wog_site
from wog_warehouse.raw import record_miss, store_game_page, store_replay_json, stored_raw_ids

INGEST_JOB = "ingest_replays"  # the WOG replay assets' job (runs show it as their target)


class RawFetchConfig(dg.Config):
    refetch: bool = False
    """Fetch again even if a copy is stored (games do not change once published)."""


def _fetch_raw(
    context: dg.AssetExecutionContext,
    *,
    what: str,
    table: sa.Table,
    warehouse: WarehouseResource,
    site: StatsSiteResource,
    refetch: bool,
    fetch: Callable[[SiteClient, int], Fetched],
    store: Callable[[Fetched], int],
    url_for: Callable[[SiteClient, int], str],
) -> dg.MaterializeResult:
    ids = replay_ids(context)
    kept = set() if refetch else stored_raw_ids(warehouse.engine, table, ids)
    fetched: list[int] = []
    missing: dict[int, str] = {}
    problems = Problems()
    total_bytes = 0
    stored_bytes = 0
    with site.client() as client:
        for rid in ids:
            if rid in kept:
                continue
            try:
                body = fetch(client, rid)
            except ReplayNotFound as exc:
                record_miss(
                    warehouse.engine, rid, what, exc.url or url_for(client, rid), exc.detail
                )
                missing[rid] = str(exc)
                continue
            except SourceError as exc:
                problems.reject(rid, f"fetching {what}: {exc}")
                continue
            try:
                stored_bytes += store(body)
            except sa.exc.DBAPIError as exc:
                problems.reject(rid, f"storing {what} from {body.url}: {database_error(exc)}")
                continue
            total_bytes += len(body.body)
            fetched.append(rid)
        first_url = url_for(client, ids[0])
    context.log.info(
        f"{what}: fetched {len(fetched)}, kept {len(kept)} stored, missing {len(missing)}, "
        f"rejected {len(problems.rejected)}"
    )
    if is_new_game_run(context):
        # A new game the site does not serve yet (its JSON can appear late) fails the run, so
        # the sensor tries again; the other new games of the run go on to their messages.
        for rid, reason in missing.items():
            problems.reject(rid, f"{what} not available yet, the sensor will retry: {reason}")
    finish_step(context, problems, f"fetching {what}")
    metadata: dict[str, Any] = {
        "fetched": len(fetched),
        "kept_stored_copy": len(kept),
        "missing": dg.MetadataValue.json(sorted(missing)),
        "body_bytes": total_bytes,
        "stored_bytes": stored_bytes,
        "url": dg.MetadataValue.url(first_url) if len(ids) == 1 else first_url,
        **problems.metadata(),
    }
    return dg.MaterializeResult(metadata=metadata)


def build_raw_assets(batch: int) -> list[dg.AssetsDefinition]:
    """The site's two fetch steps, ``batch`` partitions per backfill run."""

    @dg.asset(
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(batch),
        group_name="raw",
        kinds={"postgres", "html"},
        pool=SITE_POOL,
        description="Each game page's HTML exactly as fetched from the stats site (raw_game_pages).",
    )
    def game_page_html(
        context: dg.AssetExecutionContext,
        config: RawFetchConfig,
        site: StatsSiteResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        def store(fetched: Fetched) -> int:
            store_game_page(warehouse.engine, fetched)
            return len(fetched.body)

        return _fetch_raw(
            context,
            what="game_page",
            table=t.raw_game_pages,
            warehouse=warehouse,
            site=site,
            refetch=config.refetch,
            fetch=lambda client, rid: client.fetch_game_page(rid),
            store=store,
            url_for=lambda client, rid: client.game_page_url(rid),
        )

    @dg.asset(
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(batch),
        group_name="raw",
        kinds={"postgres", "json"},
        pool=SITE_POOL,
        description="Each replay JSON exactly as fetched, zstd-compressed (raw_replay_json).",
    )
    def replay_json(
        context: dg.AssetExecutionContext,
        config: RawFetchConfig,
        site: StatsSiteResource,
        warehouse: WarehouseResource,
    ) -> dg.MaterializeResult:
        return _fetch_raw(
            context,
            what="replay_json",
            table=t.raw_replay_json,
            warehouse=warehouse,
            site=site,
            refetch=config.refetch,
            fetch=lambda client, rid: client.fetch_replay_json(rid),
            store=lambda fetched: store_replay_json(warehouse.engine, fetched),
            url_for=lambda client, rid: client.replay_json_url(rid),
        )

    return [game_page_html, replay_json]


def build_defs(
    source: ReplaySource, pipeline: Pipeline, chain: dg.AssetSelection
) -> dg.Definitions:
    """The site's fetch steps, ``ingest_replays`` (them, then ``chain``) and ``new_replays``."""
    raw = build_raw_assets(pipeline.knobs.backfill_batch)
    job = dg.define_asset_job(
        INGEST_JOB,
        selection=dg.AssetSelection.assets(*raw) | chain,
        tags={SOURCE_TAG: source.name},
        description="Fetch, parse, store and announce WOG games (one partition per replay).",
    )
    sensor = build_new_replays_sensor(pipeline, job)
    return dg.Definitions(assets=raw, jobs=[job], sensors=[sensor])


def make(config: SourceConfig, settings: Settings) -> ReplaySource:
    return wog_site(settings)


PLUGIN = SourcePlugin(make, build_defs)
