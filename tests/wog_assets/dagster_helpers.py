"""Helpers for running the real asset graph against the fake site and the test database."""

from __future__ import annotations

import dagster as dg

from wog_assets.defs.partitions import replays_partitions
from wog_assets.defs.resources import PipelineResource, StatsSiteResource, WarehouseResource
from wog_assets.defs.selection import replay_assets


def resources(site_url: str, db_url: str) -> dict:
    return {
        "site": StatsSiteResource(base_url=site_url, min_request_interval=0.0, max_retries=1),
        "warehouse": WarehouseResource(database_url=db_url),
        "pipeline": PipelineResource(),
    }


def run_replays(
    instance: dg.DagsterInstance,
    keys: list[int],
    site_url: str,
    db_url: str,
    *,
    tags: dict[str, str] | None = None,
    raise_on_error: bool = True,
    selection: list | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize the replay assets for ``keys`` in one (ranged if several) run."""
    str_keys = [str(k) for k in keys]
    known = set(instance.get_dynamic_partitions(replays_partitions.name))
    instance.add_dynamic_partitions(
        replays_partitions.name, [k for k in str_keys if k not in known]
    )
    run_tags = dict(tags or {})
    kwargs: dict = {}
    if len(str_keys) == 1:
        kwargs["partition_key"] = str_keys[0]
    else:
        run_tags["dagster/asset_partition_range_start"] = str_keys[0]
        run_tags["dagster/asset_partition_range_end"] = str_keys[-1]
    return dg.materialize(
        selection or replay_assets,
        instance=instance,
        resources=resources(site_url, db_url),
        tags=run_tags,
        raise_on_error=raise_on_error,
        **kwargs,
    )
