"""The replay summary: a pure function of one normalized replay (no I/O, no Dagster).

What the Discord message and ``wog summary`` show about a game: sides and commanders,
winner, times, top killers and teamkillers (dense-ranked), notable frags, survivors per side
and the vehicles available.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable
from typing import Any

import msgspec

from wog_core.models import Commander, Frag, Replay
from wog_core.sides import SIDE_ORDER, Side

TOP_ROWS = 5

# The order vehicle types are listed in (the original message's order); unknown types follow.
VEHICLE_TYPE_ORDER = (
    "static-mortar", "static-weapon", "apc", "car", "tank", "truck", "parachute", "plane", "heli", "sea",
)  # fmt: skip


class SideSummary(msgspec.Struct, frozen=True):
    side: str
    players: int
    commander: Commander | None
    survivors: int


class RankedPlayer(msgspec.Struct, frozen=True):
    player_id: int
    nickname: str
    count: int
    rank: int


class NotableFrag(msgspec.Struct, frozen=True):
    time_s: int
    victim_id: int
    victim: str
    killer_id: int | None
    killer: str | None
    distance_m: float | None
    weapon: str | None  # weapon, else the killer's vehicle, else None (unknown)
    teamkill: bool


class VehicleCount(msgspec.Struct, frozen=True):
    name: str
    count: int


class ReplaySummary(msgspec.Struct, frozen=True):
    replay_id: int
    mission_name: str
    mission_id: int
    island: str
    date: dt.date
    start: str  # HH:MM
    end: str  # HH:MM
    duration: str  # HH:MM:SS
    winner: str | None
    players_active: int
    slots: int
    sides: list[SideSummary]
    top_killers: list[RankedPlayer]
    top_teamkillers: list[RankedPlayer]
    first_frag: NotableFrag | None
    last_frag: NotableFrag | None
    longest_frag: NotableFrag | None
    survivors: dict[str, int]
    vehicles_by_type: dict[str, list[VehicleCount]]
    total_frags: int
    total_teamkills: int


def format_duration(seconds: int) -> str:
    """``HH:MM:SS`` (hours may exceed 24)."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"


def format_mission_time(seconds: int) -> str:
    """Mission time as ``H:MM:SS``."""
    hours, rest = divmod(max(0, int(seconds)), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def dense_ranks(values: Iterable[object]) -> list[int]:
    """Dense ranks (1, 1, 2, 3, …) of values sorted best first: equal values share a rank."""
    ranks: list[int] = []
    rank, previous, first = 0, None, True
    for value in values:
        if first or value != previous:
            rank, previous, first = rank + 1, value, False
        ranks.append(rank)
    return ranks


def _dense_ranked(counts: Counter[int], names: dict[int, str]) -> list[RankedPlayer]:
    ordered = sorted(counts.items(), key=lambda kv: (-kv[1], names[kv[0]].casefold(), kv[0]))
    ordered = ordered[:TOP_ROWS]
    ranks = dense_ranks(count for _, count in ordered)
    return [
        RankedPlayer(player_id, names[player_id], count, rank)
        for (player_id, count), rank in zip(ordered, ranks, strict=True)
    ]


def summarize(replay: Replay) -> ReplaySummary:
    """Summarize one game."""
    game = replay.game
    names = {p.player_id: p.nickname for p in replay.players}

    def name(player_id: int) -> str:
        return names.get(player_id) or f"#{player_id}"

    def known_killer(frag: Frag) -> int | None:
        # A killer id the game's player list does not know is an unknown killer, as the site's
        # own data sometimes has it: not ranked, shown as «killer unknown».
        return frag.killer_id if frag.killer_id in names else None

    kills: Counter[int] = Counter()
    teamkills: Counter[int] = Counter()
    for frag in replay.frags:
        killer = known_killer(frag)
        if killer is None:
            continue
        if frag.teamkill:
            teamkills[killer] += 1
        elif killer != frag.victim_id:
            kills[killer] += 1

    dead = {f.victim_id for f in replay.frags}
    side_players: dict[str, list[int]] = defaultdict(list)
    for p in replay.players:
        side_players[p.side].append(p.player_id)
    present = [
        s.value for s in SIDE_ORDER if s.value in game.side_players or s.value in side_players
    ]
    survivors: dict[str, int] = {
        side: sum(1 for pid in side_players[side] if pid not in dead) for side in present
    }
    sides = [
        SideSummary(
            side=side,
            players=game.side_players.get(side, len(side_players[side])),
            commander=game.commanders.get(side),
            survivors=survivors[side],
        )
        for side in present
    ]

    def notable(frag: Frag | None) -> NotableFrag | None:
        if frag is None:
            return None
        return NotableFrag(
            time_s=frag.time_s,
            victim_id=frag.victim_id,
            victim=name(frag.victim_id),
            killer_id=(killer := known_killer(frag)),
            killer=name(killer) if killer is not None else None,
            distance_m=frag.distance_m,
            weapon=frag.weapon or frag.killer_vehicle,
            teamkill=frag.teamkill,
        )

    frags = replay.frags
    with_distance = [f for f in frags if f.distance_m is not None and known_killer(f) is not None]
    longest = max(with_distance, key=lambda f: (f.distance_m, -f.seq), default=None)

    by_type: dict[str, Counter[str]] = defaultdict(Counter)
    for v in replay.vehicles:
        by_type[v.type][v.name or "?"] += 1
    type_order = [t for t in VEHICLE_TYPE_ORDER if t in by_type] + sorted(
        t for t in by_type if t not in VEHICLE_TYPE_ORDER
    )
    vehicles_by_type = {
        t: [
            VehicleCount(n, c)
            for n, c in sorted(by_type[t].items(), key=lambda kv: (-kv[1], kv[0]))
        ]
        for t in type_order
    }

    return ReplaySummary(
        replay_id=replay.replay_id,
        mission_name=game.mission_name,
        mission_id=game.mission_id,
        island=game.island,
        date=game.date,
        start=f"{game.started_at:%H:%M}",
        end=f"{game.ended_at:%H:%M}",
        duration=format_duration(game.duration_s),
        winner=game.winner,
        players_active=game.players_active,
        slots=game.slots,
        sides=sides,
        top_killers=_dense_ranked(kills, names),
        top_teamkillers=_dense_ranked(teamkills, names),
        first_frag=notable(frags[0] if frags else None),
        last_frag=notable(frags[-1] if frags else None),
        longest_frag=notable(longest),
        survivors=survivors,
        vehicles_by_type=vehicles_by_type,
        total_frags=sum(kills.values()),
        total_teamkills=sum(teamkills.values()),
    )


def summary_contract(summary: ReplaySummary) -> dict[str, Any]:
    """The ``wog summary`` JSON shape (a public contract, documented in docs/maintainer.md)."""

    def ranked(rows: list[RankedPlayer], key: str) -> list[dict[str, Any]]:
        return [
            {"player_id": r.player_id, "nickname": r.nickname, key: r.count, "rank": r.rank}
            for r in rows
        ]

    def frag(f: NotableFrag | None) -> dict[str, Any] | None:
        if f is None:
            return None
        return {
            "time_s": f.time_s,
            "victim_id": f.victim_id,
            "victim": f.victim,
            "killer_id": f.killer_id,
            "killer": f.killer,
            "distance_m": f.distance_m,
            "weapon": f.weapon,
            "teamkill": f.teamkill,
        }

    return {
        "replay_id": summary.replay_id,
        "top_killers": ranked(summary.top_killers, "kills"),
        "top_teamkillers": ranked(summary.top_teamkillers, "teamkills"),
        "first_frag": frag(summary.first_frag),
        "last_frag": frag(summary.last_frag),
        "longest_frag": frag(summary.longest_frag),
        "survivors": summary.survivors,
        "vehicles_by_type": {
            t: [{"name": v.name, "count": v.count} for v in vs]
            for t, vs in summary.vehicles_by_type.items()
        },
    }


def kills_timeline(replay: Replay) -> dict[str, list[int]]:
    """Mission times (s) of each side's kills (killer's side; teamkills and unknown excluded)."""
    sides = {p.player_id: p.side for p in replay.players}
    timeline: dict[str, list[int]] = {s: [] for s in replay.game.side_players}
    for frag in replay.frags:
        if frag.killer_id is None or frag.teamkill or frag.killer_id == frag.victim_id:
            continue
        side = sides.get(frag.killer_id)
        if side and Side.parse(side):
            timeline.setdefault(side, []).append(frag.time_s)
    return timeline
