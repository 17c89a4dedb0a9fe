"""Pure parsers for the stats site's games list, game pages and replay JSON.

No I/O here. The HTML parsers find things by their labels and links with lxml, so whitespace,
attribute order, extra rows, nested markup and HTML entities do not matter. A required fact
that is missing raises :class:`ReplayParseError` naming the replay, the URL and the label;
optional facts (winner, commanders, absent sides, unknown killers) become ``None``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable
from typing import Any

import lxml.html
import msgspec

from wog_core.ids import MAX_ID
from wog_core.models import (
    FALLBACK_ENCODING,
    Commander,
    Frag,
    GameListing,
    GamePage,
    Player,
    ReplayData,
    Vehicle,
)
from wog_core.sides import SIDE_ORDER, Side
from wog_sources.errors import ReplayNotFound, ReplayParseError
from wog_sources.jsonguard import MAX_NESTING, decode_error_message, nesting_message, too_deep

ERROR_PAGE_TITLE = "Ошибка / WOG Stats"

LABEL_ISLAND = "Остров"
LABEL_COMMANDER = "Командир стороны"
LABEL_WINNER = "Сторона-победитель"
LABEL_PLAYERS = "Количество игроков / слотов"
LABEL_STARTED = "Дата и время старта миссии"
LABEL_ENDED = "Дата и время окончания миссии"
LABEL_DURATION = "Длительность миссии"

# Ids are ASCII digits (``\d`` would also match other scripts' digits, which int() accepts).
_GAME_HREF = re.compile(r"/games/([0-9]+)/?$")
_MISSION_HREF = re.compile(r"/missions/([0-9]+)/?$")
_PLAYER_HREF = re.compile(r"/players/([0-9]+)/?$")
_COUNT = re.compile(r"(-?\d+)\s*/\s*(-?\d+)")
_DATE_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_DATE_ISO = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME = re.compile(r"(\d{1,2}):(\d{2})(?::(\d{2}))?")
_DURATION = re.compile(r"^(\d+):(\d{2}):(\d{2})$")
_SPACE = re.compile(r"\s+")


def _text(element: Any) -> str:
    return _SPACE.sub(" ", element.text_content()).strip()


def _document(html: str, what: str, replay_id: int | None, url: str | None) -> Any:
    if not html or not html.strip():
        raise ReplayParseError(f"{what} is empty", replay_id=replay_id, url=url)
    try:
        return lxml.html.document_fromstring(html.replace("\x00", ""))
    except (lxml.etree.ParserError, ValueError) as exc:
        raise ReplayParseError(f"{what} is not HTML: {exc}", replay_id=replay_id, url=url) from exc


def page_title(html: str) -> str:
    """The page's ``<title>`` text with whitespace collapsed ('' if none)."""
    doc = _document(html, "page", None, None)
    title = doc.find(".//title")
    return _text(title) if title is not None else ""


def is_error_page(html: str) -> bool:
    """True for the site's «Ошибка / WOG Stats» page (a game that does not exist)."""
    try:
        return page_title(html) == ERROR_PAGE_TITLE
    except ReplayParseError:
        return False


# --- games list -----------------------------------------------------------------------------


def parse_games_list(html: str, *, url: str | None = None) -> list[GameListing]:
    """Games on the list page as ``(replay_id, players, slots)``, newest (highest id) first.

    Each game is a link to ``/games/<id>/``; its ``N / M`` (players / slots; spaced counts win,
    so a mission called ``Op 1/2`` is not a count) is looked for in the game's row — the
    nearest ``<tr>`` — else in the elements around the link (its parent and the elements that
    follow it), which covers table and ``div`` layouts. A game whose count is nowhere is listed
    with 0 / 0 (the game page is the authority). A page with game links from which no game can
    be read raises :class:`ReplayParseError`: a redesigned page is never "no new games".
    """
    doc = _document(html, "games list", None, url)
    found: dict[int, GameListing] = {}
    links = 0
    for link in doc.iter("a"):
        match = _GAME_HREF.search(link.get("href") or "")
        if not match:
            continue
        links += 1
        replay_id = int(match.group(1))
        if replay_id in found or not 1 <= replay_id <= MAX_ID:
            continue
        count = _listed_count(link)
        players, slots = (max(0, int(g)) for g in count.groups()) if count else (0, 0)
        found[replay_id] = GameListing(replay_id, players, slots)
    if not links:
        raise ReplayParseError("no links to /games/<id>/ found on the games list", url=url)
    return sorted(found.values(), key=lambda g: g.replay_id, reverse=True)


# The site writes "N / M"; a count written "N/M" is only taken when no spaced one is there,
# so a mission called "Op 1/2" beside the count is not read as 1 player.
_LISTED_COUNTS = (re.compile(r"(-?\d+)\s+/\s+(-?\d+)"), _COUNT)


def _listed_count(link: Any) -> re.Match[str] | None:
    """``N / M`` for a game link: in its table row, else around the link."""
    own = _text(link)
    row = next((a for a in link.iterancestors() if a.tag == "tr"), None)
    places = [row] if row is not None else []
    parent = link.getparent()
    if row is None and parent is not None:
        places += [parent, *list(link.itersiblings())[:3], parent.getnext()]
    texts = []
    for place in places:
        if place is None:
            continue
        text = _text(place)
        if own and place is not link:
            text = text.replace(own, " ", 1)  # the link's own text (a mission name) is not a count
        texts.append(text)
    for pattern in _LISTED_COUNTS:
        for text in texts:
            if count := pattern.search(text):
                return count
    return None


# --- game page ------------------------------------------------------------------------------


class _Rows:
    """The page's ``<th>label</th><td>value</td>`` rows, looked up by label."""

    def __init__(self, doc: Any, replay_id: int | None, url: str | None):
        self.replay_id = replay_id
        self.url = url
        self.cells: list[tuple[str, Any]] = []
        for th in doc.iter("th"):
            td = th.getnext()
            while td is not None and td.tag != "td":
                td = td.getnext()
            if td is not None:
                self.cells.append((_text(th), td))

    def find(self, label: str) -> Any | None:
        for text, td in self.cells:
            if text == label or text.rstrip(":") == label:
                return td
        return None

    def require(self, label: str) -> Any:
        td = self.find(label)
        if td is None:
            raise ReplayParseError(
                f"row '{label}' not found", replay_id=self.replay_id, url=self.url
            )
        return td

    def fail(self, label: str, problem: str) -> ReplayParseError:
        return ReplayParseError(f"row '{label}': {problem}", replay_id=self.replay_id, url=self.url)

    def starting_with(self, prefix: str) -> list[tuple[str, Any]]:
        return [(text, td) for text, td in self.cells if text.startswith(prefix)]


def _date_in(text: str) -> dt.date | None:
    if m := _DATE_DMY.search(text):
        day, month, year = (int(g) for g in m.groups())
    elif m := _DATE_ISO.search(text):
        year, month, day = (int(g) for g in m.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _time_in(text: str) -> dt.time | None:
    # Search after any date so "05.10.2024" is not mistaken for a time.
    date_match = _DATE_DMY.search(text) or _DATE_ISO.search(text)
    rest = text[date_match.end() :] if date_match else text
    m = _TIME.search(rest)
    if not m:
        return None
    hours, minutes, seconds = int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    return dt.time(hours, minutes, seconds)


def parse_game_page(html: str, *, replay_id: int | None = None, url: str | None = None) -> GamePage:
    """Parse a game page into a :class:`GamePage`.

    ``replay_id`` is used for error messages and as the game's id; when None it is taken from
    the page's canonical/`/games/<id>/` link if there is one.
    """
    doc = _document(html, "game page", replay_id, url)
    title_el = doc.find(".//title")
    title = _text(title_el) if title_el is not None else ""
    if title == ERROR_PAGE_TITLE:
        raise ReplayNotFound(
            "the site shows its error page (no such game)", replay_id=replay_id, url=url
        )

    if replay_id is None:
        replay_id = _replay_id_from_links(doc) or _replay_id_from_heading(doc)
        if replay_id is None:
            raise ReplayParseError("no replay id given and none found on the page", url=url)
    rows = _Rows(doc, replay_id, url)

    played_on = _date_in(title.rsplit(" от ", 1)[-1]) if " от " in title else None
    if played_on is None:
        raise ReplayParseError(
            f"title {title!r} does not end with 'от DD.MM.YYYY / WOG Stats'",
            replay_id=replay_id,
            url=url,
        )

    mission_id, mission_name = None, None
    for link in doc.iter("a"):
        if m := _MISSION_HREF.search(link.get("href") or ""):
            mission_id, mission_name = int(m.group(1)), _text(link)
            break
    if mission_id is None or not mission_name:
        raise ReplayParseError(
            "no link to /missions/<id>/ (mission name)", replay_id=replay_id, url=url
        )

    island = _text(rows.require(LABEL_ISLAND))
    if not island:
        raise rows.fail(LABEL_ISLAND, "empty")

    players_text = _text(rows.require(LABEL_PLAYERS))
    count = _COUNT.search(players_text)
    if not count:
        raise rows.fail(LABEL_PLAYERS, f"expected 'N / M', found {players_text!r}")
    if int(count.group(1)) < 0 or int(count.group(2)) < 0:
        raise rows.fail(LABEL_PLAYERS, f"negative count in {players_text!r}")

    started_at = _timestamp(rows, LABEL_STARTED, played_on)
    ended_at = _timestamp(rows, LABEL_ENDED, started_at.date())
    if ended_at < started_at:  # the end carried no date of its own and fell after midnight
        ended_at += dt.timedelta(days=1)

    duration_text = _text(rows.require(LABEL_DURATION))
    duration = _DURATION.match(duration_text)
    if not duration:
        raise rows.fail(LABEL_DURATION, f"expected 'HH:MM:SS', found {duration_text!r}")
    hours, minutes, seconds = (int(g) for g in duration.groups())

    return GamePage(
        replay_id=replay_id,
        mission_name=mission_name,
        mission_id=mission_id,
        island=island,
        date=played_on,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=hours * 3600 + minutes * 60 + seconds,
        winner=_winner(rows),
        players_active=int(count.group(1)),
        slots=int(count.group(2)),
        commanders=_commanders(rows),
    )


_HEADING_ID = re.compile(r"Игра\s*#\s*(\d+)")


def _replay_id_from_heading(doc: Any) -> int | None:
    """The id in a saved page's heading ``Игра #N``."""
    for heading in doc.iter("h1", "h2", "h3"):
        if m := _HEADING_ID.search(_text(heading)):
            return int(m.group(1))
    return None


def _replay_id_from_links(doc: Any) -> int | None:
    for element in doc.iter("link", "a"):
        if m := _GAME_HREF.search(element.get("href") or ""):
            return int(m.group(1))
    return None


def _timestamp(rows: _Rows, label: str, default_date: dt.date) -> dt.datetime:
    text = _text(rows.require(label))
    time = _time_in(text)
    if time is None:
        raise rows.fail(label, f"expected '<date>, HH:MM:SS', found {text!r}")
    return dt.datetime.combine(_date_in(text) or default_date, time)


def _winner(rows: _Rows) -> str | None:
    td = rows.find(LABEL_WINNER)
    if td is None:
        return None
    spans = td.findall(".//span")
    candidates = [_text(s) for s in spans] or [_text(td)]
    for text in candidates:
        if side := Side.parse(text):
            return side.value
    return None


def _commanders(rows: _Rows) -> dict[str, Commander]:
    found: dict[str, Commander] = {}
    for label, td in rows.starting_with(LABEL_COMMANDER):
        side = Side.parse(label[len(LABEL_COMMANDER) :])
        if side is None:
            continue
        for link in td.iter("a"):
            if m := _PLAYER_HREF.search(link.get("href") or ""):
                # Nicknames are kept as written (only trimmed): they are identities.
                found[side.value] = Commander(int(m.group(1)), link.text_content().strip())
                break
    return {s.value: found[s.value] for s in SIDE_ORDER if s.value in found}


# --- replay JSON ----------------------------------------------------------------------------

# Only these keys are decoded; everything else (the viewer's movement data, often most of the
# document) is skipped by msgspec without building Python objects for it. Each kept section is
# small and decoded strictly: a key given twice, NaN or Infinity is an error, not a guess.


_ABSENT = msgspec.Raw(b"null")


class _RawReplay(msgspec.Struct):
    factions: msgspec.Raw = _ABSENT
    players: msgspec.Raw = _ABSENT
    vehiclesUnits: msgspec.Raw = _ABSENT
    playersDead: msgspec.Raw = _ABSENT


_decoder = msgspec.json.Decoder(_RawReplay)

# Rules for values real data should not have (docs/maintainer.md, "Bad data"): what is repaired is listed
# with the replay; what cannot be repaired rejects the replay with one line.
MAX_DISTANCE_M = 50_000.0  # the largest Arma 3 maps are ~40 km across; beyond is no distance


class _Notes:
    """Repairs made while parsing one replay, one line each."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def repair(self, field: str, value: object, action: str) -> None:
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        self.lines.append(f"{field} = {shown}: {action}")


Fail = Callable[[str], ReplayParseError]


def parse_replay_json(
    body: bytes | str, *, replay_id: int | None = None, url: str | None = None
) -> ReplayData:
    """Decode the replay JSON into side counts, players, vehicles and frags.

    Frags are ordered by time, then victim id, and numbered ``seq`` 0.. in that order.
    Unknown killers (null, 0, missing) become ``None``; empty vehicle/weapon strings too.
    What had to be repaired is listed in ``ReplayData.repairs``.
    """

    def fail(message: str) -> ReplayParseError:
        return ReplayParseError(message, replay_id=replay_id, url=url)

    notes = _Notes()
    raw = _decode_replay(body, fail, notes)
    players = _section(raw.players, "players", fail, notes)
    if players is None:
        raise fail("replay JSON has no 'players' object")
    return ReplayData(
        side_players=_side_players(_section(raw.factions, "factions", fail, notes), fail),
        players=_players(players, fail, notes),
        vehicles=_vehicles(_section(raw.vehiclesUnits, "vehiclesUnits", fail, notes), fail, notes),
        frags=_frags(_section(raw.playersDead, "playersDead", fail, notes), fail, notes),
        repairs=notes.lines,
    )


def _decode_replay(body: bytes | str, fail: Fail, notes: _Notes) -> _RawReplay:
    if isinstance(body, str):
        body = body.encode("utf-8", errors="surrogatepass")
    if not body.strip():
        raise fail("replay JSON is empty")
    deep = too_deep(body)
    if deep is not None:
        raise fail(f"replay JSON: {nesting_message(deep)}")
    try:
        return _decoder.decode(body)
    except UnicodeDecodeError:
        notes.repair("replay JSON", "not UTF-8", f"decoded as {FALLBACK_ENCODING}")
        return _decode_replay(_recode(body), fail, _Notes())
    except msgspec.ValidationError as exc:
        raise fail(f"unexpected replay JSON layout: {exc}") from None
    except msgspec.DecodeError as exc:
        raise fail(f"replay JSON: {decode_error_message(body, exc)}") from None
    except RecursionError:  # only if the stack was nearly spent before decoding began
        raise fail(
            f"replay JSON is nested too deeply to decode here (limit {MAX_NESTING})"
        ) from None


def _recode(body: bytes) -> bytes:
    return body.decode(FALLBACK_ENCODING, errors="replace").encode("utf-8")


def _section(raw: msgspec.Raw, name: str, fail: Fail, notes: _Notes) -> Any:
    """One kept section, decoded strictly (duplicate keys and NaN/Infinity are errors)."""
    data = bytes(raw)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        notes.repair(name, "not UTF-8", f"decoded as {FALLBACK_ENCODING}")
        text = data.decode(FALLBACK_ENCODING, errors="replace")

    def unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in pairs:
            if key in result:
                raise fail(f"{name}: key {key!r} appears twice")
            result[key] = value
        return result

    def no_constants(token: str) -> Any:
        raise fail(f"{name}: {token} is not a number")

    try:
        return json.loads(text, object_pairs_hook=unique, parse_constant=no_constants)
    except (ValueError, RecursionError) as exc:
        if isinstance(exc, ReplayParseError):
            raise
        raise fail(f"{name}: not valid JSON: {exc}") from None


def _items(value: Any, name: str, fail: Fail) -> list[tuple[str, Any]]:
    """Entries of a JSON object; PHP encodes an empty object as ``[]``, so accept lists too."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return [(str(i), v) for i, v in enumerate(value) if v is not None]
    raise fail(
        f"unexpected replay JSON layout: {name}: expected an object, got {type(value).__name__}"
    )


def _int(value: Any) -> int | None:
    """An integer from a JSON number or numeric string; None for anything else (NaN, text)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        value = value.strip()
        try:
            return int(value)
        except ValueError:
            pass
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return int(number) if math.isfinite(number) else None


def _text_field(value: Any, field: str, notes: _Notes) -> str | None:
    """Text for a name-like field: strings (NULs removed) and numbers; anything else is unknown."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        notes.repair(field, value, "not text; stored as unknown")
        return None
    text = str(value)
    if "\x00" in text:
        notes.repair(field, text, "NUL characters removed")
        text = text.replace("\x00", "")
    return text.strip() or None


def _at(row: list[Any], index: int) -> Any:
    return row[index] if len(row) > index else None


def _side_players(factions: Any, fail: Fail) -> dict[str, int]:
    """``factions``: side number → [.., .., player count, ..]; absent sides are left out."""
    counts: dict[str, int] = {}
    for key, value in _items(factions, "factions", fail):
        side = Side.from_number(key)
        count = _int(_at(value, 2)) if isinstance(value, list) else None
        if side is None or count is None:
            continue
        if count < 0:
            raise fail(f"factions[{key!r}]: player count {count} is negative")
        counts[side.value] = count
    return {s.value: counts[s.value] for s in SIDE_ORDER if s.value in counts}


def _players(raw_players: Any, fail: Fail, notes: _Notes) -> list[Player]:
    """``players``: player id → [side, nickname, slot, squad], ordered by id."""
    players: list[Player] = []
    for key, value in _items(raw_players, "players", fail):
        player_id = _int(key)
        if player_id is None or not isinstance(value, list) or len(value) < 2:
            raise fail(f"players[{key!r}]: expected [side, nickname, slot, squad], got {value!r}")
        side = Side.from_number(value[0]) if not isinstance(value[0], bool) else None
        if side is None:
            raise fail(f"players[{key!r}]: unknown side {value[0]!r}")
        field = f"players[{key!r}]"
        players.append(
            Player(
                player_id=player_id,
                side=side.value,
                nickname=_text_field(value[1], f"{field}.nickname", notes) or "",
                slot=_text_field(_at(value, 2), f"{field}.slot", notes),
                squad=_text_field(_at(value, 3), f"{field}.squad", notes),
            )
        )
    return sorted(players, key=lambda p: p.player_id)


def _vehicles(raw_vehicles: Any, fail: Fail, notes: _Notes) -> list[Vehicle]:
    """``vehiclesUnits``: vehicle id → [type, name], ordered by id."""
    vehicles: list[Vehicle] = []
    for key, value in _items(raw_vehicles, "vehiclesUnits", fail):
        vehicle_id = _int(key)
        if vehicle_id is None or not isinstance(value, list) or not value:
            raise fail(f"vehiclesUnits[{key!r}]: expected [type, name], got {value!r}")
        field = f"vehiclesUnits[{key!r}]"
        vehicles.append(
            Vehicle(
                vehicle_id,
                _text_field(value[0], f"{field}.type", notes) or "unknown",
                _text_field(_at(value, 1), f"{field}.name", notes) or "",
            )
        )
    return sorted(vehicles, key=lambda v: v.vehicle_id)


def _frags(players_dead: Any, fail: Fail, notes: _Notes) -> list[Frag]:
    """``playersDead``: time → victim id → [victim vehicle, killer, killer vehicle, weapon,
    distance, teamkill], numbered in (time, victim) order."""
    deaths: list[tuple[int, int, list[Any]]] = []
    for time_key, victims in _items(players_dead, "playersDead", fail):
        time_s = _int(time_key)
        if time_s is None:
            raise fail(f"playersDead[{time_key!r}]: time is not a number")
        for victim_key, row in _items(victims, f"playersDead[{time_key!r}]", fail):
            victim_id = _int(victim_key)
            if victim_id is None or not isinstance(row, list):
                raise fail(f"playersDead[{time_key!r}][{victim_key!r}]: unexpected {row!r}")
            deaths.append((time_s, victim_id, row))
    deaths.sort(key=lambda d: (d[0], d[1]))
    return [
        _frag(seq, time_s, victim_id, row, notes)
        for seq, (time_s, victim_id, row) in enumerate(deaths)
    ]


def _frag(seq: int, time_s: int, victim_id: int, row: list[Any], notes: _Notes) -> Frag:
    field = f"playersDead[{time_s}][{victim_id}]"
    killer_id = _int(_at(row, 1))
    return Frag(
        seq=seq,
        time_s=time_s,
        victim_id=victim_id,
        victim_vehicle=_text_field(_at(row, 0), f"{field}.victim_vehicle", notes),
        killer_id=killer_id if killer_id and killer_id > 0 else None,
        killer_vehicle=_text_field(_at(row, 2), f"{field}.killer_vehicle", notes),
        weapon=_text_field(_at(row, 3), f"{field}.weapon", notes),
        distance_m=_distance(_at(row, 4), f"{field}.distance", notes),
        teamkill=bool(_int(_at(row, 5)) or _at(row, 5) is True),
    )


def _distance(value: Any, field: str, notes: _Notes) -> float | None:
    """Metres; unknown when missing, and (repaired) when not finite, negative or beyond a map."""
    if value in (None, "") or isinstance(value, bool):
        return None
    try:
        distance = float(value)
    except (TypeError, ValueError, OverflowError):
        notes.repair(field, value, "not a number; stored as unknown")
        return None
    if not math.isfinite(distance) or not 0 <= distance <= MAX_DISTANCE_M:
        notes.repair(field, value, f"outside 0..{MAX_DISTANCE_M:.0f} m; stored as unknown")
        return None
    return distance
