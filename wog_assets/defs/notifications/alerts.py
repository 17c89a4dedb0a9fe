"""The ``alert_on_failed_game_runs`` sensor: the admin hears (once per run) when a new game's
run fails — with the reason and a link to the run in the UI — unless the sensor retries it
(a late replay JSON, alerted only if it gives up)."""

from __future__ import annotations

import dagster as dg

from wog_assets.defs.core.alerts import Alerts, only_retrying
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.tags import REPLAY_TAG, TRIGGER_TAG

ALERTED_TRIGGERS = ("new", "announce", "quiet")


def build_failed_run_sensor(alerts: Alerts) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="alert_on_failed_game_runs",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Tells the admin target (once per run) when a new game's run fails.",
    )
    def alert_on_failed_game_runs(
        context: dg.RunFailureSensorContext, warehouse: WarehouseResource
    ) -> None:
        run = context.dagster_run
        trigger = run.tags.get(TRIGGER_TAG)
        if trigger not in ALERTED_TRIGGERS:
            return  # backfills report their failures to whoever started them
        reason = (context.failure_event.message or "run failed").strip()
        step_failures = [
            error.message
            for e in context.get_step_failure_events()
            if (error := getattr(e.event_specific_data, "error", None)) is not None
        ]
        if step_failures:
            reason = step_failures[0].strip()
        if only_retrying(reason):
            return
        what = (
            alerts.text("alert_game", replay=run.tags[REPLAY_TAG])
            if REPLAY_TAG in run.tags
            else trigger
        )
        first_line = reason.splitlines()[0][:300]
        text = alerts.text(
            "alert_run_failed", what=what, error=first_line, url=alerts.run_url(run.run_id)
        )
        alerts.send(warehouse.engine, f"run-failed:{run.run_id}", text)

    return alert_on_failed_game_runs
