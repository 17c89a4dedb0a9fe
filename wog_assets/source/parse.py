"""Pure parsers for the stats site's games list, game pages and replay JSON.

No I/O here. The HTML parsers find things by their labels and links with lxml, so whitespace,
attribute order, extra rows, nested markup and HTML entities do not matter. A required fact
that is missing raises :class:`ReplayParseError` naming the replay, the URL and the label;
optional facts (winner, commanders, absent sides, unknown killers) become ``None``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import lxml.html
import msgspec

from wog_assets.source.errors import ReplayNotFound, ReplayParseError
from wog_core.models import (
    Commander,
    Frag,
    GameListing,
    GamePage,
    Player,
    ReplayData,
    Vehicle,
)
from wog_core.sides import SIDE_ORDER, Side

ERROR_PAGE_TITLE = "Ошибка / WOG Stats"

LABEL_ISLAND = "Остров"
LABEL_COMMANDER = "Командир стороны"
LABEL_WINNER = "Сторона-победитель"
LABEL_PLAYERS = "Количество игроков / слотов"
LABEL_STARTED = "Дата и время старта миссии"
LABEL_ENDED = "Дата и время окончания миссии"
LABEL_DURATION = "Длительность миссии"

_GAME_HREF = re.compile(r"/games/(\d+)/?$")
_MISSION_HREF = re.compile(r"/missions/(\d+)/?$")
_PLAYER_HREF = re.compile(r"/players/(\d+)/?$")
_COUNT = re.compile(r"(\d+)\s*/\s*(\d+)")
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
        return lxml.html.document_fromstring(html)
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

    Each game is a link to ``/games/<id>/`` whose row (the nearest ``<tr>``, else the link's
    parent) carries ``N / M``. Rows without a count are skipped: the list's job is detection,
    and the game page is the authority on counts.
    """
    doc = _document(html, "games list", None, url)
    found: dict[int, GameListing] = {}
    for link in doc.iter("a"):
        match = _GAME_HREF.search(link.get("href") or "")
        if not match:
            continue
        replay_id = int(match.group(1))
        row = next((a for a in link.iterancestors() if a.tag == "tr"), link.getparent())
        count = _COUNT.search(_text(row)) if row is not None else None
        if count is None or replay_id in found:
            continue
        found[replay_id] = GameListing(replay_id, int(count.group(1)), int(count.group(2)))
    if not found and "/games/" not in html:
        raise ReplayParseError("no links to /games/<id>/ found on the games list", url=url)
    return sorted(found.values(), key=lambda g: g.replay_id, reverse=True)


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
        replay_id = _replay_id_from_links(doc)
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
# document) is skipped by msgspec without building Python objects for it.
_Obj = dict[str, list[Any]] | list[Any] | None


class _RawReplay(msgspec.Struct):
    factions: _Obj = None
    players: _Obj = None
    vehiclesUnits: _Obj = None
    playersDead: dict[str, dict[str, list[Any]] | list[Any]] | list[Any] | None = None


_decoder = msgspec.json.Decoder(_RawReplay)


def _items(value: Any) -> list[tuple[str, Any]]:
    """Entries of a JSON object; PHP encodes an empty object as ``[]``, so accept lists too."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.items())
    return [(str(i), v) for i, v in enumerate(value) if v is not None]


def _int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError):
        return None
    return number


def _str(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _at(row: list[Any], index: int) -> Any:
    return row[index] if len(row) > index else None


def parse_replay_json(
    body: bytes | str, *, replay_id: int | None = None, url: str | None = None
) -> ReplayData:
    """Decode the replay JSON into side counts, players, vehicles and frags.

    Frags are ordered by time, then victim id, and numbered ``seq`` 0.. in that order.
    Unknown killers (null, 0, missing) become ``None``; empty vehicle/weapon strings too.
    """

    def fail(message: str) -> ReplayParseError:
        return ReplayParseError(message, replay_id=replay_id, url=url)

    raw = _decode_replay(body, fail)
    if raw.players is None:
        raise fail("replay JSON has no 'players' object")
    return ReplayData(
        side_players=_side_players(raw.factions),
        players=_players(raw.players, fail),
        vehicles=_vehicles(raw.vehiclesUnits, fail),
        frags=_frags(raw.playersDead, fail),
    )


Fail = Callable[[str], ReplayParseError]


def _decode_replay(body: bytes | str, fail: Fail) -> _RawReplay:
    if isinstance(body, str):
        body = body.encode("utf-8")
    if not body.strip():
        raise fail("replay JSON is empty")
    try:
        return _decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise fail(f"unexpected replay JSON layout: {exc}") from None
    except msgspec.DecodeError as exc:
        raise fail(f"replay JSON is not valid JSON (truncated download?): {exc}") from None


def _side_players(factions: Any) -> dict[str, int]:
    """``factions``: side number → [.., .., player count, ..]; absent sides are left out."""
    counts: dict[str, int] = {}
    for key, value in _items(factions):
        side = Side.from_number(key)
        count = _int(_at(value, 2)) if isinstance(value, list) else None
        if side is not None and count is not None:
            counts[side.value] = count
    return {s.value: counts[s.value] for s in SIDE_ORDER if s.value in counts}


def _players(raw_players: Any, fail: Fail) -> list[Player]:
    """``players``: player id → [side, nickname, slot, squad], ordered by id."""
    players: list[Player] = []
    for key, value in _items(raw_players):
        player_id = _int(key)
        if player_id is None or not isinstance(value, list) or len(value) < 2:
            raise fail(f"players[{key!r}]: expected [side, nickname, slot, squad], got {value!r}")
        side = Side.from_number(value[0])
        if side is None:
            raise fail(f"players[{key!r}]: unknown side {value[0]!r}")
        players.append(
            Player(
                player_id=player_id,
                side=side.value,
                nickname=str(value[1]) if value[1] is not None else "",
                slot=_str(_at(value, 2)),
                squad=_str(_at(value, 3)),
            )
        )
    return sorted(players, key=lambda p: p.player_id)


def _vehicles(raw_vehicles: Any, fail: Fail) -> list[Vehicle]:
    """``vehiclesUnits``: vehicle id → [type, name], ordered by id."""
    vehicles: list[Vehicle] = []
    for key, value in _items(raw_vehicles):
        vehicle_id = _int(key)
        if vehicle_id is None or not isinstance(value, list) or not value:
            raise fail(f"vehiclesUnits[{key!r}]: expected [type, name], got {value!r}")
        vehicles.append(
            Vehicle(vehicle_id, _str(value[0]) or "unknown", str(_at(value, 1) or "").strip())
        )
    return sorted(vehicles, key=lambda v: v.vehicle_id)


def _frags(players_dead: Any, fail: Fail) -> list[Frag]:
    """``playersDead``: time → victim id → [victim vehicle, killer, killer vehicle, weapon,
    distance, teamkill], numbered in (time, victim) order."""
    deaths: list[tuple[int, int, list[Any]]] = []
    for time_key, victims in _items(players_dead):
        time_s = _int(time_key)
        if time_s is None:
            raise fail(f"playersDead[{time_key!r}]: time is not a number")
        for victim_key, row in _items(victims):
            victim_id = _int(victim_key)
            if victim_id is None or not isinstance(row, list):
                raise fail(f"playersDead[{time_key!r}][{victim_key!r}]: unexpected {row!r}")
            deaths.append((time_s, victim_id, row))
    deaths.sort(key=lambda d: (d[0], d[1]))
    return [
        _frag(seq, time_s, victim_id, row) for seq, (time_s, victim_id, row) in enumerate(deaths)
    ]


def _frag(seq: int, time_s: int, victim_id: int, row: list[Any]) -> Frag:
    killer_id = _int(_at(row, 1))
    distance = _at(row, 4)
    try:
        distance_m = float(distance) if distance not in (None, "") else None
    except (TypeError, ValueError):
        distance_m = None
    return Frag(
        seq=seq,
        time_s=time_s,
        victim_id=victim_id,
        victim_vehicle=_str(_at(row, 0)),
        killer_id=killer_id if killer_id and killer_id > 0 else None,
        killer_vehicle=_str(_at(row, 2)),
        weapon=_str(_at(row, 3)),
        distance_m=distance_m,
        teamkill=bool(_int(_at(row, 5)) or _at(row, 5) is True),
    )
