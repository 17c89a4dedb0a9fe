"""The normalized replay: typed, immutable, and encoded to JSON as the public contract.

Field order and names here *are* the ``wog parse`` output contract (docs/maintainer.md); change them
only together with those docs.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import msgspec

SITE_SOURCE = "wog"
"""The WOG stats site's name as a source (``games.source``): source number 0, its ids the site's."""


class GameListing(msgspec.Struct, frozen=True):
    """One row of the games list page."""

    replay_id: int
    players: int
    slots: int


class Commander(msgspec.Struct, frozen=True):
    player_id: int
    nickname: str


class GamePage(msgspec.Struct, frozen=True):
    """What the game page says about a game."""

    replay_id: int
    mission_name: str
    mission_id: int
    island: str
    date: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_s: int
    winner: str | None
    players_active: int
    slots: int
    commanders: dict[str, Commander]


class Game(msgspec.Struct, frozen=True):
    """The game as a whole: the page's facts plus per-side player counts from the JSON."""

    mission_name: str
    mission_id: int
    island: str
    date: dt.date
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_s: int
    winner: str | None
    players_active: int
    slots: int
    side_players: dict[str, int]
    commanders: dict[str, Commander]


class Player(msgspec.Struct, frozen=True):
    player_id: int
    side: str
    nickname: str
    slot: str | None
    squad: str | None


class Vehicle(msgspec.Struct, frozen=True):
    vehicle_id: int
    type: str
    name: str


class Frag(msgspec.Struct, frozen=True):
    seq: int
    time_s: int
    victim_id: int
    victim_vehicle: str | None
    killer_id: int | None
    killer_vehicle: str | None
    weapon: str | None
    distance_m: float | None
    teamkill: bool


class ReplayData(msgspec.Struct, frozen=True):
    """What the replay JSON says: side counts, players, vehicles and frags.

    ``repairs`` lists what the parser changed to make the data storable (one line each,
    naming the field, the value and what was done); it is not part of the ``wog parse``
    contract.
    """

    side_players: dict[str, int]
    players: list[Player]
    vehicles: list[Vehicle]
    frags: list[Frag]
    repairs: list[str] = msgspec.field(default_factory=list)


class Replay(msgspec.Struct, frozen=True):
    """One game, normalized: the ``wog parse`` contract."""

    replay_id: int
    game: Game
    players: list[Player]
    vehicles: list[Vehicle]
    frags: list[Frag]


def combine(page: GamePage, data: ReplayData) -> Replay:
    """The normalized replay from a parsed game page and its parsed replay JSON."""
    game = Game(
        mission_name=page.mission_name,
        mission_id=page.mission_id,
        island=page.island,
        date=page.date,
        started_at=page.started_at,
        ended_at=page.ended_at,
        duration_s=page.duration_s,
        winner=page.winner,
        players_active=page.players_active,
        slots=page.slots,
        side_players=data.side_players,
        commanders=page.commanders,
    )
    return Replay(
        replay_id=page.replay_id,
        game=game,
        players=data.players,
        vehicles=data.vehicles,
        frags=data.frags,
    )


def to_json(value: msgspec.Struct, *, indent: int = 0) -> str:
    """Encode a model as UTF-8 JSON text (non-ASCII kept as is)."""
    raw = msgspec.json.encode(value)
    if indent:
        raw = msgspec.json.format(raw, indent=indent)
    return raw.decode("utf-8")


@dataclass(frozen=True)
class Fetched:
    """A fetched body with what the raw tables keep about it."""

    replay_id: int
    url: str
    http_status: int
    fetched_at: dt.datetime
    body: bytes | bytearray
    digest: str | None = None  # SHA-256 hex, when computed while the body streamed in

    @property
    def sha256(self) -> str:
        return self.digest or hashlib.sha256(self.body).hexdigest()

    @property
    def text(self) -> str:
        return decode_text(bytes(self.body))


# The stats site serves UTF-8; a page saved or served in the Russian legacy encoding is read as
# cp1251 instead of being garbled (bytes cp1251 does not define become U+FFFD).
FALLBACK_ENCODING = "cp1251"


def decode_text(body: bytes) -> str:
    """Text of a page: UTF-8 (a BOM is dropped), else cp1251; NUL characters are removed."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = body.decode(FALLBACK_ENCODING, errors="replace")
    return text.replace("\x00", "")
