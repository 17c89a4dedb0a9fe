"""The ``discord`` domain: each game's message for the bot, and the operators' alerts."""

import dagster as dg

from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.notifications.alerts import build_failed_run_sensor
from wog_assets.defs.notifications.assets import KEYS, build_notifications

__all__ = ["KEYS", "build_defs"]


def build_defs(pipeline: Pipeline) -> dg.Definitions:
    return dg.Definitions(
        assets=[build_notifications(pipeline)],
        sensors=[build_failed_run_sensor(pipeline.alerts)],
    )
