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
from dataclasses import dataclass

from sqlalchemy.engine import Engine

from wog_report.catalogue import Catalogue
from wog_warehouse.queue import enqueue_alert

RETRYING = "the sensor will retry"  # a late replay JSON: retried, alerted only if given up


@dataclass(frozen=True)
class Alerts:
    """Where operator alerts go (the admin targets) and where a run's page is (the UI)."""

    targets: tuple[str, ...] = ()
    ui_url: str = "http://127.0.0.1:3000"
    language: str = "ru"

    def text(self, key: str, **values: object) -> str:
        """An alert's text in the operators' language (``WOG_LANGUAGE``)."""
        return Catalogue(self.language)(key, **values)

    def send(self, engine: Engine, key: str, text: str) -> bool:
        """Queue ``text`` for the admin once per ``key``; True if it was newly queued."""
        return bool(enqueue_alert(engine, key, text, list(self.targets)))

    def run_url(self, run_id: str) -> str:
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"


def only_retrying(reason: str) -> bool:
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
