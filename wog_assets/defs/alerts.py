"""Operator alerts from the pipeline: nothing is missed quietly.

Each alert goes through the notification queue to the admin target (``WOG_DISCORD_ADMIN_CHANNEL_ID``
and/or ``WOG_ADMIN_WEBHOOK_URL``) exactly once per thing it is about (its key); with no admin
target it is logged as a warning. Sent from here: a new game's run failed (with the reason and a
link to the run in the UI), the sensor gave up on a game, the site was unreachable for longer
than ``WOG_SITE_DOWN_ALERT_S`` (and came back), a page no longer matches the parser. The bot adds
its own: a message that failed for good, a channel that refused the chart.
"""

from __future__ import annotations

import hashlib

import dagster as dg
from sqlalchemy.engine import Engine

from wog_assets.defs.resources import WarehouseResource
from wog_assets.tags import REPLAY_TAG, TRIGGER_TAG
from wog_core import settings
from wog_report.catalogue import operator_text as T
from wog_warehouse.queue import enqueue_alert

ALERTED_TRIGGERS = ("new", "announce", "quiet")
RETRYING = "the sensor will retry"  # a late replay JSON: retried, alerted only if given up


def alert(engine: Engine, key: str, text: str) -> bool:
    """Queue ``text`` for the admin once per ``key``; True if it was newly queued."""
    return bool(enqueue_alert(engine, key, text, settings.current().admin_targets))


def _only_retrying(reason: str) -> bool:
    """Whether a run failed only for games the sensor retries (a late replay JSON): the run's
    failure names each rejected game on a line of its own; a failure without such lines is
    judged by its text."""
    rejected = [line for line in reason.splitlines() if ": rejected: " in line]
    if rejected:
        return all(RETRYING in line for line in rejected)
    return RETRYING in reason


def parser_key(what: str, detail: str) -> str:
    """One key per distinct parser mismatch, so a redesign is reported once, not every tick."""
    return f"parser:{what}:{hashlib.sha256(detail.encode()).hexdigest()[:16]}"


def run_url(run_id: str) -> str:
    return f"{settings.current().dagster_ui_url.rstrip('/')}/runs/{run_id}"


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
        e.event_specific_data.error.message  # type: ignore[union-attr]
        for e in context.get_step_failure_events()
        if e.event_specific_data and getattr(e.event_specific_data, "error", None)
    ]
    if step_failures:
        reason = step_failures[0].strip()
    if _only_retrying(reason):
        return
    what = T("alert_game", replay=run.tags[REPLAY_TAG]) if REPLAY_TAG in run.tags else trigger
    first_line = reason.splitlines()[0][:300]
    text = T("alert_run_failed", what=what, error=first_line, url=run_url(run.run_id))
    alert(warehouse.engine, f"run-failed:{run.run_id}", text)
