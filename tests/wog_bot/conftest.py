"""Bot test fixtures: the fake Discord, and pending notifications in the test warehouse."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from wog_core.settings import BotSettings
from wog_fakes.discord import BOT_TOKEN, FakeDiscord
from wog_fakes.generator import generate_game
from wog_report.build import build_message, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_chart
from wog_report.summary import summarize
from wog_warehouse.queue import enqueue
from wog_warehouse.replays import write_replay


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with FakeDiscord() as fake:
        yield fake


def bot_settings(discord: FakeDiscord, **overrides: object) -> BotSettings:
    values: dict = {
        "discord_token": BOT_TOKEN,
        "discord_api_url": discord.api_url,
        "channel_ids": (111, 222),
        "retry_base_s": 30.0,
        "stale_sending_s": 120.0,
        "database_url": os.environ.get("WOG_DATABASE_URL"),  # the test database
    }
    values.update(overrides)
    return BotSettings(**values)


def queue_game(
    engine: sa.Engine, replay_id: int, targets: list[str], *, chart: bool = True
) -> None:
    """Load a generated game and queue its message as pending for ``targets``."""
    game = generate_game(replay_id, seed=5)
    write_replay(engine, game.replay, f"https://stats.example/games/{replay_id}/")
    message = build_message(
        summarize(game.replay),
        f"https://stats.example/games/{replay_id}/",
        catalogue=Catalogue("ru"),
    )
    png = render_chart(game.replay, Catalogue("ru")) if chart else None
    enqueue(engine, replay_id, targets, to_payload(message), png, announce=True)


def rows(engine: sa.Engine) -> list[dict]:
    with engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                sa.text(
                    "SELECT id, kind, replay_id, target, status, attempts, last_error, discord_message_id, "
                    "next_attempt_at > now() AS backing_off FROM notifications ORDER BY id"
                )
            )
        ]
