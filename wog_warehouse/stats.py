"""Career statistics: per-game rows, careers and rivals, derived set-wise from the warehouse.

The definitions (README, "Career statistics") live here and only here:

- a **kill** is a frag whose killer is the player, whose victim is someone else, and which is
  not a teamkill; a **teamkill** the same but flagged as a teamkill;
- a death whose killer is the victim is a **suicide** — neither a kill nor a teamkill, whatever
  the site's flag (the per-game summary keeps its own contract);
- **deaths** count every frag whose victim is the player (unknown killer included);
- a player **survived** a game they are listed in without dying in it;
- **vitality** = survived / games; **kd** = kills / max(deaths, 1);
- the **favourite weapon** is the weapon of most of their kills, the **favourite side** the side
  of most of their games (ties: alphabetical); a **commander** is the side's commander on the
  game page, who **won** when the game has a winner and it is their side;
- **score** = (kills + C × μ) / (games + C): kills per game shrunk toward the community's mean
  kills per game μ (over every player-game of the source, or of the period) by C =
  ``SCORE_PRIOR_GAMES`` games, so three lucky games do not top the table;
- players with fewer than ``WOG_STATS_MIN_GAMES`` games are listed but not ranked;
- a period holds the games whose start date (Moscow time, as the site gives it) falls in it:
  ``2026-03`` (a month) or ``2026-W10`` (an ISO week).

Every statement works on sets (no Python loop over history); the per-game rows are replaced
per replay, careers and rivals are rebuilt per source.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from wog_core.sides import SIDE_CODES

SCORE_PRIOR_GAMES = 10  # C in the score: how many "average" games every career starts with
METRICS = ("score", "kills", "deaths", "teamkills", "vitality")

_COMMANDER = (
    "CASE p.side "
    + " ".join(f"WHEN '{code}' THEN g.commander_{code.lower()}_id" for code in SIDE_CODES)
    + " END"
)

_GAME_STATS = f"""
WITH k AS (
    SELECT f.replay_id, f.killer_id AS player_id,
           count(*) FILTER (WHERE NOT f.is_teamkill) AS kills,
           count(*) FILTER (WHERE f.is_teamkill) AS teamkills,
           max(f.distance_m) FILTER (WHERE NOT f.is_teamkill) AS longest_kill_m,
           count(*) FILTER (WHERE NOT f.is_teamkill AND f.killer_vehicle IS NOT NULL)
               AS vehicle_kills,
           array_agg(DISTINCT f.weapon ORDER BY f.weapon)
               FILTER (WHERE f.weapon IS NOT NULL AND NOT f.is_teamkill) AS weapons
    FROM frags f
    WHERE f.replay_id = ANY(:ids) AND f.killer_id IS NOT NULL AND f.killer_id <> f.victim_id
    GROUP BY 1, 2
), d AS (
    SELECT f.replay_id, f.victim_id AS player_id, count(*) AS deaths,
           count(*) FILTER (WHERE f.killer_id = f.victim_id) AS suicides,
           bool_or(f.is_teamkill AND f.killer_id IS DISTINCT FROM f.victim_id) AS died_to_teamkill
    FROM frags f
    WHERE f.replay_id = ANY(:ids)
    GROUP BY 1, 2
)
INSERT INTO player_game_stats (
    replay_id, player_id, source, played_on, side, kills, teamkills, suicides, deaths,
    died_to_teamkill, survived, longest_kill_m, vehicle_kills, weapons, was_commander,
    commander_won)
SELECT p.replay_id, p.player_id, g.source, g.started_at::date, p.side,
       coalesce(k.kills, 0), coalesce(k.teamkills, 0), coalesce(d.suicides, 0),
       coalesce(d.deaths, 0), coalesce(d.died_to_teamkill, false), d.deaths IS NULL,
       k.longest_kill_m, coalesce(k.vehicle_kills, 0), coalesce(k.weapons, '{{}}'),
       coalesce(p.player_id = {_COMMANDER}, false),
       CASE WHEN p.player_id = {_COMMANDER} AND g.winner IS NOT NULL
            THEN g.winner = p.side END
FROM players p
JOIN games g ON g.replay_id = p.replay_id
LEFT JOIN k ON k.replay_id = p.replay_id AND k.player_id = p.player_id
LEFT JOIN d ON d.replay_id = p.replay_id AND d.player_id = p.player_id
WHERE p.replay_id = ANY(:ids)
"""


def refresh_game_stats(conn: Connection | Engine, replay_ids: list[int]) -> int:
    """Replace the per-game rows of ``replay_ids``; returns how many were written."""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_game_stats(c, replay_ids)
    ids = sorted(set(replay_ids))
    if not ids:
        return 0
    conn.execute(sa.text("DELETE FROM player_game_stats WHERE replay_id = ANY(:ids)"), {"ids": ids})
    return conn.execute(sa.text(_GAME_STATS), {"ids": ids}).rowcount


_CAREERS = """
WITH mean AS (
    SELECT source, sum(kills)::float8 / nullif(count(*), 0) AS mu
    FROM player_game_stats GROUP BY source
), fav_weapon AS (  -- the weapon of most of their kills (ties: alphabetical)
    SELECT DISTINCT ON (killer_id) killer_id AS player_id, weapon
    FROM frags
    WHERE killer_id IS NOT NULL AND killer_id <> victim_id AND NOT is_teamkill
          AND weapon IS NOT NULL
    GROUP BY killer_id, weapon
    ORDER BY killer_id, count(*) DESC, weapon
), fav_side AS (
    SELECT DISTINCT ON (player_id) player_id, side
    FROM player_game_stats
    GROUP BY player_id, side
    ORDER BY player_id, count(*) DESC, side
), totals AS (
    SELECT player_id, source, count(*) AS games, sum(kills) AS kills, sum(deaths) AS deaths,
           sum(teamkills) AS teamkills, sum(suicides) AS suicides,
           count(*) FILTER (WHERE survived) AS survived, max(longest_kill_m) AS longest_kill_m,
           count(*) FILTER (WHERE was_commander) AS commander_games,
           count(*) FILTER (WHERE commander_won) AS commander_wins,
           min(played_on) AS first_game, max(played_on) AS last_game
    FROM player_game_stats GROUP BY player_id, source
)
INSERT INTO player_careers (
    player_id, source, nickname, games, kills, deaths, teamkills, suicides, survived, kd,
    kills_per_game, vitality, score, longest_kill_m, favourite_weapon, favourite_side,
    commander_games, commander_wins, first_game, last_game, ranked)
SELECT t.player_id, t.source, coalesce(pd.nickname, '?'), t.games, t.kills, t.deaths,
       t.teamkills, t.suicides, t.survived,
       t.kills::float8 / greatest(t.deaths, 1), t.kills::float8 / t.games,
       t.survived::float8 / t.games,
       (t.kills + :prior * coalesce(m.mu, 0)) / (t.games + :prior),
       t.longest_kill_m, fw.weapon, fs.side, t.commander_games, t.commander_wins,
       t.first_game, t.last_game, t.games >= :min_games
FROM totals t
JOIN mean m ON m.source = t.source
LEFT JOIN player_directory pd ON pd.player_id = t.player_id
LEFT JOIN fav_weapon fw ON fw.player_id = t.player_id
LEFT JOIN fav_side fs ON fs.player_id = t.player_id
"""

_RIVALS = """
WITH pairs AS (
    SELECT killer_id, victim_id, count(*) AS n
    FROM frags
    WHERE killer_id IS NOT NULL AND killer_id <> victim_id AND NOT is_teamkill
    GROUP BY 1, 2
), nemesis AS (
    SELECT DISTINCT ON (victim_id) victim_id AS player_id, killer_id, n
    FROM pairs ORDER BY victim_id, n DESC, killer_id
), victim AS (
    SELECT DISTINCT ON (killer_id) killer_id AS player_id, victim_id, n
    FROM pairs ORDER BY killer_id, n DESC, victim_id
)
INSERT INTO rivals (player_id, nemesis_id, nemesis_kills, victim_id, victim_kills)
SELECT coalesce(ne.player_id, vi.player_id), ne.killer_id, ne.n, vi.victim_id, vi.n
FROM nemesis ne FULL JOIN victim vi ON vi.player_id = ne.player_id
"""


def refresh_careers(conn: Connection | Engine, *, min_games: int) -> dict[str, int]:
    """Rebuild careers and rivals from the per-game rows and the frags (one transaction)."""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_careers(c, min_games=min_games)
    conn.execute(sa.text("DELETE FROM player_careers"))
    careers = conn.execute(
        sa.text(_CAREERS), {"prior": SCORE_PRIOR_GAMES, "min_games": min_games}
    ).rowcount
    conn.execute(sa.text("DELETE FROM rivals"))
    rivals = conn.execute(sa.text(_RIVALS)).rowcount
    return {"careers": careers, "rivals": rivals}


# --- reading --------------------------------------------------------------------------------


class UnknownPlayer(LookupError):
    """No player, or several, go by that name."""


def find_player(engine: Engine, name_or_id: str) -> int:
    """A player id from an id, or a current or past nickname (case-insensitive)."""
    text = name_or_id.strip()
    with engine.connect() as conn:
        if text.isdigit():
            found = conn.scalar(
                sa.text("SELECT player_id FROM player_careers WHERE player_id = :id"),
                {"id": int(text)},
            )
            if found is not None:
                return int(found)
        rows = (
            conn.execute(
                sa.text(
                    """SELECT DISTINCT player_id FROM (
                       SELECT player_id FROM player_directory WHERE lower(nickname) = lower(:n)
                       UNION ALL
                       SELECT player_id FROM player_nicknames WHERE lower(nickname) = lower(:n)
                   ) x ORDER BY 1"""
                ),
                {"n": text},
            )
            .scalars()
            .all()
        )
    if not rows:
        raise UnknownPlayer(f"no player called {text!r}")
    if len(rows) > 1:
        ids = ", ".join(map(str, rows[:10]))
        raise UnknownPlayer(
            f"{len(rows)} players have been called {text!r} (ids {ids}); give an id"
        )
    return int(rows[0])


CAREER_FIELDS = ("player_id", "nickname", "games", "kills", "deaths", "teamkills", "suicides",
                 "survived", "kd", "vitality", "score", "longest_kill_m", "favourite_weapon",
                 "commander_games", "commander_wins")  # fmt: skip


def career(engine: Engine, player_id: int) -> dict | None:
    columns = ", ".join(CAREER_FIELDS)
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(f"SELECT {columns} FROM player_careers WHERE player_id = :id"),
                {"id": player_id},
            )
            .mappings()
            .first()
        )
    return dict(row) if row else None


def rivals_of(engine: Engine, player_id: int) -> dict:
    with engine.connect() as conn:
        row = (
            conn.execute(
                sa.text(
                    """SELECT r.nemesis_id, n.nickname AS nemesis_name, r.nemesis_kills,
                          r.victim_id, v.nickname AS victim_name, r.victim_kills
                   FROM rivals r
                   LEFT JOIN player_directory n ON n.player_id = r.nemesis_id
                   LEFT JOIN player_directory v ON v.player_id = r.victim_id
                   WHERE r.player_id = :id"""
                ),
                {"id": player_id},
            )
            .mappings()
            .first()
        )
    if row is None or row["nemesis_id"] is None:
        nemesis = None
    else:
        nemesis = {"player_id": row["nemesis_id"], "nickname": row["nemesis_name"],
                   "kills": row["nemesis_kills"]}  # fmt: skip
    if row is None or row["victim_id"] is None:
        victim = None
    else:
        victim = {"player_id": row["victim_id"], "nickname": row["victim_name"],
                  "kills": row["victim_kills"]}  # fmt: skip
    return {"nemesis": nemesis, "favourite_victim": victim}


_PERIOD = re.compile(r"^(\d{4})-(?:W(\d{2})|(\d{2}))$")


def period_bounds(period: str) -> tuple[dt.date, dt.date]:
    """[first day, day after the last) of ``2026-03`` or ``2026-W10``; ValueError otherwise."""
    match = _PERIOD.match(period.strip())
    if not match:
        raise ValueError(f"period {period!r}: give a month (2026-03) or an ISO week (2026-W10)")
    year = int(match.group(1))
    if match.group(2):
        week = int(match.group(2))
        start = dt.date.fromisocalendar(year, week, 1)
        return start, start + dt.timedelta(days=7)
    month = int(match.group(3))
    if not 1 <= month <= 12:
        raise ValueError(f"period {period!r}: no month {month}")
    start = dt.date(year, month, 1)
    end = dt.date(year + (month == 12), month % 12 + 1, 1)
    return start, end


@dataclass(frozen=True)
class Ranked:
    rank: int
    player_id: int
    nickname: str
    value: float


_VALUE = {
    "kills": "sum(kills)::float8",
    "deaths": "sum(deaths)::float8",
    "teamkills": "sum(teamkills)::float8",
    "vitality": "(count(*) FILTER (WHERE survived))::float8 / count(*)",
    "score": "(sum(kills) + :prior * (SELECT mu FROM mean)) / (count(*) + :prior)",
}


def top(engine: Engine, *, metric: str, min_games: int, period: str | None = None) -> list[Ranked]:
    """Every ranked player by ``metric`` (highest first, dense ranks, ties by player id),
    over all games or those of ``period``."""
    if metric not in _VALUE:
        raise ValueError(f"metric {metric!r}: one of {', '.join(METRICS)}")
    where, params = "", {"prior": SCORE_PRIOR_GAMES, "min_games": min_games}
    if period:
        start, end = period_bounds(period)
        where = "WHERE played_on >= :start AND played_on < :end"
        params.update(start=start, end=end)
    sql = f"""
        WITH games AS (SELECT * FROM player_game_stats {where}),
        mean AS (SELECT coalesce(sum(kills)::float8 / nullif(count(*), 0), 0) AS mu FROM games),
        per_player AS (
            SELECT player_id, {_VALUE[metric]} AS value
            FROM games GROUP BY player_id HAVING count(*) >= :min_games
        )
        SELECT dense_rank() OVER (ORDER BY value DESC) AS rank, pp.player_id,
               coalesce(pd.nickname, '?') AS nickname, value
        FROM per_player pp LEFT JOIN player_directory pd ON pd.player_id = pp.player_id
        ORDER BY value DESC, pp.player_id
    """
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).all()
    return [Ranked(int(r.rank), int(r.player_id), r.nickname, float(r.value)) for r in rows]
