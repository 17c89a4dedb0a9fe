"""Pipeline settings read from the environment (one place for their names and defaults)."""

from __future__ import annotations

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def min_players() -> int:
    """Games with fewer players are not announced by the sensor (``WOG_MIN_PLAYERS``)."""
    return _int("WOG_MIN_PLAYERS", 100)


def start_from_replay() -> int | None:
    """On the sensor's first tick, process qualifying games from this id on (``WOG_START_FROM_REPLAY``)."""
    value = _int("WOG_START_FROM_REPLAY", 0)
    return value or None


def sensor_interval_s() -> int:
    """Seconds between sensor ticks (``WOG_SENSOR_INTERVAL``)."""
    return _int("WOG_SENSOR_INTERVAL", 60)


def backfill_batch_size() -> int:
    """Partitions per backfill run (``WOG_BACKFILL_BATCH``)."""
    return max(1, _int("WOG_BACKFILL_BATCH", 50))


def sensor_max_runs_per_tick() -> int:
    """Upper bound on run requests from one sensor tick (``WOG_SENSOR_MAX_RUNS``)."""
    return max(1, _int("WOG_SENSOR_MAX_RUNS", 10))


def retry_window_s() -> int:
    """How long the sensor keeps retrying a new replay that fails (``WOG_RETRY_WINDOW``)."""
    return _int("WOG_RETRY_WINDOW", 24 * 3600)


def notification_targets() -> list[str]:
    """Where each new game is posted: ``channel:<id>`` per id in ``WOG_DISCORD_CHANNEL_IDS``
    (comma-separated) and ``webhook:<id>`` for ``WOG_DISCORD_WEBHOOK_URL``.

    Only the webhook's id is kept in the database; its token stays in the environment.
    """
    targets = []
    for part in os.environ.get("WOG_DISCORD_CHANNEL_IDS", "").replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise ValueError(f"WOG_DISCORD_CHANNEL_IDS: {part!r} is not a channel id (digits)")
        targets.append(f"channel:{part}")
    webhook = os.environ.get("WOG_DISCORD_WEBHOOK_URL", "").strip()
    if webhook:
        targets.append(f"webhook:{webhook_id(webhook)}")
    return targets


def webhook_id(url: str) -> str:
    """The id in a Discord webhook URL ``…/webhooks/<id>/<token>``."""
    parts = url.rstrip("/").split("/")
    try:
        index = parts.index("webhooks")
        value = parts[index + 1]
    except (ValueError, IndexError):
        raise ValueError(
            "WOG_DISCORD_WEBHOOK_URL must look like https://discord.com/api/webhooks/<id>/<token>"
        ) from None
    if not value.isdigit():
        raise ValueError("WOG_DISCORD_WEBHOOK_URL: the webhook id must be digits")
    return value
