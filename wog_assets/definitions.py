"""The Dagster code location: ``dagster dev -m wog_assets.definitions`` (or workspace.yaml)."""

import dagster as dg

from wog_assets.defs.resources import default_resources
from wog_assets.defs.selection import replay_assets
from wog_assets.defs.sensors import new_replays

defs = dg.Definitions(
    assets=replay_assets,
    sensors=[new_replays],
    resources=default_resources(),
    executor=dg.in_process_executor,
)
