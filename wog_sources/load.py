"""One replay, normalized, from saved files or straight from the site (no warehouse)."""

from __future__ import annotations

from pathlib import Path

from wog_core.models import decode_text
from wog_core.settings import SourceSettings
from wog_sources.client import SiteClient
from wog_sources.replay import ParsedReplay, parse_replay


def replay_from_files(
    page_file: Path, json_file: Path, replay_id: int | None = None
) -> ParsedReplay:
    """Parse a saved game page and replay JSON (the page names the replay id)."""
    return parse_replay(
        decode_text(page_file.read_bytes()),
        json_file.read_bytes(),
        replay_id=replay_id,
        page_url=str(page_file),
        json_url=str(json_file),
    )


def fetch_replay(replay_id: int, settings: SourceSettings) -> ParsedReplay:
    """Fetch and parse a replay's page and JSON from the site."""
    with SiteClient(settings) as client:
        page_fetch = client.fetch_game_page(replay_id)
        json_fetch = client.fetch_replay_json(replay_id)
    return parse_replay(
        page_fetch.text,
        bytes(json_fetch.body),
        replay_id=replay_id,
        page_url=page_fetch.url,
        json_url=json_fetch.url,
    )
