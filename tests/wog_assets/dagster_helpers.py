"""Helpers for running the real asset graph against the fake site and the test database."""

from __future__ import annotations

import dataclasses
import os

import dagster as dg

from wog_assets.definitions import build_definitions
from wog_assets.defs.core.partitions import REPLAYS
from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource
from wog_core.settings import Settings


def settings_for(site_url: str, db_url: str) -> Settings:
    """The test's settings (its environment, as monkeypatched) on the fake site and test db."""
    base = Settings.from_env(os.environ)
    source = dataclasses.replace(base.source, base_url=site_url, min_interval=0.0, max_retries=1)
    return dataclasses.replace(base, source=source, database_url=db_url, variables_set=frozenset())


def code_location(site_url: str, db_url: str) -> dg.Definitions:
    """The whole code location, as Dagster loads it, on the fake site and the test database."""
    return build_definitions(settings_for(site_url, db_url))


def resources(site_url: str, db_url: str) -> dict:
    return {
        "site": StatsSiteResource(base_url=site_url, min_request_interval=0.0, max_retries=1),
        "warehouse": WarehouseResource(database_url=db_url),
    }


def replay_defs(site_url: str, db_url: str) -> dg.Definitions:
    """Only the WOG site's replay assets (``ingest_replays``' selection, their resources
    bound), without the statistics' jobs: a backfill over them runs no statistics runs."""
    full = code_location(site_url, db_url)
    keys = full.resolve_job_def("ingest_replays").asset_layer.selected_asset_keys
    assets = {id(a): a for a in (full.resolve_assets_def(k) for k in keys)}
    return dg.Definitions(assets=list(assets.values()), executor=dg.in_process_executor)


def run_replays(
    instance: dg.DagsterInstance,
    keys: list[int],
    site_url: str,
    db_url: str,
    *,
    tags: dict[str, str] | None = None,
    raise_on_error: bool = True,
    selection: list[str] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the replay assets (or the ``selection`` of them, by key) for ``keys`` in
    one (ranged if several) run."""
    str_keys = [str(k) for k in keys]
    known = set(instance.get_dynamic_partitions(REPLAYS))
    instance.add_dynamic_partitions(REPLAYS, [k for k in str_keys if k not in known])
    run_tags = dict(tags or {})
    kwargs: dict = {}
    if len(str_keys) == 1:
        kwargs["partition_key"] = str_keys[0]
    else:
        run_tags["dagster/asset_partition_range_start"] = str_keys[0]
        run_tags["dagster/asset_partition_range_end"] = str_keys[-1]
    job = code_location(site_url, db_url).resolve_job_def("ingest_replays")
    return job.execute_in_process(
        instance=instance,
        tags=run_tags,
        raise_on_error=raise_on_error,
        asset_selection=[dg.AssetKey(k) for k in selection] if selection else None,
        **kwargs,
    )
