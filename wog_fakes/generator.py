"""A seeded generator of realistic WOG games, rendered as game page HTML and replay JSON.

``generate_game(replay_id, seed)`` returns the truth (a normalized :class:`Replay`) together
with the page and JSON the site would serve for it; parsing the rendering must give back the
truth exactly. Rendering varies whitespace, attribute order, extra rows, nested markup and
entities from game to game, so parsers are exercised against the page's variability.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from wog_core.models import (
    Commander,
    Frag,
    Game,
    GameListing,
    Player,
    Replay,
    Vehicle,
)
from wog_core.sides import SIDE_ORDER, Side

VEHICLE_TYPES = {
    "static-mortar": ["2Б14 Поднос", "M252"],
    "static-weapon": ["ДШКМ", "M2 HMG", "Корд"],
    "apc": ["БТР-80", "БМП-2", "M113"],
    "car": ["УАЗ-469", "HMMWV", "Offroad"],
    "tank": ["Т-72Б", "M1A2 SEP"],
    "truck": ["Урал-4320", "КамАЗ", "M939"],
    "parachute": ["Парашют"],
    "plane": ["Су-25", "A-10C"],
    "heli": ["Ми-8МТВ-3", "UH-60M", "Ка-52"],
    "sea": ["Лодка", "RHIB"],
    "hovercraft": ["Зубр"],  # a type the message builder does not know
}
WEAPONS = ["АК-74М", "ПКМ", "M4A1", "M249", "СВД", "РПГ-7", "M136", "Glock 17", "Ф-1"]
ISLANDS = ["Altis", "Chernarus", "Takistan", "Малден", "Tanoa", "Livonia", "Sahrani"]
MISSION_WORDS = ["Операция", "Штурм", "Рассвет", "Buran", "Red Dawn", "Гроза", "Тайфун"]
NICK_PARTS = [
    "Ivan",
    "Sasha",
    "Медведь",
    "Ghost",
    "Sniper",
    "Wolf",
    "Пётр",
    "Scout",
    "Бобр",
    "Nomad",
]
TRICKY_NICKS = [
    "@everyone",
    "@here",
    "**bold**",
    "_italic_",
    "||spoiler||",
    "`code`",
    "> quote",
    "[link](https://example.com)",
    "Ёжик 🦔",
    'Quote "Q" O\'Neil',
    "<b>&amp;</b>",
    "🔥🔥🔥",
    "Tab\tName",
]
SQUADS = ["Альфа 1-1", "Alpha 1-2", "Браво", "HQ", None]
SLOTS = ["Стрелок", "Командир отделения", "Пулеметчик", "Медик", "Rifleman", "Sniper", None]


@dataclass(frozen=True)
class GeneratedGame:
    """A generated game: the truth and its renderings."""

    replay: Replay
    page_html: str
    replay_json: bytes
    missing_row: str | None = None

    @property
    def replay_id(self) -> int:
        return self.replay.replay_id

    @property
    def listing(self) -> GameListing:
        return GameListing(self.replay_id, self.replay.game.players_active, self.replay.game.slots)


@dataclass
class GameOptions:
    """Knobs for one game; defaults draw everything from the seed."""

    players: int | None = None
    frags: int | None = None
    sides: int | None = None
    viewer_bytes: int = 0
    winner: bool | None = None
    tricky_nicknames: bool = True
    extra: dict = field(default_factory=dict)


def generate_game(
    replay_id: int, seed: int | None = None, options: GameOptions | None = None
) -> GeneratedGame:
    """Generate one game deterministically from ``(replay_id, seed)``."""
    opts = options or GameOptions()
    rng = random.Random(f"{seed}-{replay_id}")

    n_sides = opts.sides or rng.choice([2, 2, 2, 3, 4])
    sides = sorted(rng.sample(list(SIDE_ORDER), n_sides), key=SIDE_ORDER.index)
    n_players = opts.players if opts.players is not None else rng.randint(20, 250)

    players: list[Player] = []
    used_ids: set[int] = set()
    for i in range(n_players):
        player_id = rng.randint(1, 60_000)
        while player_id in used_ids:
            player_id = rng.randint(1, 60_000)
        used_ids.add(player_id)
        if opts.tricky_nicknames and i < len(TRICKY_NICKS) and rng.random() < 0.6:
            nickname = TRICKY_NICKS[i]
        else:
            nickname = f"{rng.choice(NICK_PARTS)}{rng.randint(1, 999)}"
        players.append(
            Player(
                player_id=player_id,
                side=sides[i % len(sides)].value,
                nickname=nickname,
                slot=rng.choice(SLOTS),
                squad=rng.choice(SQUADS),
            )
        )
    players.sort(key=lambda p: p.player_id)
    by_side: dict[str, list[Player]] = {s.value: [] for s in sides}
    for p in players:
        by_side[p.side].append(p)

    vehicles = []
    vehicle_id = rng.randint(1, 50)
    for vtype, names in VEHICLE_TYPES.items():
        for _ in range(rng.randint(1, 3)):
            vehicles.append(Vehicle(vehicle_id, vtype, rng.choice(names)))
            vehicle_id += rng.randint(1, 4)

    start_date = dt.date(2024, 1, 1) + dt.timedelta(days=replay_id % 700)
    started_at = dt.datetime.combine(
        start_date, dt.time(rng.randint(17, 23), rng.randint(0, 59), rng.randint(0, 59))
    )
    duration_s = rng.randint(40 * 60, 3 * 3600)
    ended_at = started_at + dt.timedelta(seconds=duration_s)

    frags = _frags(rng, players, vehicles, opts.frags, duration_s)

    commanders = {}
    for side in sides:
        if by_side[side.value] and rng.random() < 0.85:
            c = rng.choice(by_side[side.value])
            commanders[side.value] = Commander(c.player_id, c.nickname)
    winner_wanted = opts.winner if opts.winner is not None else rng.random() < 0.8
    winner = rng.choice(sides).value if winner_wanted else None

    game = Game(
        mission_name=f"{rng.choice(MISSION_WORDS)} «{rng.choice(MISSION_WORDS)}» v{rng.randint(1, 9)}",
        mission_id=rng.randint(100, 9000),
        island=rng.choice(ISLANDS),
        date=start_date,
        started_at=started_at,
        ended_at=ended_at,
        duration_s=duration_s,
        winner=winner,
        players_active=n_players,
        slots=n_players + rng.randint(0, 60),
        side_players={s.value: len(by_side[s.value]) for s in sides},
        commanders={s.value: commanders[s.value] for s in sides if s.value in commanders},
    )
    replay = Replay(replay_id=replay_id, game=game, players=players, vehicles=vehicles, frags=frags)
    return GeneratedGame(
        replay=replay,
        page_html=render_game_page(replay, rng),
        replay_json=render_replay_json(replay, rng, viewer_bytes=opts.viewer_bytes),
    )


def _frags(
    rng: random.Random,
    players: list[Player],
    vehicles: list[Vehicle],
    n: int | None,
    duration_s: int,
) -> list[Frag]:
    if not players:
        return []
    n = n if n is not None else rng.randint(0, min(600, len(players) * 3))
    deaths: dict[tuple[int, int], Frag] = {}
    vehicle_names = [v.name for v in vehicles]
    while len(deaths) < n:
        time_s = rng.randint(5, duration_s)
        victim = rng.choice(players)
        if (time_s, victim.player_id) in deaths:
            continue
        roll = rng.random()
        killer: Player | None
        if roll < 0.07:
            killer = None  # unknown killer
        elif roll < 0.10:
            killer = victim  # self-kill, flagged as a teamkill by the site
        else:
            killer = rng.choice(players)
        teamkill = killer is not None and killer.side == victim.side
        in_vehicle = rng.random() < 0.15
        deaths[(time_s, victim.player_id)] = Frag(
            seq=0,
            time_s=time_s,
            victim_id=victim.player_id,
            victim_vehicle=rng.choice(vehicle_names) if in_vehicle and vehicle_names else None,
            killer_id=killer.player_id if killer else None,
            killer_vehicle=rng.choice(vehicle_names) if killer and rng.random() < 0.1 else None,
            weapon=rng.choice(WEAPONS) if killer and rng.random() < 0.9 else None,
            distance_m=round(rng.uniform(0, 1500), 1) if killer else None,
            teamkill=teamkill,
        )
    ordered = sorted(deaths.values(), key=lambda f: (f.time_s, f.victim_id))
    return [
        Frag(
            seq=i,
            time_s=f.time_s,
            victim_id=f.victim_id,
            victim_vehicle=f.victim_vehicle,
            killer_id=f.killer_id,
            killer_vehicle=f.killer_vehicle,
            weapon=f.weapon,
            distance_m=f.distance_m,
            teamkill=f.teamkill,
        )
        for i, f in enumerate(ordered)
    ]


# --- rendering ------------------------------------------------------------------------------


def _ws(rng: random.Random) -> str:
    return rng.choice(["", " ", "\n", "\n\t\t", "  \n    "])


def _esc(text: str, rng: random.Random) -> str:
    """HTML-escape, sometimes spelling Cyrillic letters as numeric entities."""
    escaped = html.escape(text, quote=True)
    if rng.random() < 0.3:
        escaped = "".join(f"&#{ord(ch)};" if "А" <= ch <= "я" else ch for ch in escaped)
    return escaped


def render_game_page(
    replay: Replay, rng: random.Random | None = None, *, drop_row: str | None = None
) -> str:
    """The game page for ``replay`` as the site renders it (with harmless variations)."""
    rng = rng or random.Random(replay.replay_id)
    g = replay.game

    def w() -> str:  # terse on purpose in a template
        return _ws(rng)

    rows: list[tuple[str, str]] = []
    rows.append(("Остров", f"{w()}<b>{_esc(g.island, rng)}</b>{w()}"))
    for side, commander in g.commanders.items():
        label = f'Командир стороны{w()} <span class="side side-{side.lower()}" title="{side}">{side}</span>'
        cell = f'<a class="player" href="/projects/wog-a3/players/{commander.player_id}/">{_esc(commander.nickname, rng)}</a>'
        rows.append((label, cell))
    if g.winner:
        color = Side(g.winner).colour
        rows.append(
            (
                "Сторона-победитель",
                f'<span style="color: {color}" class="winner">{w()}{g.winner}{w()}</span>',
            )
        )
    elif rng.random() < 0.5:
        rows.append(("Сторона-победитель", '<span class="text-muted">Ничья</span>'))
    rows.append(("Количество игроков / слотов", f"{g.players_active}{w()} / {w()}{g.slots}"))
    rows.append(("Дата и время старта миссии", f"{g.started_at:%d.%m.%Y}, {g.started_at:%H:%M:%S}"))
    rows.append(("Дата и время окончания миссии", f"{g.ended_at:%d.%m.%Y}, {g.ended_at:%H:%M:%S}"))
    h, rem = divmod(g.duration_s, 3600)
    rows.append(("Длительность миссии", f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}"))
    if rng.random() < 0.5:
        rows.insert(rng.randint(0, len(rows)), ("Сервер", "WOG #1 &laquo;Main&raquo;"))
    if drop_row:
        rows = [r for r in rows if not r[0].startswith(drop_row)]

    tr_attrs = ["", ' class="row"']
    th_attrs = ["", ' scope="row"']
    body_rows = "".join(
        f"{w()}<tr{rng.choice(tr_attrs)}>{w()}<th{rng.choice(th_attrs)}>{label}</th>"
        f"{w()}<td>{value}</td>{w()}</tr>"
        for label, value in rows
    )
    mission = _esc(g.mission_name, rng)
    title_name = html.escape(g.mission_name)
    return (
        '<!DOCTYPE html>\n<html lang="ru">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{title_name} от {g.date:%d.%m.%Y} / WOG Stats</title>\n"
        f'<link rel="canonical" href="/games/{replay.replay_id}/">\n</head>\n<body>\n'
        '<nav><a href="/projects/wog-a3/games/">Игры</a></nav>\n'
        f'<h1>{w()}Игра #{replay.replay_id}: <a href="/missions/{g.mission_id}/" class="mission">{mission}</a>{w()}</h1>\n'
        f'<table class="table table-striped">{w()}<tbody>{body_rows}</tbody></table>\n'
        f'<p><a href="/json/replay-data.json?game={replay.replay_id}">Реплей</a></p>\n'
        "</body>\n</html>\n"
    )


def render_replay_json(
    replay: Replay, rng: random.Random | None = None, *, viewer_bytes: int = 0
) -> bytes:
    """The replay JSON for ``replay``; ``viewer_bytes`` adds bulky viewer data around it."""
    rng = rng or random.Random(replay.replay_id)
    g = replay.game
    factions = {
        str(Side(side).number): [side, f"Сторона {side}", count, 0]
        for side, count in g.side_players.items()
    }
    players = {
        str(p.player_id): [Side(p.side).number, p.nickname, p.slot, p.squad] for p in replay.players
    }
    vehicles = {str(v.vehicle_id): [v.type, v.name] for v in replay.vehicles}
    dead: dict[str, dict[str, list]] = {}
    for f in replay.frags:
        killer = rng.choice([None, 0, "missing"]) if f.killer_id is None else f.killer_id
        row = [
            f.victim_vehicle or rng.choice([None, ""]),
            killer,
            f.killer_vehicle or rng.choice([None, ""]),
            f.weapon or rng.choice([None, ""]),
            f.distance_m,
            1 if f.teamkill else 0,
        ]
        if killer == "missing":
            row = [row[0]]  # a truncated row: killer and everything after it absent
        dead.setdefault(str(f.time_s), {})[str(f.victim_id)] = row
    document: dict = {"version": 3, "game": replay.replay_id}
    if viewer_bytes:
        document["entities"] = None  # placeholder, filled below without building a huge object
    document.update(
        {
            "factions": factions,
            "players": players,
            "vehiclesUnits": vehicles,
            "playersDead": dead or [],
        }
    )
    text = json.dumps(document, ensure_ascii=rng.random() < 0.5, separators=(",", ":"))
    if viewer_bytes:
        text = text.replace('"entities":null', '"entities":' + _viewer_blob(rng, viewer_bytes), 1)
    return text.encode("utf-8")


def _viewer_blob(rng: random.Random, size: int) -> str:
    """Movement data as replay viewers record it, ~``size`` bytes: per unit, one frame per
    capture step — ``[[x, y, z], direction, alive, in vehicle, name, is player]`` — on a
    random walk (standing still for a while, then moving a few metres a frame and turning), so
    it compresses like real recordings (zstd-3 ≈ 8×; the sg.zone OCAP files: 8.8×) rather
    than like one repeated track (≈ 700×, which made storing raw bodies look free)."""
    pieces: list[str] = []
    total = 0
    unit = 0
    while total < size:
        x, y, heading = rng.uniform(1000, 29000), rng.uniform(1000, 29000), rng.randrange(360)
        name = f"Unit {unit}"
        frames = []
        still = 0
        for _ in range(rng.randint(300, 900)):
            if still > 0:
                still -= 1
            elif rng.random() < 0.05:
                still = rng.randint(5, 40)  # waits, takes cover, holds a position
            else:
                heading = (heading + rng.randint(-20, 20)) % 360
                step = rng.uniform(0.5, 4.0)
                x += step * math.sin(math.radians(heading))
                y += step * math.cos(math.radians(heading))
            z = max(0.0, 20 + 15 * math.sin(x / 400) * math.cos(y / 300))  # terrain height
            frames.append(f'[[{x:.2f},{y:.2f},{z:.1f}],{heading},1,0,"{name}",1]')
        piece = f'{{"id":{unit},"name":"{name}","type":"unit","positions":[{",".join(frames)}]}}'
        pieces.append(piece)
        total += len(piece) + 1
        unit += 1
    return "[" + ",".join(pieces) + "]"


def generate_games(
    first_id: int, count: int, seed: int = 0, options: GameOptions | None = None
) -> list[GeneratedGame]:
    """``count`` consecutive games starting at ``first_id``."""
    return [generate_game(first_id + i, seed, options) for i in range(count)]


def render_games_list(games: list[GameListing]) -> str:
    """The games list page: newest first, each row linking ``/games/<id>/`` with ``N / M``."""
    rows = "".join(
        f'\n  <tr>\n    <td><a href="/games/{g.replay_id}/">#{g.replay_id}</a></td>'
        f"\n    <td>Миссия</td>\n    <td>{g.players} / {g.slots}</td>\n  </tr>"
        for g in sorted(games, key=lambda g: g.replay_id, reverse=True)
    )
    return (
        '<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8">'
        "<title>Игры / WOG Stats</title></head><body>\n"
        f'<table class="table">\n<thead><tr><th>Игра</th><th>Миссия</th><th>Игроки</th></tr></thead>\n<tbody>{rows}\n</tbody></table>\n'
        "</body></html>\n"
    )


ERROR_PAGE_HTML = (
    '<!DOCTYPE html>\n<html lang="ru"><head><meta charset="utf-8"><title>Ошибка / WOG Stats</title>'
    "</head><body><h1>Ошибка</h1><p>Игра не найдена</p></body></html>\n"
)


def export_games(games: list[GeneratedGame], directory: Path) -> None:
    """Write each game as ``<id>.html`` (its page) and ``<id>.json`` (its replay JSON)."""
    directory.mkdir(parents=True, exist_ok=True)
    for game in games:
        (directory / f"{game.replay_id}.html").write_text(game.page_html, encoding="utf-8")
        (directory / f"{game.replay_id}.json").write_bytes(game.replay_json)
