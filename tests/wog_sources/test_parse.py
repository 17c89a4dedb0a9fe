"""Parsers: generated round trips, hand-written pages, and every optional/failure case."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from wog_core.models import Commander, GameListing, combine, to_json
from wog_fakes.generator import (
    ERROR_PAGE_HTML,
    GameOptions,
    generate_game,
    render_game_page,
    render_games_list,
)
from wog_sources.errors import ReplayNotFound, ReplayParseError
from wog_sources.parse import parse_game_page, parse_games_list, parse_replay_json


@pytest.mark.parametrize("replay_id", range(3400, 3460))
def test_generated_games_round_trip_exactly(replay_id: int) -> None:
    game = generate_game(replay_id, seed=7)
    page = parse_game_page(game.page_html, replay_id=replay_id)
    data = parse_replay_json(game.replay_json, replay_id=replay_id)
    assert combine(page, data) == game.replay


def test_bulky_viewer_data_is_skipped_but_the_game_survives() -> None:
    game = generate_game(3413, seed=1, options=GameOptions(viewer_bytes=2_000_000))
    assert len(game.replay_json) > 2_000_000
    data = parse_replay_json(game.replay_json, replay_id=3413)
    assert data.players == game.replay.players
    assert data.frags == game.replay.frags


HAND_PAGE = """<!DOCTYPE html><html><head>
<title>Игра «Красный рассвет» от 05.10.2024 / WOG Stats</title></head>
<body><h1>  <a class="m" href="/missions/812/"> Красный &laquo;рассвет&raquo; </a></h1>
<table>
  <tr><th>Сервер</th><td>Main</td></tr>
  <tr>
     <th>  Остров </th>
     <td><i>Черна&shy;русь</i> &amp; окрестности</td></tr>
  <tr><th>Командир стороны <span class="side">WEST</span></th>
      <td><a title="x" href="/projects/wog-a3/players/451/">[WOG] Иван &lt;3</a></td></tr>
  <tr><th>Командир стороны
     <span class="side">EAST</span></th><td>—</td></tr>
  <tr><th>Сторона-победитель</th><td><span style="color:#00f">WEST</span></td></tr>
  <tr><th>Количество игроков / слотов</th><td>\t120\n /\n 150 </td></tr>
  <tr><th>Дата и время старта миссии</th><td>05.10.2024, 23:10:05</td></tr>
  <tr><th>Дата и время окончания миссии</th><td>06.10.2024, 01:02:03</td></tr>
  <tr><th>Длительность миссии</th><td>01:51:58</td></tr>
</table></body></html>"""


def test_hand_written_page_with_entities_nested_markup_and_midnight() -> None:
    page = parse_game_page(HAND_PAGE, replay_id=3413, url="http://site/games/3413/")
    assert page.mission_id == 812
    assert page.mission_name == "Красный «рассвет»"
    assert page.island == "Черна\xadрусь & окрестности"
    assert page.date == dt.date(2024, 10, 5)
    assert page.started_at == dt.datetime(2024, 10, 5, 23, 10, 5)
    assert page.ended_at == dt.datetime(2024, 10, 6, 1, 2, 3)
    assert page.duration_s == 1 * 3600 + 51 * 60 + 58
    assert page.winner == "WEST"
    assert (page.players_active, page.slots) == (120, 150)
    # EAST's row has no player link: no commander rather than a wrong one.
    assert page.commanders == {"WEST": Commander(451, "[WOG] Иван <3")}


def test_end_time_without_a_date_after_midnight_is_the_next_day() -> None:
    html = HAND_PAGE.replace("06.10.2024, 01:02:03", "01:02:03")
    page = parse_game_page(html, replay_id=1)
    assert page.ended_at == dt.datetime(2024, 10, 6, 1, 2, 3)


@pytest.mark.parametrize(
    "winner_cell", ["<td><span>Ничья</span></td>", "<td></td>", "<td><span>-</span></td>"]
)
def test_no_winner_is_none(winner_cell: str) -> None:
    html = HAND_PAGE.replace('<td><span style="color:#00f">WEST</span></td>', winner_cell)
    assert parse_game_page(html, replay_id=1).winner is None


def test_missing_winner_row_is_none() -> None:
    html = HAND_PAGE.replace("Сторона-победитель", "Что-то другое")
    assert parse_game_page(html, replay_id=1).winner is None


@pytest.mark.parametrize(
    "label",
    [
        "Остров",
        "Количество игроков / слотов",
        "Дата и время старта миссии",
        "Дата и время окончания миссии",
        "Длительность миссии",
    ],
)
def test_a_missing_required_row_names_replay_url_and_label(label: str) -> None:
    game = generate_game(3413, seed=3)
    html = render_game_page(game.replay, drop_row=label)
    with pytest.raises(ReplayParseError) as info:
        parse_game_page(html, replay_id=3413, url="http://site/games/3413/")
    assert str(info.value) == f"replay 3413, http://site/games/3413/: row '{label}' not found"


def test_missing_mission_link_and_bad_title_are_reported() -> None:
    with pytest.raises(ReplayParseError, match="/missions/"):
        parse_game_page(HAND_PAGE.replace('href="/missions/812/"', 'href="/x/"'), replay_id=1)
    with pytest.raises(ReplayParseError, match="title"):
        parse_game_page(HAND_PAGE.replace(" от 05.10.2024", ""), replay_id=1)


def test_bad_values_are_reported_with_what_was_found() -> None:
    html = HAND_PAGE.replace("01:51:58", "long")
    with pytest.raises(
        ReplayParseError, match="'Длительность миссии': expected 'HH:MM:SS', found 'long'"
    ):
        parse_game_page(html, replay_id=1)


def test_error_page_is_not_found() -> None:
    with pytest.raises(ReplayNotFound, match="error page"):
        parse_game_page(ERROR_PAGE_HTML, replay_id=99999)


def test_replay_id_is_taken_from_the_page_when_not_given() -> None:
    game = generate_game(3500, seed=0)
    assert parse_game_page(game.page_html).replay_id == 3500


def _doc(**overrides: object) -> bytes:
    doc: dict = {
        "factions": {"1": ["EAST", "x", 2], "2": ["WEST", "y", 1]},
        "players": {"10": [1, "A", "Rifleman", "Alpha"], "11": [1, "B", "", None], "12": [2, "C"]},
        "vehiclesUnits": {"5": ["car", "UAZ"], "3": ["hovercraft", "Zubr"]},
        "playersDead": {
            "120": {"12": ["", 10, None, "AK", 55.5, 0], "11": [None, None, "", "", None, 0]},
            "30": {"10": ["UAZ", 10, "", "", 0, 1]},
            "200": {"11": [None, 0]},
            "201": {"12": [None]},
        },
    }
    doc.update(overrides)
    return json.dumps(doc).encode()


def test_replay_json_optional_values_and_ordering() -> None:
    data = parse_replay_json(_doc(), replay_id=1)
    assert data.side_players == {"EAST": 2, "WEST": 1}  # GUER/CIV absent
    assert [(p.player_id, p.side, p.nickname, p.slot, p.squad) for p in data.players] == [
        (10, "EAST", "A", "Rifleman", "Alpha"),
        (11, "EAST", "B", None, None),
        (12, "WEST", "C", None, None),
    ]
    assert [(v.vehicle_id, v.type) for v in data.vehicles] == [(3, "hovercraft"), (5, "car")]
    frags = [(f.seq, f.time_s, f.victim_id, f.killer_id, f.weapon, f.teamkill) for f in data.frags]
    assert frags == [
        (0, 30, 10, 10, None, True),  # a self-kill the site flags as a teamkill
        (1, 120, 11, None, None, False),  # null killer
        (2, 120, 12, 10, "AK", False),
        (3, 200, 11, None, None, False),  # killer 0
        (4, 201, 12, None, None, False),  # killer missing altogether
    ]
    assert data.frags[0].victim_vehicle == "UAZ"
    assert data.frags[1].distance_m is None
    assert data.frags[2].distance_m == 55.5


def test_php_style_empty_objects_are_accepted() -> None:
    data = parse_replay_json(_doc(playersDead=[], vehiclesUnits=[]), replay_id=1)
    assert data.frags == [] and data.vehicles == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "empty"),
        (_doc()[:-40], "it ends early, at byte"),
        (b'{"players": {}, "x": [1, NaN]}', "NaN at byte 25: not a JSON number"),
        (b'{"players": {}, "x": -Infinity}', "-Infinity at byte 21: not a JSON number"),
        (b'{"players": {}, "x": ' + b"[" * 1000 + b"]" * 1000 + b"}", "nested deeper than 64"),
        (json.dumps({"factions": {}}).encode(), "no 'players'"),
        (_doc(players={"10": [7, "A"]}), "unknown side 7"),
        (_doc(players={"x": [1, "A"]}), "players['x']"),
        (_doc(players=[1, 2]), "expected [side, nickname"),
        (json.dumps({"players": "nope"}).encode(), "unexpected replay JSON layout"),
    ],
)
def test_bad_replay_json_is_reported_clearly(body: bytes, message: str) -> None:
    with pytest.raises(ReplayParseError, match="replay 7, http://x/j") as info:
        parse_replay_json(body, replay_id=7, url="http://x/j")
    assert message in str(info.value)


def test_brackets_inside_text_are_not_nesting() -> None:
    body = b'{"players": {"1": [1, "' + b"[" * 100 + b'{"]}}'
    assert parse_replay_json(body, replay_id=7).players[0].nickname == "[" * 100 + "{"


def test_games_list_newest_first_with_counts() -> None:
    listing = [GameListing(3413, 120, 150), GameListing(3415, 90, 100), GameListing(3414, 3, 10)]
    html = render_games_list(listing)
    assert parse_games_list(html) == sorted(listing, key=lambda g: -g.replay_id)


def test_games_list_tolerates_other_links_and_layouts() -> None:
    html = """<div class="games">
      <div class="game"><a href="/games/12/">x</a> <span>40 /  60</span></div>
      <div class="game"><a href="https://stats.wogames.info/games/13/">y</a> 5/9</div>
      <a href="/missions/5/">mission</a>
    </div>"""
    assert parse_games_list(html) == [GameListing(13, 5, 9), GameListing(12, 40, 60)]


def test_contract_json_keeps_non_ascii_and_shape() -> None:
    game = generate_game(3413, seed=2)
    text = to_json(game.replay)
    doc = json.loads(text)
    assert set(doc) == {"replay_id", "game", "players", "vehicles", "frags"}
    assert set(doc["game"]) == {
        "mission_name", "mission_id", "island", "date", "started_at", "ended_at", "duration_s",
        "winner", "players_active", "slots", "side_players", "commanders",
    }  # fmt: skip
    assert "\\u" not in text
    assert doc["game"]["started_at"] == game.replay.game.started_at.isoformat()
    assert set(doc["frags"][0]) == {
        "seq", "time_s", "victim_id", "victim_vehicle", "killer_id", "killer_vehicle", "weapon",
        "distance_m", "teamkill",
    }  # fmt: skip


def test_games_list_counts_in_a_sibling_div_and_a_mission_called_op_1_2() -> None:
    html = """<div class="list">
      <div class="row"><div class="name"><a href="/games/21/">Op 1/2</a></div>
                       <div class="count">118 / 150</div></div>
      <div class="row"><a href="/games/22/">Штурм 3/4</a><div>96 / 120</div></div>
    </div>"""
    assert parse_games_list(html) == [GameListing(22, 96, 120), GameListing(21, 118, 150)]


def test_games_list_table_row_with_the_mission_in_another_cell() -> None:
    html = """<table><tr><td><a href="/games/31/">#31</a></td><td>Op 1/2</td>
              <td>120 / 150</td></tr></table>"""
    assert parse_games_list(html) == [GameListing(31, 120, 150)]


def test_a_list_page_without_games_is_an_error_not_an_empty_list() -> None:
    with pytest.raises(ReplayParseError, match="no links to /games/<id>/"):
        parse_games_list("<html><body><h1>Игры</h1><p>Новый дизайн</p></body></html>", url="u")


def test_a_saved_game_page_heading_gives_its_id() -> None:
    game = generate_game(3413, seed=3)
    html = re.sub(r'<link rel="canonical"[^>]*>', "", game.page_html)
    html = re.sub(r'href="[^"]*/games/3413/"', 'href="#"', html)
    html = html.replace("<body>", "<body><h1>Игра #3413</h1>", 1)
    assert parse_game_page(html).replay_id == 3413
