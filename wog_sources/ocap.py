"""OCAP2 recordings decoded into the normalized replay (pure: bytes in, models out).

An OCAP2 recording is one JSON document per game, usually gzip-compressed: the mission
(``missionName``, ``worldName``, ``captureDelay`` seconds per frame, ``endFrame``), every unit
and vehicle (``entities``) with its per-frame ``positions``, and the game's ``events``. Nearly
all of its bytes are positions, of which only who controls each unit is needed: the document
is decoded with msgspec into structs that keep ``positions`` and ``framesFired`` as raw JSON
(validated and skipped in C, no copy) and leave ``Markers`` out. A unit's rows are read by
byte counts when one person or one AI holds it throughout (:func:`_steady_control`), row by row
only when control changes. Peak memory is the uncompressed document plus the facts (see
``bench/ocap.py``).

What the rules are (docs/admin.md, "OCAP2 communities"):

- A **player** is a person, not a unit. Who is in a unit at a frame is what its position rows
  say (every row carries the controller's name and a player flag): a living unit's row with the
  flag names its player, one without the flag or without a name is nobody's (AI, or a slot its
  player left); a dead unit's rows say nothing, so the last living row holds. A person seen in
  two units at once is in the one that fires or moves; the other, idle (never fired, never 10 m
  from where it appeared), is a ghost and never theirs. Only where a unit's rows name nobody
  (older OCAP) the events decide: a unit belongs to whoever the latest ``connected`` event for
  it names, from that frame on; a unit created as a player's (``isPlayer``) belongs to its
  ``name`` from its first frame. A person holds one unit at a time: taking another (by
  ``connected``, or a new unit created as theirs) releases the one they held, which is AI
  from that frame on — its later death or kills are nobody's. Units nobody controls are AI. One person may own several units
  (a slot taken over, a reconnect into a new unit): they are one player, whose ``player_id`` is
  the id of the first unit they owned, on that unit's side, slot (``description``) and squad
  (``group``). Someone whose first unit was already another player's first (they took it over)
  is named by their next unit, or by an id past the last entity's. Frags name players by that
  id on both sides.
- A **frag** is the death of a unit a player owned at that frame: ``time_s = frame ×
  captureDelay``; the killer is the player owning the killer unit then (``null`` for AI, for a
  vehicle with nobody known inside, or ``["null"]``); a teamkill is a kill by another player's
  unit on the same side; distance ``-1`` is unknown.
- The killer's **vehicle**: the killer entity itself when it is a vehicle, else the vehicle
  named by the weapon (OCAP writes a vehicle's name as the weapon of a kill made from it),
  else the first element of a structured ``[vehicle, weapon, magazine]`` weapon.
- A **vehicle destruction** is a ``killed`` event whose victim is a vehicle (its own list).
- The **winner** is the side of an ``endMission`` event; without one, the side of the commander
  a ``mission_message`` of the form "Победа КС: X. Поражение КС: Y" names as the winner (the
  sg.zone convention), whose named commanders are the game's commanders; else unknown.
- The recording carries no date: the caller gives when the game ended or started (OCAP file
  names carry the end time, see :func:`ended_at_from_name`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import operator
import re
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import msgspec

from wog_core.models import Commander, Frag, Game, Player, Replay, Vehicle
from wog_core.sides import SIDE_ORDER, Side
from wog_sources.errors import ReplayParseError, ResponseTooLarge
from wog_sources.jsonguard import MAX_NESTING, decode_error_message, nesting_message, too_deep

GZIP_MAGIC = b"\x1f\x8b"
# A recording decompressed beyond this is refused (a gzip bomb, or not a recording). Callers
# pass the configured cap (WOG_MAX_JSON_MB); this is only the default of the pure functions.
DEFAULT_MAX_UNCOMPRESSED = 512 * 1024**2
_CHUNK = 1 << 20

_SIDE_ALIASES = {"INDEPENDENT": Side.GUER, "RESISTANCE": Side.GUER, "CIVILIAN": Side.CIV}
_WIN_MESSAGE = re.compile(r"Победа\s+КС:\s*(?P<winner>.+?)\.\s*Поражение\s+КС:\s*(?P<loser>.+)$")
_NAME_TIME = re.compile(r"(\d{4})_(\d{2})_(\d{2})__(\d{2})_(\d{2})_(\d{2})")


class _Entity(msgspec.Struct):
    id: int
    type: str = "unit"
    name: str = ""
    side: str = ""
    group: str = ""
    description: str = ""
    isPlayer: int | bool = 0
    startFrameNum: int = 0
    vehicle_class: str = msgspec.field(default="", name="class")
    # Kept as raw JSON (validated, never turned into objects unless needed; see _Control).
    positions: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"[]"))
    framesFired: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"[]"))


class _Row(msgspec.Struct, array_like=True, gc=False):
    """A unit's position row: ``[[x, y, z], direction, alive, in vehicle, name, is player]``."""

    pos: msgspec.Raw
    direction: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"0"))
    alive: int | bool = 1  # 0 dead, 1 alive, 2 unconscious
    vehicle: msgspec.Raw = msgspec.field(default_factory=lambda: msgspec.Raw(b"0"))
    name: str = ""
    is_player: int | bool = 0


_ROWS = msgspec.json.Decoder(list[_Row])
_ROW = msgspec.json.Decoder(_Row)
_POINT = msgspec.json.Decoder(list[float])
# A unit that never fires and never gets this far (metres) from where it appeared is idle.
IDLE_RADIUS_M = 10.0


class _Recording(msgspec.Struct):
    missionName: str
    worldName: str
    captureDelay: float
    endFrame: int
    entities: list[_Entity]
    events: list[list[Any]] = []
    missionAuthor: str = ""


_DECODER = msgspec.json.Decoder(_Recording)


class VehicleKill(msgspec.Struct, frozen=True):
    """A vehicle destroyed: which, when, by whom (a player id, or null) and with what."""

    seq: int
    time_s: int
    vehicle_id: int
    vehicle_type: str
    vehicle_name: str
    killer_id: int | None
    weapon: str | None
    distance_m: float | None


class OcapReplay(msgspec.Struct, frozen=True):
    """``wog parse --ocap`` output: the normalized replay contract plus vehicle destructions."""

    replay_id: int
    game: Game
    players: list[Player]
    vehicles: list[Vehicle]
    frags: list[Frag]
    vehicle_kills: list[VehicleKill]


@dataclass(frozen=True)
class OcapRecording:
    """A decoded recording: the normalized replay, vehicle destructions and repairs."""

    replay: Replay
    vehicle_kills: list[VehicleKill]
    author: str
    repairs: list[str] = field(default_factory=list)

    def contract(self) -> OcapReplay:
        r = self.replay
        return OcapReplay(r.replay_id, r.game, r.players, r.vehicles, r.frags, self.vehicle_kills)


def is_gzip(body: bytes | bytearray | memoryview) -> bool:
    """True when the bytes start with gzip's magic number, whatever the file is called."""
    return bytes(body[:2]) == GZIP_MAGIC


def check_size(
    body: bytes | bytearray, *, limit: int, url: str | None = None, replay_id: int | None = None
) -> None:
    """Refuse a recording whose JSON would exceed ``limit`` bytes, before anything keeps it.

    Gzip is inflated chunk by chunk and the output discarded, so a bomb costs one megabyte of
    memory however far it would expand. Raises :class:`ResponseTooLarge` naming the cap, or
    :class:`ReplayParseError` for a broken gzip stream.
    """
    if not is_gzip(body):
        if len(body) > limit:
            raise ResponseTooLarge(
                f"recording of {len(body):,} bytes exceeds the {limit:,}-byte cap (WOG_MAX_JSON_MB)",
                url=url,
                replay_id=replay_id,
            )
        return
    inflater = zlib.decompressobj(wbits=31)
    view = memoryview(body)
    size = 0
    try:
        for start in range(0, len(view), _CHUNK):
            pending: bytes | memoryview = view[start : start + _CHUNK]
            while pending:
                size += len(inflater.decompress(pending, _CHUNK))
                pending = inflater.unconsumed_tail
                if size > limit:
                    raise ResponseTooLarge(
                        f"recording uncompresses to more than the {limit:,}-byte cap "
                        "(WOG_MAX_JSON_MB); a gzip bomb, or not a recording",
                        url=url,
                        replay_id=replay_id,
                    )
            if inflater.eof:
                break
    except zlib.error as exc:
        raise ReplayParseError(
            f"not a valid gzip stream: {exc}", url=url, replay_id=replay_id
        ) from None


def uncompressed(
    body: bytes | bytearray, *, limit: int = DEFAULT_MAX_UNCOMPRESSED, url: str | None = None
) -> bytes:
    """The JSON bytes of a recording: gunzipped when gzip (any file name), else as given.

    Raises :class:`ResponseTooLarge` beyond ``limit`` bytes and :class:`ReplayParseError` for a
    broken gzip stream.
    """
    if not is_gzip(body):
        if len(body) > limit:
            raise ResponseTooLarge(f"recording is larger than {limit} bytes", url=url)
        return bytes(body)
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise ReplayParseError(f"not a valid gzip stream: {exc}", url=url) from None
    if len(data) > limit:
        raise ResponseTooLarge(f"recording uncompresses to more than {limit} bytes", url=url)
    if not inflater.eof:
        raise ReplayParseError("the gzip stream is truncated", url=url)
    return data


def ended_at_from_name(name: str) -> dt.datetime | None:
    """The local time an OCAP file name such as ``2026_06_14__21_25_22__1_ocap.json`` carries.

    OCAP names a recording by when it was saved, i.e. when the mission ended.
    """
    match = _NAME_TIME.search(name)
    if not match:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in match.groups())
        return dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return None


def decode_recording(
    body: bytes | bytearray,
    *,
    replay_id: int,
    ended_at: dt.datetime | None = None,
    started_at: dt.datetime | None = None,
    url: str | None = None,
    limit: int = DEFAULT_MAX_UNCOMPRESSED,
) -> OcapRecording:
    """Decode an OCAP2 recording (gzip or plain JSON) into the normalized replay.

    Give when the game ended (``ended_at``, e.g. from the file name) or started; with neither
    the game is dated at the Unix epoch and a repair says so. Raises
    :class:`ReplayParseError` naming the replay, the URL and what is wrong.
    """
    data = uncompressed(body, limit=limit, url=url)
    deep = too_deep(data)
    if deep is not None:
        raise ReplayParseError(
            f"recording: {nesting_message(deep)}", replay_id=replay_id or None, url=url
        )
    try:
        rec = _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise ReplayParseError(
            f"not an OCAP recording: {exc}", replay_id=replay_id or None, url=url
        ) from None
    except UnicodeDecodeError as exc:  # msgspec reads JSON as UTF-8, as the standard says
        raise ReplayParseError(
            f"recording: not UTF-8 at byte {exc.start} ({exc.object[exc.start : exc.start + 1]!r})",
            replay_id=replay_id or None,
            url=url,
        ) from None
    except msgspec.DecodeError as exc:
        raise ReplayParseError(
            f"recording: {decode_error_message(data, exc)}", replay_id=replay_id or None, url=url
        ) from None
    except RecursionError:  # only if the stack was nearly spent before decoding began
        raise ReplayParseError(
            f"recording is nested too deeply to decode here (limit {MAX_NESTING})",
            replay_id=replay_id or None,
            url=url,
        ) from None
    del data
    return _Decoder(rec, replay_id=replay_id, url=url).run(ended_at, started_at)


def decode_file(path: str, *, replay_id: int | None = None) -> OcapRecording:
    """Decode a recording file; the replay id defaults to 0 and the date to the file name's."""
    with open(path, "rb") as fh:
        body = fh.read()
    return decode_recording(
        body, replay_id=replay_id or 0, ended_at=ended_at_from_name(path), url=path
    )


def _usable_distance(value: Any) -> bool:
    """A distance in metres OCAP knew: a finite number in 0..50 km (it writes -1 for none)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return 0 <= value <= 50_000


def side_of(text: str | None) -> Side | None:
    """An OCAP side string (``WEST``, ``GUER``, ``INDEPENDENT``…) as a side, else None."""
    if not text:
        return None
    return Side.parse(text) or _SIDE_ALIASES.get(text.strip().upper())


@dataclass
class _Control:
    """What a unit's position rows say: who controls it from which frame (None: AI), and the
    stretches of frames (from, to) in which the rows show a person in it."""

    timeline: list[tuple[int, str | None]]
    spans: list[tuple[int, int, str]]


def _merged(timeline: list[tuple[int, str | None]]) -> list[tuple[int, str | None]]:
    out: list[tuple[int, str | None]] = []
    for frame, who in timeline:
        if not out or out[-1][1] != who:
            out.append((frame, who))
    return out


_ROW_KEY = operator.attrgetter("name", "is_player", "alive")


def _runs(rows: list[_Row], start: int) -> _Control | None:
    """Read rows one by one (a unit whose control changes, or rows of an unusual shape).

    A living unit's row names its controller: the person with the player flag and a name,
    else nobody (AI, or a slot its player left). A dead unit's rows say nothing.
    """
    timeline: list[tuple[int, str | None]] = []
    spans: list[tuple[int, int, str]] = []
    named = False
    frame = start
    for (name, is_player, alive), group in itertools.groupby(rows, _ROW_KEY):
        length = len(list(group))
        named = named or bool(name)
        if alive:
            who = name if is_player and name else None
            if not timeline or timeline[-1][1] != who:
                timeline.append((frame, who))
            if who is not None:
                if spans and spans[-1][2] == who and spans[-1][1] == frame:
                    spans[-1] = (spans[-1][0], frame + length, who)
                else:
                    spans.append((frame, frame + length, who))
        frame += length
    if not named or not timeline:
        return None  # not one name in the rows: they say nothing about control
    return _Control(timeline, spans)


_UNNAMED = b',"",'  # a row without a name: `…,"",1]` or `…,"",0]`


def _steady_control(raw: bytes, ent: _Entity) -> _Control | None:
    """The common case, read without decoding every row: first rows that all name the unit's
    own name with one flag, then (if any) rows without a name. None when the rows are
    anything else (they are then read one by one, :func:`_runs`).

    Each row holds exactly two quote characters (its name; a quote inside a name is escaped,
    adding one), so rows whose quotes number twice the matches of two patterns are made of
    those patterns only.
    """
    if not ent.name:
        return None
    name = msgspec.json.encode(ent.name)
    flags = ((b"1", ent.name), (b"0", None)) if ent.isPlayer else ((b"0", None), (b"1", ent.name))
    quotes = raw.count(b'"')
    for flag, owner in flags:
        pattern = b"," + name + b"," + flag + b"]"
        named = raw.count(pattern)
        if named:
            who = owner
            break
    else:
        return None
    start = ent.startFrameNum
    timeline: list[tuple[int, str | None]] = [(start, who)]
    if 2 * named != quotes:
        unnamed = raw.count(_UNNAMED)
        first = raw.find(_UNNAMED)
        if 2 * (named + unnamed) != quotes or raw.rfind(pattern) > first:
            return None  # another name, or a name after an unnamed row
        # The first unnamed row: dead (says nothing), or alive and nobody's (a slot left).
        try:
            row = _ROW.decode(raw[raw.rfind(b"[[", 0, first) : first + len(_UNNAMED) + 2])
        except (msgspec.MsgspecError, UnicodeDecodeError):
            return None
        if row.alive and who is not None:
            timeline.append((start + named, None))
    spans = [(start, start + named, ent.name)] if who is not None else []
    return _Control(timeline, spans)


class _Decoder:
    def __init__(self, rec: _Recording, *, replay_id: int, url: str | None):
        self.rec = rec
        self.replay_id = replay_id
        self.url = url
        self.repairs: list[str] = []
        if not rec.captureDelay > 0 or rec.captureDelay != rec.captureDelay:
            self._fail(f"captureDelay = {rec.captureDelay!r}: must be a positive number")
        if rec.endFrame < 0:
            self._fail(f"endFrame = {rec.endFrame}: must not be negative")
        self.entities: dict[int, _Entity] = {}
        for i, ent in enumerate(rec.entities):
            if ent.id in self.entities:
                self._fail(f"entities[{i}].id = {ent.id}: two entities have this id")
            self.entities[ent.id] = ent
        self.vehicle_names = {e.name for e in rec.entities if e.type == "vehicle" and e.name}

    def _fail(self, message: str) -> None:
        raise ReplayParseError(message, replay_id=self.replay_id or None, url=self.url)

    def _frame(self, index: int, event: list[Any]) -> int:
        frame = event[0]
        if isinstance(frame, bool) or not isinstance(frame, int | float) or frame < 0:
            self._fail(f"events[{index}][0] = {frame!r}: a frame must be a non-negative number")
        return int(frame)

    # -- who owns which unit when ----------------------------------------------------------
    def _ownership(self) -> dict[int, list[tuple[int, str | None]]]:
        """Each unit's owners over time: (from frame, person or None for AI), in order.

        Takings (a ``connected`` event, a unit created as a player's) are replayed in frame
        order; a person taking a unit releases the one they held (the hand-over rule), unless
        someone else has taken that one meanwhile — so in a swap each unit keeps its new owner,
        whichever of the two takings came first.
        """
        takings: list[tuple[int, int, str, int]] = []  # (frame, order, person, unit)
        for ent in self.rec.entities:
            if ent.type == "unit" and ent.isPlayer and ent.name:
                takings.append((ent.startFrameNum, len(takings), ent.name, ent.id))
        for i, event in enumerate(self.rec.events):
            if len(event) >= 4 and event[1] == "connected":
                frame = self._frame(i, event)
                name, unit = event[2], event[3]
                if not isinstance(name, str) or not name.strip():
                    continue
                taken = self.entities.get(unit) if isinstance(unit, int) else None
                if taken is not None and taken.type == "unit":
                    takings.append((frame, len(takings), name, unit))
        takings.sort()
        owners: dict[int, list[tuple[int, str | None]]] = defaultdict(list)
        holder: dict[int, str | None] = {}  # unit -> who holds it now
        # person -> (the frame they last took units at, those units). Units taken at one frame
        # (two created as theirs at the start) do not release each other: which one they are
        # in is not known, so both stay theirs until they take another one later.
        held: dict[str, tuple[int, set[int]]] = {}
        for frame, _, name, unit in takings:
            since, units = held.get(name, (frame, set()))
            if since < frame:
                for previous in units - {unit}:
                    if holder.get(previous) == name:
                        owners[previous].append((frame, None))  # released: AI from now on
                        holder[previous] = None
                units = set()
            taken_from = holder.get(unit)
            if taken_from is not None and taken_from != name and taken_from in held:
                held[taken_from][1].discard(unit)
            owners[unit].append((frame, name))
            holder[unit] = name
            held[name] = (frame, units | {unit})
        return owners  # each timeline in the order its takings and releases happened

    @staticmethod
    def _owner(timeline: list[tuple[int, str | None]] | None, frame: int) -> str | None:
        if not timeline:
            return None
        owner = None
        for start, name in timeline:
            if start > frame:
                break
            owner = name
        return owner

    # -- who controls a unit, from its position rows ----------------------------------------
    def _control(self) -> dict[int, list[tuple[int, str | None]]]:
        """Each unit's owners over time as its position rows show them (units whose rows name
        nobody are left out: the events decide for those).

        A living unit's row names its controller: the person when ``is player`` is set and it
        has a name, else nobody (AI, or a slot its player left); a dead unit's rows say
        nothing, so the last living row holds. When one
        person shows in two units at once, a unit that never fires and never leaves the spot
        it appeared on is a ghost: never that person's unit.
        """
        controls: dict[int, _Control] = {}
        for ent in self.rec.entities:
            if ent.type == "unit":
                control = self._row_control(ent)
                if control is not None:
                    controls[ent.id] = control
        for person, unit in self._ghosts(controls):
            control = controls[unit]
            control.timeline = _merged(
                [(f, None if w == person else w) for f, w in control.timeline]
            )
            control.spans = [span for span in control.spans if span[2] != person]
        return {unit: control.timeline for unit, control in controls.items()}

    def _row_control(self, ent: _Entity) -> _Control | None:
        raw = bytes(ent.positions)
        if b'"' not in raw:
            return None  # no row carries a name: silent
        steady = _steady_control(raw, ent)
        if steady is not None:
            return steady
        try:
            rows = _ROWS.decode(raw)
        except (msgspec.MsgspecError, UnicodeDecodeError) as exc:
            self.repairs.append(
                f"entities id {ent.id}: position rows unreadable ({exc}); who controls it is "
                "read from the events"
            )
            return None
        return _runs(rows, ent.startFrameNum)

    def _ghosts(self, controls: dict[int, _Control]) -> set[tuple[str, int]]:
        """(person, unit) pairs where the unit is an idle double of that person's real one."""
        spans: dict[str, list[tuple[int, int, int]]] = defaultdict(list)
        for unit, control in controls.items():
            for start, end, person in control.spans:
                spans[person].append((start, end, unit))
        ghosts: set[tuple[str, int]] = set()
        for person, theirs in spans.items():
            if len({unit for _, _, unit in theirs}) < 2:
                continue
            doubled = {
                unit
                for start, end, unit in theirs
                for other_start, other_end, other in theirs
                if other != unit and other_start < end and start < other_end
            }
            idle = {unit for unit in doubled if self._idle(self.entities[unit])}
            if idle and idle != doubled:
                ghosts |= {(person, unit) for unit in idle}
        return ghosts

    @staticmethod
    def _idle(ent: _Entity) -> bool:
        """Whether a unit never fired and never left the spot it appeared on."""
        if bytes(ent.framesFired).strip() not in (b"", b"[]"):
            return False
        try:
            points = [_POINT.decode(row.pos) for row in _ROWS.decode(ent.positions) if row.name]
        except (msgspec.MsgspecError, UnicodeDecodeError):
            return False
        points = [p for p in points if len(p) >= 2]
        if not points:
            return True
        x0, y0 = points[0][0], points[0][1]
        return all(math.hypot(x - x0, y - y0) < IDLE_RADIUS_M for x, y, *_ in points)

    # -- the replay ------------------------------------------------------------------------
    def run(self, ended_at: dt.datetime | None, started_at: dt.datetime | None) -> OcapRecording:
        rec = self.rec
        # The position rows decide where a unit has them; the events where its rows are silent.
        owners = self._ownership()
        owners.update(self._control())
        # The units each person owned, earliest first (ties: the lower id).
        owned: dict[str, list[tuple[int, int]]] = defaultdict(list)
        for unit, timeline in owners.items():
            for start, name in timeline:
                if name is not None:
                    owned[name].append((start, unit))
        for units in owned.values():
            units.sort()
        players: list[Player] = []
        id_of: dict[str, int] = {}
        taken: set[int] = set()
        spare = max(self.entities, default=-1) + 1
        for name, units in sorted(owned.items(), key=lambda item: item[1][0]):
            unit = units[0][1]
            # Someone who took over another player's first unit is named by their own next
            # unit, or (owning none) by an id past the recording's last entity.
            free = [u for _, u in units if u not in taken]
            if free:
                player_id = free[0]
            else:
                player_id, spare = spare, spare + 1
            taken.add(player_id)
            ent = self.entities[unit]
            side = side_of(ent.side)
            if side is None:
                self.repairs.append(
                    f"entities id {unit} ({name}): side {ent.side!r} is not a side; "
                    "the player is left out"
                )
                continue
            id_of[name] = player_id
            players.append(
                Player(
                    player_id=player_id,
                    side=side.value,
                    nickname=name,
                    slot=ent.description or None,
                    squad=ent.group or None,
                )
            )

        players.sort(key=lambda p: p.player_id)
        frags, vehicle_kills = self._deaths(owners, id_of)
        duration = round(rec.endFrame * rec.captureDelay)
        if ended_at is not None:
            started = ended_at - dt.timedelta(seconds=duration)
        elif started_at is not None:
            started = started_at
        else:
            started = dt.datetime(1970, 1, 1)
            self.repairs.append("the recording carries no date and none was given: 1970-01-01")
        side_players: dict[str, int] = {}
        for side in SIDE_ORDER:
            n = sum(1 for p in players if p.side == side.value)
            if n:
                side_players[side.value] = n
        winner, commanders = self._result(id_of, {p.player_id: p.side for p in players})
        game = Game(
            mission_name=rec.missionName,
            mission_id=0,
            island=rec.worldName,
            date=started.date(),
            started_at=started,
            ended_at=started + dt.timedelta(seconds=duration),
            duration_s=duration,
            winner=winner,
            players_active=len(players),
            slots=sum(1 for e in rec.entities if e.type == "unit" and side_of(e.side)),
            side_players=side_players,
            commanders=commanders,
        )
        vehicles = [
            Vehicle(vehicle_id=e.id, type=e.vehicle_class or "unknown", name=e.name)
            for e in rec.entities
            if e.type == "vehicle"
        ]
        replay = Replay(
            replay_id=self.replay_id,
            game=game,
            players=players,
            vehicles=vehicles,
            frags=frags,
        )
        return OcapRecording(replay, vehicle_kills, rec.missionAuthor, self.repairs)

    def _killer(
        self, index: int, info: Any, frame: int, owners: dict[int, list[tuple[int, str | None]]]
    ) -> tuple[_Entity | None, str | None, str | None, str | None]:
        """The killer entity, the owning player's name, the weapon and the killer's vehicle."""
        if not isinstance(info, list) or not info:
            self._fail(f'events[{index}][3] = {info!r}: expected [killer id, weapon] or ["null"]')
        killer_ref = info[0]
        if killer_ref == "null" or killer_ref is None:
            return None, None, None, None
        if isinstance(killer_ref, bool) or not isinstance(killer_ref, int):
            self._fail(f"events[{index}][3][0] = {killer_ref!r}: a killer id must be an integer")
        raw_weapon = info[1] if len(info) > 1 else None
        vehicle = None
        if isinstance(raw_weapon, list):  # newer OCAP2: [vehicle name, weapon, magazine]
            parts = [p for p in raw_weapon if isinstance(p, str)]
            vehicle = parts[0] if parts and parts[0] else None
            weapon = next((p for p in parts[1:] if p), None) or vehicle
        else:
            weapon = raw_weapon if isinstance(raw_weapon, str) and raw_weapon.strip() else None
        killer = self.entities.get(killer_ref)
        if killer is None:
            return None, None, weapon, vehicle
        if killer.type == "vehicle":
            return killer, None, weapon, killer.name or vehicle
        if vehicle is None and weapon in self.vehicle_names:
            vehicle = weapon
        return killer, self._owner(owners.get(killer.id), frame), weapon, vehicle

    def _deaths(
        self, owners: dict[int, list[tuple[int, str | None]]], id_of: dict[str, int]
    ) -> tuple[list[Frag], list[VehicleKill]]:
        delay = self.rec.captureDelay
        deaths: list[tuple[int, int, dict[str, Any]]] = []
        vehicle_kills: list[tuple[int, int, dict[str, Any]]] = []
        for i, event in enumerate(self.rec.events):
            if len(event) < 2 or event[1] != "killed":
                continue
            if len(event) < 4:
                self._fail(f"events[{i}] = {event!r}: a killed event needs a victim and a killer")
            frame = self._frame(i, event)
            victim = self.entities.get(event[2]) if isinstance(event[2], int) else None
            if victim is None:
                continue  # a unit the recording never described (OCAP leaves these out too)
            killer, killer_name, weapon, vehicle = self._killer(i, event[3], frame, owners)
            distance = event[4] if len(event) > 4 else None
            if not _usable_distance(distance):
                distance = None
            killer_id = id_of.get(killer_name) if killer_name else None
            time_s = round(frame * delay)
            if victim.type == "vehicle":
                vehicle_kills.append(
                    (
                        time_s,
                        victim.id,
                        {
                            "vehicle_id": victim.id,
                            "vehicle_type": victim.vehicle_class or "unknown",
                            "vehicle_name": victim.name,
                            "killer_id": killer_id,
                            "weapon": weapon,
                            "distance_m": float(distance) if distance is not None else None,
                        },
                    )
                )
                continue
            victim_name = self._owner(owners.get(victim.id), frame)
            victim_id = id_of.get(victim_name) if victim_name else None
            if victim_id is None:
                continue  # an AI unit died
            teamkill = (
                killer is not None
                and killer_id is not None
                and killer_id != victim_id
                and side_of(killer.side) is not None
                and side_of(killer.side) == side_of(victim.side)
            )
            deaths.append(
                (
                    time_s,
                    victim_id,
                    {
                        "victim_id": victim_id,
                        "victim_vehicle": None,
                        "killer_id": killer_id,
                        "killer_vehicle": vehicle,
                        "weapon": weapon,
                        "distance_m": float(distance) if distance is not None else None,
                        "teamkill": teamkill,
                    },
                )
            )
        deaths.sort(key=lambda d: (d[0], d[1]))
        vehicle_kills.sort(key=lambda d: (d[0], d[1]))
        frags = [Frag(seq=n, time_s=ts, **f) for n, (ts, _, f) in enumerate(deaths, 1)]
        vkills = [
            VehicleKill(seq=n, time_s=ts, **f) for n, (ts, _, f) in enumerate(vehicle_kills, 1)
        ]
        return frags, vkills

    def _result(
        self, id_of: dict[str, int], side_of_player: dict[int, str]
    ) -> tuple[str | None, dict[str, Commander]]:
        """The winning side and the commanders, from endMission or the commanders' message
        (a commander's side is his player's: his id need not be a unit's)."""
        for i, event in enumerate(self.rec.events):
            if len(event) >= 3 and event[1] == "endMission":
                payload = event[2]
                side_text = payload[0] if isinstance(payload, list) and payload else payload
                side = side_of(side_text) if isinstance(side_text, str) else None
                if side is not None:
                    return side.value, {}
                self.repairs.append(f"events[{i}]: endMission names no side ({payload!r})")
        for event in self.rec.events:
            if len(event) >= 3 and event[1] == "mission_message" and isinstance(event[2], str):
                match = _WIN_MESSAGE.search(event[2].strip())
                if not match:
                    continue
                commanders: dict[str, Commander] = {}
                winner = None
                for role in ("winner", "loser"):
                    name = match.group(role).strip()
                    player_id = id_of.get(name)
                    if player_id is None or (own := side_of_player.get(player_id)) is None:
                        continue
                    commanders.setdefault(own, Commander(player_id=player_id, nickname=name))
                    if role == "winner":
                        winner = own
                return winner, dict(sorted(commanders.items()))
        return None, {}


__all__ = [
    "OcapRecording",
    "OcapReplay",
    "VehicleKill",
    "check_size",
    "decode_file",
    "decode_recording",
    "ended_at_from_name",
    "is_gzip",
    "uncompressed",
]
