"""One replay from its two documents: parsed, combined and checked against each other.

:func:`parse_replay` is what every path that loads a replay uses (the warehouse asset, ``wog
parse``, benchmarks). Beyond each parser's own rules it applies the rule that needs both
documents: a frag's mission time lies within the mission (docs/maintainer.md, "Bad data").
"""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from wog_core.models import Frag, Replay, combine
from wog_sources.parse import parse_game_page, parse_replay_json

# Frags a little after the stated end happen (the recording stops after the end screen).
FRAG_TIME_GRACE_S = 600


@dataclass(frozen=True)
class ParsedReplay:
    """A replay ready to store, and what had to be repaired to make it so (one line each)."""

    replay: Replay
    repairs: list[str] = field(default_factory=list)


def parse_replay(
    page_html: str,
    json_body: bytes | str,
    *,
    replay_id: int | None = None,
    page_url: str | None = None,
    json_url: str | None = None,
) -> ParsedReplay:
    """Parse a game page and its replay JSON into one checked replay.

    Raises :class:`~wog_sources.errors.ReplayParseError` (or ``ReplayNotFound`` for the
    site's error page) naming the replay, the URL and what is wrong.
    """
    page = parse_game_page(page_html, replay_id=replay_id, url=page_url)
    data = parse_replay_json(json_body, replay_id=page.replay_id, url=json_url)
    replay = combine(page, data)
    repairs = list(data.repairs)
    frags = _frags_within_the_mission(replay, repairs)
    if frags is not replay.frags:
        replay = msgspec.structs.replace(replay, frags=frags)
    return ParsedReplay(replay, repairs)


def _frags_within_the_mission(replay: Replay, repairs: list[str]) -> list[Frag]:
    """Frag times clamped into 0..duration (+ grace); each clamp is a repair."""
    latest = replay.game.duration_s + FRAG_TIME_GRACE_S
    frags, changed = [], False
    for frag in replay.frags:
        if 0 <= frag.time_s <= latest:
            frags.append(frag)
            continue
        clamped = min(max(frag.time_s, 0), replay.game.duration_s)
        repairs.append(
            f"frags[{frag.seq}].time_s = {frag.time_s}: outside the mission "
            f"(0..{replay.game.duration_s} s); clamped to {clamped}"
        )
        frags.append(msgspec.structs.replace(frag, time_s=clamped))
        changed = True
    return frags if changed else replay.frags
