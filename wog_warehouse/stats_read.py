"""Reading the career statistics: players by name, careers, rivals, tables, nominations.

The definitions live with the code that computes them (:mod:`wog_warehouse.stats`); this module
only reads the stored tables, for the CLI, the bot's slash commands and the digests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wog_core.clock import period_bounds
from wog_core.ids import is_id, without_controls
from wog_core.models import SITE_SOURCE
from wog_warehouse.stats import AWARDS, BOARDS, RIVALS_OF

# --- reading --------------------------------------------------------------------------------


class UnknownPlayer(LookupError):
    """No player, or several, go by that name."""


def find_player(engine: Engine, name_or_id: str) -> int:
    """A player id from an id, or a current or past nickname (case-insensitive)."""
    text = without_controls(name_or_id).strip()
    if not text:
        raise UnknownPlayer(f"no player called {name_or_id!r}")
    with engine.connect() as conn:
        if is_id(text):
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


def career(engine: Engine, player_id: int) -> dict[str, Any] | None:
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


def rivals_of(engine: Engine, player_id: int) -> dict[str, Any]:
    """The player's nemesis and favourite victim (each None when there is none)."""
    with engine.connect() as conn:
        row = conn.execute(sa.text(RIVALS_OF), {"id": player_id}).mappings().first()
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


@dataclass(frozen=True)
class Ranked:
    rank: int
    player_id: int
    nickname: str
    value: float
    games: int = 0  # in the period or career (commanders: games commanded)


def top(
    engine: Engine,
    *,
    metric: str,
    period: str | None = None,
    source: str = SITE_SOURCE,
    limit: int | None = None,
) -> list[Ranked]:
    """Ranked players by ``metric`` (a board: highest first, dense ranks, ties by player id),
    over their careers or over ``period``; read from the stored tables, never recomputed."""
    if metric not in BOARDS:
        raise ValueError(f"metric {metric!r}: one of {', '.join(BOARDS)}")
    params: dict[str, object] = {"source": source, "limit": limit, "board": metric}
    if period:
        period_bounds(period)  # a clear error for a malformed period
        params["period"] = period.strip()
        sql = """
            SELECT dense_rank() OVER (ORDER BY t.value DESC) AS rank, t.player_id,
                   coalesce(pd.nickname, '?') AS nickname, t.value, t.games
            FROM leaderboards lb
            CROSS JOIN LATERAL unnest(lb.players, lb."values", lb.games)
                 WITH ORDINALITY AS t(player_id, value, games, n)
            LEFT JOIN player_directory pd ON pd.player_id = t.player_id
            WHERE lb.source = :source AND lb.period = :period AND lb.board = :board
            ORDER BY t.n LIMIT :limit"""
    else:
        value, games, where = {
            "longest_kill": ("longest_kill_m", "games", "ranked AND longest_kill_m IS NOT NULL"),
            "commanders": ("commander_wins", "commander_games", "commander_games > 0"),
        }.get(metric, (metric, "games", "ranked"))
        sql = f"""
            SELECT dense_rank() OVER (ORDER BY {value} DESC) AS rank, player_id, nickname,
                   {value} AS value, {games} AS games
            FROM player_careers WHERE source = :source AND {where}
            ORDER BY {value} DESC, player_id LIMIT :limit"""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(sql), params).all()
    return [
        Ranked(int(r.rank), int(r.player_id), r.nickname, float(r.value), int(r.games))
        for r in rows
    ]


def why_empty(
    engine: Engine, *, metric: str, period: str | None, source: str, min_games: int
) -> str:
    """Why :func:`top` found nobody, in one line: no games, nobody ranked yet, or not refreshed."""
    where = "source = :source"
    params: dict[str, object] = {"source": source}
    if period:
        start, end = period_bounds(period)
        where += " AND played_on >= :start AND played_on < :end"
        params |= {"start": start, "end": end}
    with engine.connect() as conn:
        games = conn.scalar(
            sa.text(f"SELECT count(DISTINCT replay_id) FROM player_game_stats WHERE {where}"),
            params,
        )
        careers = conn.scalar(
            sa.text("SELECT count(*) FROM player_careers WHERE source = :source"), params
        )
    span = f"in {period}" if period else "yet"
    if not games:
        return f"no {source} games {span} in the statistics (load some with 'wog backfill')"
    if not careers:
        return f"{games} {source} game(s) {span}, but the statistics are not refreshed: run 'wog stats refresh'"
    if metric in ("longest_kill", "commanders"):
        return (
            f"nobody {'killed at a distance' if metric == 'longest_kill' else 'commanded'} {span}"
        )
    return (
        f"nobody has played {min_games} games {span} (WOG_STATS_MIN_GAMES={min_games}); "
        f"{games} game(s) counted"
    )


@dataclass(frozen=True)
class Nomination:
    award: str
    player_id: int
    nickname: str
    value: float
    replay_id: int | None


def nominations_of(engine: Engine, period: str, source: str = SITE_SOURCE) -> list[Nomination]:
    """The period's nominations in :data:`AWARDS` order (an award nobody earned is absent)."""
    period_bounds(period)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """SELECT n.award, n.player_id, coalesce(pd.nickname, '?') AS nickname, n.value,
                          n.replay_id
                   FROM nominations n LEFT JOIN player_directory pd ON pd.player_id = n.player_id
                   WHERE n.source = :source AND n.period = :period"""
            ),
            {"source": source, "period": period.strip()},
        ).all()
    found = {r.award: r for r in rows}
    return [
        Nomination(a, int(r.player_id), r.nickname, float(r.value), r.replay_id)
        for a in AWARDS
        if (r := found.get(a)) is not None
    ]


def period_games(engine: Engine, period: str, source: str = SITE_SOURCE) -> int:
    """How many games of ``source`` the period holds."""
    start, end = period_bounds(period)
    with engine.connect() as conn:
        return int(
            conn.scalar(
                sa.text(
                    """SELECT count(*) FROM games
                       WHERE source = :source AND started_at >= :start AND started_at < :end"""
                ),
                {"source": source, "start": start, "end": end},
            )
        )


def career_series(engine: Engine, player_id: int) -> tuple[list[int], list[int]]:
    """The kills and deaths of each of a player's games, oldest first (the career chart)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """SELECT kills, deaths FROM player_game_stats WHERE player_id = :id
                   ORDER BY played_on, replay_id"""
            ),
            {"id": player_id},
        ).all()
    return [r.kills for r in rows], [r.deaths for r in rows]


def nickname_choices(engine: Engine, typed: str, limit: int = 25) -> list[tuple[str, int]]:
    """(nickname, player id) pairs for an autocomplete: current and past nicknames (the
    nickname history holds both) containing ``typed`` (case-insensitive), those starting with
    it first, then the busiest players."""
    pattern = (
        "%"
        + without_controls(typed)
        .strip()
        .lower()
        .replace("\\", "\\\\")
        .replace("%", "\\%")
        .replace("_", "\\_")
        + "%"
    )
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                """SELECT n.nickname, n.player_id FROM player_nicknames n
                   LEFT JOIN player_careers c ON c.player_id = n.player_id
                   WHERE lower(n.nickname) LIKE :pattern
                   ORDER BY lower(n.nickname) LIKE :prefix DESC, coalesce(c.games, 0) DESC,
                            n.nickname, n.player_id
                   LIMIT :limit"""
            ),
            {"pattern": pattern, "prefix": pattern[1:], "limit": limit},
        ).all()
    return [(r.nickname, int(r.player_id)) for r in rows]
