"""The OCAP2 decoder on 90 real recordings (sg.zone, MIT) and on hand-made ones.

Counts are cross-checked against a second, independent reading of each recording (plain
``json.loads``); a few games are pinned to numbers checked by hand against their events.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import math
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from wog_report import limits
from wog_report.build import build_message
from wog_report.catalogue import Catalogue
from wog_report.summary import summarize, summary_contract
from wog_sources.errors import ReplayParseError, ResponseTooLarge
from wog_sources.ocap import decode_recording, ended_at_from_name, uncompressed

SG = Path(__file__).parents[1] / "data" / "ocap" / "sg-zone"
MANIFEST = json.loads((SG / "manifest.json").read_text())
# recording file -> the name sg.zone served it under (which carries the end time)
SERVED_AS = {path: url.rsplit("/", 1)[1] for url, path in MANIFEST["bytes"].items()}
RECORDINGS = sorted(SERVED_AS)
# Every run checks a spread of five; the slow run (.ci/run) checks all 90.
SAMPLE = set(RECORDINGS[::18])
ALL_RECORDINGS = [
    path if path in SAMPLE else pytest.param(path, marks=pytest.mark.slow) for path in RECORDINGS
]


def _decode(path: str):  # type: ignore[no-untyped-def]
    body = (SG / path).read_bytes()
    rid = int(Path(path).name.split(".")[0])
    return decode_recording(
        body, replay_id=rid, ended_at=ended_at_from_name(SERVED_AS[path]), url=path
    )


def test_all_ninety_recordings_are_listed() -> None:
    assert len(RECORDINGS) == 90
    assert sorted(MANIFEST["expectedExternalIds"]) == sorted(
        Path(p).name.split(".")[0] for p in RECORDINGS
    )


def _controlled_at(doc: dict) -> Callable[[int, int], bool]:
    """Whether a unit was a person's at a frame, read plainly from its position rows: the
    latest row of it alive up to that frame has a name and the player flag — unless the unit
    never fired nor moved 10 m and that person showed in another unit then too (a ghost)."""
    units = {e["id"]: e for e in doc["entities"] if e["type"] == "unit"}

    def named_row(unit: int, frame: int) -> list | None:
        ent = units[unit]
        rows = ent["positions"][: max(0, frame - ent["startFrameNum"] + 1)]
        return next((r for r in reversed(rows) if len(r) > 5 and r[2]), None)

    def idle(unit: int) -> bool:
        ent = units[unit]
        points = [r[0] for r in ent["positions"] if len(r) > 5 and r[4]]
        return not ent.get("framesFired") and all(
            math.dist(p[:2], points[0][:2]) < 10 for p in points
        )

    def controlled(unit: int, frame: int) -> bool:
        row = named_row(unit, frame)
        if row is None or not (row[4] and row[5]):
            return False
        if idle(unit):
            others = (named_row(u, frame) for u in units if u != unit)
            if any(o is not None and o[4] == row[4] and o[5] for o in others):
                return False
        return True

    return controlled


def _independent_counts(doc: dict) -> dict:
    """Deaths, kills and teamkills per side, read the simple way from the events."""
    ents = {e["id"]: e for e in doc["entities"]}
    controlled_at = _controlled_at(doc)
    deaths: Counter[str] = Counter()
    kills: Counter[str] = Counter()
    vehicle_kills = 0
    for ev in doc["events"]:
        if ev[1] != "killed":
            continue
        victim = ents[ev[2]]
        if victim["type"] == "vehicle":
            vehicle_kills += 1
            continue
        if not controlled_at(ev[2], ev[0]):
            continue
        deaths[victim["side"]] += 1
        killer = ents.get(ev[3][0]) if isinstance(ev[3][0], int) else None
        if (
            killer is not None
            and killer["type"] == "unit"
            and controlled_at(killer["id"], ev[0])
            and killer["id"] != victim["id"]
            and killer["side"] != victim["side"]
        ):
            kills[killer["side"]] += 1
    return {"deaths": deaths, "kills": kills, "vehicle_kills": vehicle_kills}


@pytest.mark.parametrize("path", ALL_RECORDINGS)
def test_every_real_recording_decodes_and_its_message_fits(path: str) -> None:
    recording = _decode(path)
    replay = recording.replay
    doc = json.loads(gzip.decompress((SG / path).read_bytes()))

    assert recording.repairs == []
    assert replay.game.mission_name == doc["missionName"]
    assert replay.game.duration_s == doc["endFrame"] * doc["captureDelay"]
    assert replay.game.ended_at == ended_at_from_name(SERVED_AS[path])
    assert sum(replay.game.side_players.values()) == len(replay.players)

    # Each player once, named by their first unit's id, on both sides of every frag.
    ids = [p.player_id for p in replay.players]
    assert len(ids) == len(set(ids)) and len({p.nickname for p in replay.players}) == len(ids)
    known = set(ids)
    for frag in replay.frags:
        assert frag.victim_id in known
        assert frag.killer_id is None or frag.killer_id in known
        assert frag.time_s == round(frag.time_s) and frag.time_s >= 0

    # Cross-check against the simple reading: deaths per side, kills per side.
    expected = _independent_counts(doc)
    side_of = {p.player_id: p.side for p in replay.players}
    deaths = Counter(side_of[f.victim_id] for f in replay.frags)
    assert sum(deaths.values()) == sum(expected["deaths"].values())
    kills = Counter(
        side_of[f.killer_id]
        for f in replay.frags
        if f.killer_id is not None and not f.teamkill and f.killer_id != f.victim_id
    )
    assert sum(kills.values()) == sum(expected["kills"].values())
    assert len(recording.vehicle_kills) == expected["vehicle_kills"]

    # The game message for it stays within Discord's limits, in both languages.
    summary = summarize(replay)
    for lang in ("ru", "en"):
        message = build_message(summary, "https://sg.zone/replays/1", catalogue=Catalogue(lang))
        assert limits.violations(message.content, message.embeds) == []


def test_a_small_game_matches_its_events_checked_by_hand() -> None:
    # mace@15_random_v10: 15 players; 11 deaths; [UNS]wunder kills 3 and teamkills 2.
    recording = _decode("bytes/1779133881.ocap.gz")
    replay = recording.replay
    game = replay.game
    assert (game.island, game.duration_s, game.winner) == ("malden", 270, "EAST")
    assert game.side_players == {"EAST": 5, "WEST": 10}
    assert {s: c.nickname for s, c in game.commanders.items()} == {
        "EAST": "[UNS]mustang",
        "WEST": "[RT]Raiden",
    }
    names = {p.player_id: p.nickname for p in replay.players}
    # Units 6 and 14 were AI-named slots taken by players who connected into them.
    assert names[6] == "strazh" and names[14] == "[FDB]Patr1ot"
    assert len(replay.frags) == 11
    contract = summary_contract(summarize(replay))
    assert [(r["nickname"], r["kills"]) for r in contract["top_killers"]] == [
        ("[UNS]dusha", 4),
        ("[UNS]wunder", 3),
        ("[UNS]mustang", 2),
    ]
    assert [(r["nickname"], r["teamkills"]) for r in contract["top_teamkillers"]] == [
        ("[UNS]wunder", 2)
    ]
    first = replay.frags[0]
    assert (first.time_s, names[first.victim_id], names[first.killer_id], first.weapon) == (
        150,
        "[RT]Raiden",
        "[UNS]dusha",
        "AK-74",
    )
    assert first.distance_m == 24.0
    assert contract["survivors"] == {"EAST": 3, "WEST": 1}


def test_kills_from_a_vehicle_name_it() -> None:
    # 1779217194: [SGYR]agent (unit 17) in an MH-6 kills six; OCAP writes the helicopter as
    # the weapon. 1779301713: [RL]Smailik kills from a Dingo's M2.
    heli = _decode("bytes/1779217194.ocap.gz").replay
    by_agent = [f for f in heli.frags if f.killer_id == 17 and f.time_s == 41 * 5]
    assert {f.killer_vehicle for f in by_agent} == {"MH-6 Little Bird"}
    assert len(by_agent) >= 5
    dingo = _decode("bytes/1779301713.ocap.gz").replay
    assert any(f.killer_vehicle == "Dingo 2 GE A3.4 CG-13 (M2)" for f in dingo.frags)


# --- hand-made recordings: the attribution rules -------------------------------------------


def _recording(entities: list[dict], events: list[list], **top: object) -> bytes:
    doc = {
        "worldName": "altis",
        "missionName": "test@1",
        "missionAuthor": "tests",
        "captureDelay": 2,
        "endFrame": 300,
        "Markers": [[["huge"] * 3]],
        "entities": [
            {
                "startFrameNum": 0,
                "group": "Alpha",
                "class": "",
                "description": "Rifleman",
                # No position rows unless a test gives them: the events decide for such units.
                "positions": [],
                "framesFired": [],
                **e,
            }
            for e in entities
        ],
        "events": events,
        **top,
    }
    return json.dumps(doc).encode()


def _unit(uid: int, name: str, side: str = "WEST", player: int = 1) -> dict:
    return {"id": uid, "type": "unit", "name": name, "side": side, "isPlayer": player}


def test_one_person_with_two_units_is_one_player_named_by_the_first() -> None:
    body = _recording(
        [
            _unit(0, "Bob"),
            _unit(1, "Eve", "EAST"),
            _unit(2, "AI Bot", "WEST", player=0),
            {"id": 3, "type": "vehicle", "name": "Hunter", "class": "car", "side": ""},
        ],
        [
            [10, "killed", 0, [1, "AK-12"], 50],  # Bob dies in his first unit
            [20, "connected", "Bob", 2],  # …and takes over the AI's unit
            [30, "killed", 1, [2, "MX"], 120],  # Bob (unit 2) kills Eve
            [40, "killed", 2, ["null"], -1],  # Bob (unit 2) dies, killer unknown
            [50, "killed", 3, [1, "RPG-7"], 80],  # a vehicle destroyed
            [60, "endMission", ["WEST", "Blue wins"]],
        ],
    )
    recording = decode_recording(body, replay_id=7, ended_at=dt.datetime(2026, 6, 1, 22, 0))
    replay = recording.replay
    assert [(p.player_id, p.nickname, p.side) for p in replay.players] == [
        (0, "Bob", "WEST"),
        (1, "Eve", "EAST"),
    ]
    frags = [(f.time_s, f.victim_id, f.killer_id, f.weapon, f.distance_m) for f in replay.frags]
    assert frags == [
        (20, 0, 1, "AK-12", 50.0),
        (60, 1, 0, "MX", 120.0),
        (80, 0, None, None, None),
    ]
    assert [(v.vehicle_id, v.vehicle_type, v.killer_id) for v in recording.vehicle_kills] == [
        (3, "car", 1)
    ]
    assert replay.game.winner == "WEST"
    assert replay.game.started_at == dt.datetime(2026, 6, 1, 21, 50)  # 300 frames × 2 s
    assert [(v.vehicle_id, v.type, v.name) for v in replay.vehicles] == [(3, "car", "Hunter")]


def test_teamkills_suicides_and_ai_killers() -> None:
    body = _recording(
        [_unit(0, "A"), _unit(1, "B"), _unit(2, "C", "EAST"), _unit(3, "Bot", "EAST", 0)],
        [
            [5, "killed", 1, [0, "M4"], 10],  # teamkill
            [6, "killed", 0, [0, "Grenade"], 0],  # suicide: not a teamkill
            [7, "killed", 2, [3, "PKM"], 30],  # killed by AI: killer unknown
            [8, "killed", 3, [2, "PKM"], 30],  # an AI dies: not a frag
        ],
    )
    replay = decode_recording(body, replay_id=1, started_at=dt.datetime(2026, 1, 1)).replay
    assert [(f.victim_id, f.killer_id, f.teamkill) for f in replay.frags] == [
        (1, 0, True),
        (0, 0, False),
        (2, None, False),
    ]


def test_gzip_is_detected_by_its_magic_bytes_not_the_name() -> None:
    plain = _recording([_unit(0, "A")], [])
    packed = gzip.compress(plain)
    a = decode_recording(plain, replay_id=1, started_at=dt.datetime(2026, 1, 1))
    b = decode_recording(packed, replay_id=1, started_at=dt.datetime(2026, 1, 1))
    assert a.replay == b.replay
    assert uncompressed(packed) == plain


def test_bad_recordings_fail_with_one_line_naming_what() -> None:
    with pytest.raises(ReplayParseError, match=r"replay 4, f\.json: recording: not valid JSON"):
        decode_recording(b"{", replay_id=4, url="f.json")
    with pytest.raises(ReplayParseError, match=r"\$\.entities\[0\]\.id"):
        decode_recording(_recording([{"id": "x", "type": "unit"}], []), replay_id=4, url="f.json")
    with pytest.raises(ReplayParseError, match="captureDelay"):
        decode_recording(_recording([], [], captureDelay=0), replay_id=4)
    with pytest.raises(ReplayParseError, match=r"events\[0\]\[3\]"):
        decode_recording(_recording([_unit(0, "A")], [[1, "killed", 0, "oops"]]), replay_id=4)
    with pytest.raises(ReplayParseError, match="truncated"):
        decode_recording(gzip.compress(_recording([], []))[:-20], replay_id=4)
    bomb = gzip.compress(b" " * 5_000_000)
    with pytest.raises(ResponseTooLarge):
        decode_recording(bomb, replay_id=4, limit=1_000_000)
    # A recording written in cp1251, not UTF-8 as JSON must be (found by the fuzzer).
    cp1251 = _recording([_unit(0, "Ёжик")], []).decode().encode("cp1251", errors="replace")
    with pytest.raises(ReplayParseError, match=r"recording: not UTF-8 at byte \d+ \(b'\\xa8'\)"):
        decode_recording(cp1251.replace(b"\\u0401", "Ё".encode("cp1251")), replay_id=4)
    # Rows that are not UTF-8 (skipped by the first pass) leave the events to decide.
    broken = {**_unit(1, "Ann"), "positions": [[[1, 2, 0], 90, 1, 0, "Ann", 1]]}
    body = _recording([broken], []).replace(b'0, "Ann", 1]', b'0, "\xff", 1]')
    assert [p.nickname for p in decode_recording(body, replay_id=4).replay.players] == ["Ann"]


def test_a_commander_whose_id_is_not_a_units_keeps_his_side() -> None:
    # Bob took over Ann's first unit, so his player id is past the last entity's (found by
    # the fuzzer: the commanders' message then raised KeyError).
    body = _recording(
        [_unit(0, "Ann"), _unit(1, "Eve", "EAST")],
        [
            [5, "connected", "Bob", 0],
            [9, "mission_message", "Победа КС: Bob. Поражение КС: Eve"],
        ],
    )
    game = decode_recording(body, replay_id=4, started_at=dt.datetime(2026, 1, 1)).replay.game
    assert game.winner == "WEST"
    assert {s: (c.player_id, c.nickname) for s, c in game.commanders.items()} == {
        "EAST": (1, "Eve"),
        "WEST": (2, "Bob"),
    }


def test_hostile_recordings_are_named_rejections_not_interpreter_errors() -> None:
    # Markers nested 5,000 deep: beyond the interpreter's own limit.
    body = _recording([_unit(0, "A")], []).replace(
        b'"Markers": [[["huge", "huge", "huge"]]]', b'"Markers": ' + b"[" * 5000 + b"]" * 5000
    )
    assert body.count(b"[" * 5000) == 1
    with pytest.raises(
        ReplayParseError, match=r"replay 4, f\.json: recording: nested deeper than 64"
    ):
        decode_recording(gzip.compress(body), replay_id=4, url="f.json")
    nan = _recording([_unit(0, "A")], []).replace(b'"captureDelay": 2', b'"captureDelay": NaN')
    at = nan.index(b"NaN")
    with pytest.raises(ReplayParseError, match=rf"recording: NaN at byte {at}: not a JSON number"):
        decode_recording(nan, replay_id=4, url="f.json")
    # A real recording is 6 levels deep: far inside the limit.
    assert decode_recording(_recording([_unit(0, "A")], []), replay_id=4).replay.players


def test_cli_parse_and_summary_read_a_recording(tmp_path: Path) -> None:
    from wog_cli import main

    target = tmp_path / SERVED_AS["bytes/1779133881.ocap.gz"]  # plain name, gzip inside
    target.write_bytes((SG / "bytes/1779133881.ocap.gz").read_bytes())
    parsed = CliRunner().invoke(main, ["parse", "--ocap", str(target)])
    assert parsed.exit_code == 0, parsed.output
    doc = json.loads(parsed.stdout)
    ended = ended_at_from_name(target.name)
    assert ended is not None
    assert doc["game"]["started_at"] == (ended - dt.timedelta(seconds=270)).isoformat()
    assert len(doc["frags"]) == 11 and doc["vehicle_kills"] == []
    summary = CliRunner().invoke(main, ["summary", "--ocap", str(target)])
    assert summary.exit_code == 0
    assert json.loads(summary.stdout)["top_killers"][0]["nickname"] == "[UNS]dusha"
    bad = tmp_path / "broken.ocap.gz"
    bad.write_bytes(b"\x1f\x8bnot gzip")
    failed = CliRunner().invoke(main, ["parse", "--ocap", str(bad)])
    assert failed.exit_code == 2
    assert failed.stderr.strip().count("\n") == 0 and str(bad) in failed.stderr


def _player(replay, nickname: str):  # type: ignore[no-untyped-def]
    return next(p for p in replay.players if p.nickname == nickname)


def test_a_player_who_takes_another_unit_stops_holding_his_old_one() -> None:
    # sg.zone 1781026400: [RL]Ober moves from unit 1 to unit 4 at frame 2; both die at frame 30.
    replay = _decode("bytes/1781026400.ocap.gz").replay
    ober = _player(replay, "[RL]Ober")
    assert [f.time_s for f in replay.frags if f.victim_id == ober.player_id] == [150]  # one death
    # 1779473282: [FREAK]Borw sits in unit 268 from frame 19; unit 108, created under his
    # name, dies at frame 223 — not his death, nor [520th]Lidocaine's teamkill of him.
    replay = _decode("bytes/1779473282.ocap.gz").replay
    borw, lido = _player(replay, "[FREAK]Borw"), _player(replay, "[520th]Lidocaine")
    assert not [f for f in replay.frags if f.victim_id == borw.player_id and f.time_s == 223 * 5]
    assert not [f for f in replay.frags if f.killer_id == lido.player_id and f.teamkill]


def test_kills_before_a_swap_stay_with_whoever_held_the_unit_then() -> None:
    # 1779559572: [SHK]Fant1k and [SHK]chel swap units at frames 49/143; each keeps his kills.
    replay = _decode("bytes/1779559572.ocap.gz").replay
    fant1k, chel = _player(replay, "[SHK]Fant1k"), _player(replay, "[SHK]chel")

    def kills(who) -> list[int]:  # type: ignore[no-untyped-def]
        return [f.time_s // 5 for f in replay.frags if f.killer_id == who.player_id]

    def deaths(who) -> list[int]:  # type: ignore[no-untyped-def]
        return [f.time_s // 5 for f in replay.frags if f.victim_id == who.player_id]

    assert 614 in kills(fant1k)  # by unit 137, chel's first, which Fant1k took at frame 49
    assert {636, 637, 957} <= set(kills(chel))  # by unit 141, Fant1k's first, chel's from 143
    assert 624 in deaths(fant1k) and 962 in deaths(chel)


# --- control from the position rows ----------------------------------------------------------


def _rows(frames: int, name: str, player: int = 1, *, at=(100.0, 200.0), step: float = 0.0,
          alive: int = 1) -> list[list]:  # fmt: skip
    """``frames`` position rows of one unit: named ``name`` (``player`` flag), moving ``step``
    metres per frame east from ``at``."""
    return [[[at[0] + step * i, at[1], 0], 90, alive, 0, name, player] for i in range(frames)]


def _dead(frames: int) -> list[list]:
    return [[[0, 0, 0], 0, 0, 0, "", 1]] * frames


def test_the_rows_decide_who_holds_a_unit_not_a_connected_event_naming_a_ghost() -> None:
    # The sg.zone pattern: Trouble appears in two units at frame 0; unit 5 never moves or
    # fires (a ghost). He disconnects at 30, reconnects at 35 — the event names the ghost —
    # and the rows show him back in unit 4, where he kills at 40 and dies at 50.
    real = _rows(30, "Trouble", step=2) + _rows(5, "Harvey Burr", 0) + _rows(16, "Trouble")
    ghost = _rows(8, "Trouble") + _dead(43)
    body = _recording(
        [
            {**_unit(4, "Trouble"), "positions": real + _dead(10), "framesFired": [[40, [1, 1]]]},
            {**_unit(5, "Trouble"), "positions": ghost, "description": ""},
            {**_unit(6, "Skyver", "EAST"), "positions": _rows(61, "Skyver", step=1)},
            {**_unit(7, "Ivan", "EAST"), "positions": _rows(61, "Ivan", step=1)},
        ],
        [
            [30, "disconnected", "Trouble", 666],
            [35, "connected", "Trouble", 5],
            [40, "killed", 7, [4, "M4"], 100],
            [50, "killed", 4, [6, "SVD"], 300],
        ],
    )
    replay = decode_recording(body, replay_id=1, started_at=dt.datetime(2026, 1, 1)).replay
    assert [(p.player_id, p.nickname) for p in replay.players] == [
        (4, "Trouble"),
        (6, "Skyver"),
        (7, "Ivan"),
    ]
    assert [(f.time_s, f.victim_id, f.killer_id) for f in replay.frags] == [
        (80, 7, 4),  # Trouble's kill from unit 4, after the event named the ghost
        (100, 4, 6),  # and his death, by Skyver
    ]


def test_a_death_while_the_rows_show_ai_is_nobodys_and_a_move_is_followed() -> None:
    # Ann disconnects at 20 (her unit turns AI: another name, no player flag) and dies at 25
    # — not her death. Ben moves from unit 2 to unit 3 at frame 10 with no event at all.
    body = _recording(
        [
            {**_unit(1, "Ann"), "positions": _rows(20, "Ann", step=1) + _rows(10, "Pvt Doe", 0)},
            {**_unit(2, "Ben"), "positions": _rows(10, "Ben", step=1) + _rows(20, "Pvt Roe", 0)},
            {
                **_unit(3, "Pvt Poe", player=0),
                "positions": _rows(10, "Pvt Poe", 0) + _rows(20, "Ben", step=1),
            },
            {**_unit(9, "Cid", "EAST"), "positions": _rows(30, "Cid", step=1)},
        ],
        [
            [20, "disconnected", "Ann", 666],
            [25, "killed", 1, [9, "AK"], 50],
            [26, "killed", 2, [9, "AK"], 50],
            [27, "killed", 9, [3, "M4"], 50],
        ],
    )
    replay = decode_recording(body, replay_id=1, started_at=dt.datetime(2026, 1, 1)).replay
    assert [(p.player_id, p.nickname) for p in replay.players] == [
        (1, "Ann"),
        (2, "Ben"),
        (9, "Cid"),
    ]
    # Unit 2 died as AI (Ben had left it); Cid's death is Ben's kill from unit 3.
    assert [(f.time_s, f.victim_id, f.killer_id) for f in replay.frags] == [(54, 9, 2)]


def test_rows_without_names_or_of_an_unusual_shape_leave_the_events_to_decide() -> None:
    body = _recording(
        [
            {**_unit(1, "Ann"), "positions": [[[1, 2], 90, 1, 0]] * 5},  # old OCAP: no name
            {**_unit(2, "Bob", "EAST"), "positions": [[[1, 2], 90, 1, 0, 7, "x"]] * 5},
        ],
        [[3, "killed", 2, [1, "M4"], 10]],
    )
    recording = decode_recording(body, replay_id=1, started_at=dt.datetime(2026, 1, 1))
    assert [(f.victim_id, f.killer_id) for f in recording.replay.frags] == [(2, 1)]
    (repair,) = recording.repairs
    assert repair.startswith("entities id 2: position rows unreadable (")


def test_trouble_keeps_his_death_in_the_real_recording() -> None:
    # sg.zone 1780083207: units 191 and 215 are both [31st]Trouble's at frame 0; 215 is the
    # ghost the connected event at 306 names; the rows show him in 191 from 307, where
    # [JTF2]Skyver kills him at frame 559.
    replay = _decode("bytes/1780083207.ocap.gz").replay
    trouble, skyver = _player(replay, "[31st]Trouble"), _player(replay, "[JTF2]Skyver")
    assert trouble.player_id == 191
    assert [(f.time_s, f.killer_id) for f in replay.frags if f.victim_id == 191] == [
        (559 * 5, skyver.player_id)
    ]
