"""The Dagster code location: ``dagster dev -m wog_assets.definitions`` (or workspace.yaml).

The definitions are built when Dagster loads the code location (``@dg.definitions``), from the
process's settings, read here once and handed down: nothing below reads the environment.
Each domain builds its own (``wog_assets.defs.<domain>``) and they are merged here:

- ``sources``: each configured source by its kind's plug-in — its fetch step, a job running
  that step then the chain below, and its sensor;
- the chain every source's games go through: ``warehouse`` (tables and checks, player
  directory), ``stats`` (per-game statistics; careers, periods and digests besides),
  ``notifications`` (each game's message; the operators' alerts).
"""

import dagster as dg

from wog_assets.defs import notifications, sources, stats, warehouse
from wog_assets.defs.core.alerts import Alerts
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.resources import default_resources
from wog_core import settings as wog_settings
from wog_core.logs import install_log_redaction
from wog_core.settings import Settings

CHAIN = dg.AssetSelection.assets(*warehouse.KEYS, *stats.KEYS, *notifications.KEYS)
"""What every source's games go through after its fetch step, in every source's job."""


def build_definitions(settings: Settings) -> dg.Definitions:
    """The code location for ``settings``."""
    configured = sources.configured_sources(settings)
    pipeline = Pipeline(
        knobs=settings.pipeline,
        sources={name: c.source for name, c in configured.items()},
        alerts=Alerts(
            tuple(settings.admin_targets), settings.dagster_ui_url, settings.pipeline.language
        ),
    )
    per_source = sources.build_defs(configured, pipeline, CHAIN)
    raw = [key for defs in per_source for a in defs.assets or () for key in _keys(a)]
    return dg.Definitions.merge(
        *per_source,
        warehouse.build_defs(pipeline, raw),
        stats.build_defs(pipeline),
        notifications.build_defs(pipeline),
        dg.Definitions(resources=default_resources(settings), executor=dg.in_process_executor),
    )


def _keys(asset: object) -> list[dg.AssetKey]:
    return list(asset.keys) if isinstance(asset, dg.AssetsDefinition) else []


@dg.definitions
def defs() -> dg.Definitions:
    settings = wog_settings.current()  # the code location's entry point
    install_log_redaction(settings.secrets)  # the code server's and each run's process
    return build_definitions(settings)
