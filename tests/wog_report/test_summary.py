"""summarize(): hand-computed games."""

from __future__ import annotations

import datetime as dt

import msgspec

from wog_core.models import Commander, Frag, Game, Player, Replay, Vehicle
from wog_fakes.generator import generate_game
from wog_report.summary import summarize, summary_contract


def frag(seq: int, time_s: int, victim: int, killer: int | None, *, tk: bool = False, weapon: str | None = "AK",
         distance: float | None = 100.0, killer_vehicle: str | None = None) -> Frag:  # fmt: skip
    return Frag(seq, time_s, victim, None, killer, killer_vehicle, weapon, distance, tk)


def game(
    sides: dict[str, int],
    commanders: dict[str, Commander] | None = None,
    winner: str | None = "WEST",
) -> Game:
    return Game(
        mission_name="Test",
        mission_id=1,
        island="Altis",
        date=dt.date(2024, 10, 5),
        started_at=dt.datetime(2024, 10, 5, 23, 10, 5),
        ended_at=dt.datetime(2024, 10, 6, 0, 40, 5),
        duration_s=5400,
        winner=winner,
        players_active=sum(sides.values()),
        slots=100,
        side_players=sides,
        commanders=commanders or {},
    )


# Players: WEST 1..7 (names A..G), EAST 11..13 (X, Y, Z).
WEST = [Player(i, "WEST", n, None, None) for i, n in zip(range(1, 8), "ABCDEFG", strict=True)]
EAST = [Player(i, "EAST", n, None, None) for i, n in zip(range(11, 14), "XYZ", strict=True)]


def test_top_killers_dense_ranked_ties_by_nickname_cut_at_five_rows() -> None:
    kills = {2: 3, 1: 3, 3: 2, 5: 2, 4: 2, 6: 2, 7: 1}  # B 3, A 3, C/D/E/F 2, G 1
    frags, seq = [], 0
    for killer, n in kills.items():
        for _ in range(n):
            frags.append(frag(seq, 10 + seq, 11 + seq % 3, killer))
            seq += 1
    # Not kills: an unknown killer, a teamkill and a self-kill flagged as teamkill.
    frags += [
        frag(seq, 500, 1, None),
        frag(seq + 1, 501, 2, 3, tk=True),
        frag(seq + 2, 502, 4, 4, tk=True),
    ]
    replay = Replay(1, game({"WEST": 7, "EAST": 3}), WEST + EAST, [], frags)
    s = summarize(replay)
    assert [(r.nickname, r.count, r.rank) for r in s.top_killers] == [
        ("A", 3, 1), ("B", 3, 1), ("C", 2, 2), ("D", 2, 2), ("E", 2, 2),
    ]  # fmt: skip
    assert [(r.nickname, r.count, r.rank) for r in s.top_teamkillers] == [("C", 1, 1), ("D", 1, 1)]
    assert s.total_frags == 15 and s.total_teamkills == 2


def test_notable_frags_survivors_and_weapon_fallback() -> None:
    frags = [
        frag(0, 30, 11, 1, weapon=None, killer_vehicle="T-72", distance=50.0),
        frag(1, 60, 12, None, weapon=None, distance=None),
        frag(2, 90, 2, 13, weapon=None, distance=900.5),
        frag(3, 95, 3, 1, tk=True, distance=900.5),
    ]
    replay = Replay(1, game({"WEST": 7, "EAST": 3}), WEST + EAST, [], frags)
    s = summarize(replay)
    assert (s.first_frag.victim, s.first_frag.killer, s.first_frag.weapon) == ("X", "A", "T-72")
    assert (s.last_frag.victim, s.last_frag.killer, s.last_frag.teamkill) == ("C", "A", True)
    # Longest: 900.5 m, tie broken by the earlier frag; no weapon and no vehicle -> unknown.
    assert (s.longest_frag.time_s, s.longest_frag.killer, s.longest_frag.weapon) == (90, "Z", None)
    assert s.survivors == {"EAST": 1, "WEST": 5}
    unknown = summary_contract(s)
    assert (
        summarize(Replay(1, replay.game, replay.players, [], frags[1:2])).first_frag.killer is None
    )
    assert unknown["survivors"] == {"EAST": 1, "WEST": 5}


def test_no_frags_at_all() -> None:
    s = summarize(Replay(1, game({"WEST": 7, "EAST": 3}), WEST + EAST, [], []))
    assert s.top_killers == [] and s.top_teamkillers == []
    assert s.first_frag is None and s.last_frag is None and s.longest_frag is None
    assert s.survivors == {"EAST": 3, "WEST": 7}


def test_four_sides_no_winner_and_a_side_without_commander() -> None:
    players = [
        Player(i, side, f"p{i}", None, None)
        for i, side in enumerate(["EAST", "WEST", "GUER", "CIV"] * 2)
    ]
    commanders = {"EAST": Commander(0, "p0"), "GUER": Commander(2, "p2"), "CIV": Commander(3, "p3")}
    s = summarize(
        Replay(
            1,
            game({"EAST": 2, "WEST": 2, "GUER": 2, "CIV": 2}, commanders, winner=None),
            players,
            [],
            [],
        )
    )
    assert [x.side for x in s.sides] == ["EAST", "WEST", "GUER", "CIV"]
    assert [x.commander.nickname if x.commander else None for x in s.sides] == [
        "p0",
        None,
        "p2",
        "p3",
    ]
    assert s.winner is None
    assert (s.start, s.end, s.duration) == ("23:10", "00:40", "01:30:00")


def test_vehicles_grouped_by_type_with_counts() -> None:
    vehicles = [Vehicle(1, "car", "UAZ"), Vehicle(2, "car", "UAZ"), Vehicle(3, "car", "HMMWV"),
                Vehicle(4, "hovercraft", "Zubr"), Vehicle(5, "tank", "T-72")]  # fmt: skip
    s = summarize(Replay(1, game({"WEST": 7}), WEST, vehicles, []))
    contract = summary_contract(s)
    assert contract["vehicles_by_type"] == {
        "car": [{"name": "UAZ", "count": 2}, {"name": "HMMWV", "count": 1}],
        "tank": [{"name": "T-72", "count": 1}],
        "hovercraft": [{"name": "Zubr", "count": 1}],
    }
    assert list(contract) == [
        "replay_id", "top_killers", "top_teamkillers", "first_frag", "last_frag", "longest_frag",
        "survivors", "vehicles_by_type",
    ]  # fmt: skip


def test_a_killer_missing_from_the_player_list_is_an_unknown_killer() -> None:
    game = generate_game(3413, seed=4)
    replay = game.replay
    frags = [msgspec.structs.replace(f, killer_id=987_654_321) for f in replay.frags]
    summary = summarize(msgspec.structs.replace(replay, frags=frags))
    assert summary.top_killers == [] and summary.top_teamkillers == []
    assert summary.first_frag is not None and summary.first_frag.killer is None
    assert summary.first_frag.killer_id is None
