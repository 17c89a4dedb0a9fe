"""One replay, normalized, from saved files or straight from the site (no warehouse)."""

from __future__ import annotations

from pathlib import Path

from wog_assets.source.client import SiteClient
from wog_assets.source.parse import parse_game_page, parse_replay_json
from wog_core.models import Replay, combine
from wog_core.settings import SourceSettings


def replay_from_files(page_file: Path, json_file: Path, replay_id: int | None = None) -> Replay:
    """Parse a saved game page and replay JSON (the page names the replay id)."""
    page = parse_game_page(
        page_file.read_text(encoding="utf-8"), replay_id=replay_id, url=str(page_file)
    )
    data = parse_replay_json(json_file.read_bytes(), replay_id=page.replay_id, url=str(json_file))
    return combine(page, data)


def fetch_replay(replay_id: int, settings: SourceSettings | None = None) -> Replay:
    """Fetch and parse a replay's page and JSON from the site."""
    with SiteClient(settings) as client:
        page_fetch = client.fetch_game_page(replay_id)
        json_fetch = client.fetch_replay_json(replay_id)
    page = parse_game_page(page_fetch.text, replay_id=replay_id, url=page_fetch.url)
    data = parse_replay_json(json_fetch.body, replay_id=replay_id, url=json_fetch.url)
    return combine(page, data)
