"""Every community's games behind one interface: a :class:`ReplaySource`.

A source lists its games, fetches their raw bodies (bounded by ``WOG_MAX_JSON_MB``), decodes
stored bodies into the normalized :class:`~wog_core.models.Replay`, and says when and where a
new game is announced (:class:`AnnouncePolicy`). The WOG stats site (:mod:`wog_sources.site`)
and each OCAP2 community (:mod:`wog_sources.ocap_sources`) are implementations; the pipeline
(one chain for every source) asks a replay's source only to decode it and for its policy, so a
rule fixed there holds for every source.

Raw bodies are stored as two documents per game, whatever the source: a *page* (the WOG game
page, or an OCAP listing entry as JSON) and a *body* (the replay JSON, or the recording).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import msgspec

from wog_core.models import Commander, Replay
from wog_sources.replay import ParsedReplay


@dataclass(frozen=True)
class AnnouncePolicy:
    """When a new game of a source is announced, and where.

    A game found by the sensor is announced when it has at least ``min_players`` active players
    (an explicit ``wog announce`` skips that test); games found in a gap of more than
    ``max_age_s`` after they ended load quietly. Messages go to ``targets`` in ``language``.
    """

    min_players: int
    max_age_s: int
    targets: tuple[str, ...]
    language: str

    def announces(self, players_active: int, *, asked: bool) -> bool:
        return asked or players_active >= self.min_players


class ReplaySource(Protocol):
    """What the pipeline needs of a source (pure: no Dagster, no warehouse)."""

    @property
    def name(self) -> str:
        """Its name in ``games.source`` and in its assets (``wog`` for the stats site)."""
        ...

    @property
    def kind(self) -> str: ...

    @property
    def location(self) -> str: ...

    @property
    def policy(self) -> AnnouncePolicy: ...

    @property
    def players_by_name(self) -> bool:
        """Whether the source knows players only by name (the warehouse gives them ids)."""
        ...

    def decode(
        self, page: str, body: bytes, *, replay_id: int, page_url: str, body_url: str
    ) -> ParsedReplay:
        """The stored page and body of one game as a checked replay (raises
        :class:`~wog_sources.errors.ReplayParseError` naming the game and what is wrong)."""
        ...


def with_player_ids(replay: Replay, ids: dict[str, int]) -> Replay:
    """``replay`` with its players' ids replaced by ``ids`` (nickname → id in the warehouse),
    for sources that know players by name; kills and commanders follow their players."""
    by_entity = {p.player_id: ids[p.nickname] for p in replay.players}

    def pid(value: int | None) -> int | None:
        return by_entity.get(value) if value is not None else None

    game = msgspec.structs.replace(
        replay.game,
        commanders={
            side: Commander(by_entity[c.player_id], c.nickname)
            for side, c in replay.game.commanders.items()
            if c.player_id in by_entity
        },
    )
    return msgspec.structs.replace(
        replay,
        game=game,
        players=[
            msgspec.structs.replace(p, player_id=by_entity[p.player_id]) for p in replay.players
        ],
        frags=[
            msgspec.structs.replace(f, victim_id=pid(f.victim_id), killer_id=pid(f.killer_id))
            for f in replay.frags
        ],
    )
