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

Every statement works on sets (no Python loop over history). The per-game rows are replaced per
replay and mark their players and periods stale (``stats_stale``); careers, rivals and the
period tables are redone for what is stale, or rebuilt in full.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from dbschema import tables
from wog_core.clock import period_bounds
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
    WHERE {{frags}} AND f.killer_id IS NOT NULL AND f.killer_id <> f.victim_id
    GROUP BY 1, 2
), d AS (
    SELECT f.replay_id, f.victim_id AS player_id, count(*) AS deaths,
           count(*) FILTER (WHERE f.killer_id = f.victim_id) AS suicides,
           bool_or(f.is_teamkill AND f.killer_id IS DISTINCT FROM f.victim_id) AS died_to_teamkill
    FROM frags f
    WHERE {{frags}}
    GROUP BY 1, 2
)
INSERT INTO player_game_stats (
    replay_id, player_id, source, played_on, side, kills, teamkills, suicides, deaths,
    died_to_teamkill, survived, longest_kill_m, vehicle_kills, weapons, was_commander,
    commander_won)
SELECT p.replay_id, p.player_id, g.source, g.started_at::date, p.side,
       coalesce(k.kills, 0), coalesce(k.teamkills, 0), coalesce(d.suicides, 0),
       coalesce(d.deaths, 0), coalesce(d.died_to_teamkill, false), d.deaths IS NULL,
       k.longest_kill_m, coalesce(k.vehicle_kills, 0), coalesce(k.weapons, '{{{{}}}}'),
       coalesce(p.player_id = {_COMMANDER}, false),
       CASE WHEN p.player_id = {_COMMANDER} AND g.winner IS NOT NULL
            THEN g.winner = p.side END
FROM players p
JOIN games g ON g.replay_id = p.replay_id
LEFT JOIN k ON k.replay_id = p.replay_id AND k.player_id = p.player_id
LEFT JOIN d ON d.replay_id = p.replay_id AND d.player_id = p.player_id
WHERE {{players}}
"""


_MARK_STALE = """
INSERT INTO stats_stale (kind, key)
SELECT 'player', player_id::text FROM player_game_stats WHERE replay_id = ANY(:ids)
UNION SELECT 'period', to_char(played_on, 'IYYY-"W"IW') FROM player_game_stats
      WHERE replay_id = ANY(:ids)
UNION SELECT 'period', to_char(played_on, 'YYYY-MM') FROM player_game_stats
      WHERE replay_id = ANY(:ids)
ON CONFLICT DO NOTHING
"""


def _game_stats_sql(ids: bool) -> str:
    if ids:
        return _GAME_STATS.format(
            frags="f.replay_id = ANY(:ids)", players="p.replay_id = ANY(:ids)"
        )
    return _GAME_STATS.format(frags="TRUE", players="TRUE")


# A full rebuild is a batch job on a big table: sorts and hashes in memory, not on disk.
_BATCH_MEMORY = "SET LOCAL work_mem = '256MB'"


def refresh_game_stats(conn: Connection | Engine, replay_ids: list[int] | None) -> int:
    """Replace the per-game rows of ``replay_ids`` (None: of every game); returns how many were
    written.

    The players and periods of the old rows and of the new ones are marked stale (same
    transaction), so the next :func:`refresh_careers` and :func:`refresh_leaderboards` redo
    exactly them; a rebuild of every game marks nothing (rebuild those in full too).
    """
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_game_stats(c, replay_ids)
    if replay_ids is None:
        # Every row anew: load without the secondary indexes, then build them in one sort each
        # (index maintenance row by row was over half of a full rebuild).
        conn.execute(sa.text(_BATCH_MEMORY))
        conn.execute(sa.text("TRUNCATE player_game_stats"))
        indexes = list(tables.player_game_stats.indexes)
        for index in indexes:
            conn.execute(sa.schema.DropIndex(index, if_exists=True))
        written = conn.execute(sa.text(_game_stats_sql(ids=False))).rowcount
        for index in indexes:
            conn.execute(sa.schema.CreateIndex(index))
        return written
    ids = sorted(set(replay_ids))
    if not ids:
        return 0
    conn.execute(sa.text(_MARK_STALE), {"ids": ids})
    conn.execute(sa.text("DELETE FROM player_game_stats WHERE replay_id = ANY(:ids)"), {"ids": ids})
    written = conn.execute(sa.text(_game_stats_sql(ids=True)), {"ids": ids}).rowcount
    conn.execute(sa.text(_MARK_STALE), {"ids": ids})
    return written


# Careers and rivals of the players in :players (a bigint[]); the full rebuild passes every one.
_CAREERS = """
WITH fav_weapon AS (  -- the weapon of most of their kills (ties: alphabetical)
    SELECT DISTINCT ON (killer_id) killer_id AS player_id, weapon
    FROM frags
    WHERE {killers} AND killer_id <> victim_id AND NOT is_teamkill
          AND weapon IS NOT NULL
    GROUP BY killer_id, weapon
    ORDER BY killer_id, count(*) DESC, weapon
), fav_side AS (
    SELECT DISTINCT ON (player_id) player_id, side
    FROM player_game_stats
    WHERE {players}
    GROUP BY player_id, side
    ORDER BY player_id, count(*) DESC, side
), totals AS (
    SELECT player_id, min(source) AS source, count(*) AS games, sum(kills) AS kills,
           sum(deaths) AS deaths, sum(teamkills) AS teamkills, sum(suicides) AS suicides,
           count(*) FILTER (WHERE survived) AS survived, max(longest_kill_m) AS longest_kill_m,
           count(*) FILTER (WHERE was_commander) AS commander_games,
           count(*) FILTER (WHERE commander_won) AS commander_wins,
           min(played_on) AS first_game, max(played_on) AS last_game
    FROM player_game_stats WHERE {players} GROUP BY player_id
)
INSERT INTO player_careers (
    player_id, source, nickname, games, kills, deaths, teamkills, suicides, survived, kd,
    kills_per_game, vitality, score, longest_kill_m, favourite_weapon, favourite_side,
    commander_games, commander_wins, first_game, last_game, ranked)
SELECT t.player_id, t.source, coalesce(pd.nickname, '?'), t.games, t.kills, t.deaths,
       t.teamkills, t.suicides, t.survived,
       t.kills::float8 / greatest(t.deaths, 1), t.kills::float8 / t.games,
       t.survived::float8 / t.games, 0, t.longest_kill_m, fw.weapon, fs.side,
       t.commander_games, t.commander_wins, t.first_game, t.last_game, t.games >= :min_games
FROM totals t
LEFT JOIN player_directory pd ON pd.player_id = t.player_id
LEFT JOIN fav_weapon fw ON fw.player_id = t.player_id
LEFT JOIN fav_side fs ON fs.player_id = t.player_id
"""

# The community mean moves with every game, so every score of the touched sources is redone
# (one pass over the careers, not over history: the sums live in the careers themselves).
_SCORES = """
WITH mean AS (
    SELECT source, sum(kills)::float8 / sum(games) AS mu
    FROM player_careers WHERE source = ANY(:sources) GROUP BY source
)
UPDATE player_careers c SET score = (c.kills + :prior * m.mu) / (c.games + :prior)
FROM mean m WHERE c.source = m.source
"""

_RIVALS = """
WITH nemesis AS (
    SELECT DISTINCT ON (victim_id) victim_id AS player_id, killer_id, count(*) AS n
    FROM frags
    WHERE {victims} AND killer_id IS NOT NULL AND killer_id <> victim_id
          AND NOT is_teamkill
    GROUP BY victim_id, killer_id
    ORDER BY victim_id, count(*) DESC, killer_id
), victim AS (
    SELECT DISTINCT ON (killer_id) killer_id AS player_id, victim_id, count(*) AS n
    FROM frags
    WHERE {killers} AND killer_id <> victim_id AND NOT is_teamkill
    GROUP BY killer_id, victim_id
    ORDER BY killer_id, count(*) DESC, victim_id
)
INSERT INTO rivals (player_id, nemesis_id, nemesis_kills, victim_id, victim_kills)
SELECT coalesce(ne.player_id, vi.player_id), ne.killer_id, ne.n, vi.victim_id, vi.n
FROM nemesis ne FULL JOIN victim vi ON vi.player_id = ne.player_id
"""


def _for_players(sql: str, full: bool) -> str:
    if full:
        return sql.format(killers="killer_id IS NOT NULL", victims="TRUE", players="TRUE")
    return sql.format(killers="killer_id = ANY(:players)", victims="victim_id = ANY(:players)",
                      players="player_id = ANY(:players)")  # fmt: skip


def refresh_careers(
    conn: Connection | Engine, *, min_games: int, full: bool = False
) -> dict[str, int]:
    """Redo the careers and rivals of the stale players (``full``: of every player), and every
    score of their sources; one transaction. Returns the rows written and players redone."""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_careers(c, min_games=min_games, full=full)
    if full:
        conn.execute(sa.text(_BATCH_MEMORY))
        conn.execute(sa.text("DELETE FROM stats_stale WHERE kind = 'player'"))
        conn.execute(sa.text("TRUNCATE player_careers, rivals"))
        players: list[int] = []
    else:
        players = list(
            conn.execute(
                sa.text("DELETE FROM stats_stale WHERE kind = 'player' RETURNING key::bigint")
            ).scalars()
        )
        if not players:
            return {"players": 0, "careers": 0, "rivals": 0}
        conn.execute(
            sa.text("DELETE FROM player_careers WHERE player_id = ANY(:p)"), {"p": players}
        )
        conn.execute(sa.text("DELETE FROM rivals WHERE player_id = ANY(:p)"), {"p": players})
    params = {"players": players, "min_games": min_games}
    careers = conn.execute(sa.text(_for_players(_CAREERS, full)), params).rowcount
    sources = list(
        conn.execute(
            sa.text("SELECT DISTINCT source FROM player_careers")
            if full
            else sa.text("SELECT DISTINCT source FROM player_careers WHERE player_id = ANY(:p)"),
            {"p": players},
        ).scalars()
    )
    conn.execute(sa.text(_SCORES), {"sources": sources, "prior": SCORE_PRIOR_GAMES})
    rivals = conn.execute(sa.text(_for_players(_RIVALS, full)), {"players": players}).rowcount
    return {"players": careers if full else len(players), "careers": careers, "rivals": rivals}


# --- periods: leaderboards and nominations ------------------------------------------------

BOARDS = ("score", "kills", "deaths", "teamkills", "vitality", "longest_kill", "commanders")
AWARDS = ("mvp", "sharpshooter", "survivor", "one_man_army", "friendly_fire", "iron_commander",
          "newcomer")  # fmt: skip

# Each period's rows, once: a row's week and month are found by their first day (a date join,
# no text per row) and the date range bounds the scan (one new game: its month and week; a full
# rebuild: everything). Keys are compared bytewise (COLLATE "C"): only equality and order matter.
_PERIOD_ROWS = """
CREATE TEMP TABLE stats_period_rows AS
WITH periods AS (
    SELECT period COLLATE "C" AS period, start_on, length(period) > 7 AS weekly
    FROM unnest(CAST(:periods AS text[]), CAST(:starts AS date[])) AS p(period, start_on)
)
SELECT p.period, p.start_on, s.source COLLATE "C" AS source, s.replay_id, s.player_id, s.kills,
       s.deaths, s.teamkills, s.survived, s.longest_kill_m, s.was_commander, s.commander_won
FROM player_game_stats s
JOIN periods p ON p.start_on = date_trunc('week', s.played_on)::date AND p.weekly
WHERE s.played_on >= :lo AND s.played_on < :hi
UNION ALL
SELECT p.period, p.start_on, s.source COLLATE "C", s.replay_id, s.player_id, s.kills,
       s.deaths, s.teamkills, s.survived, s.longest_kill_m, s.was_commander, s.commander_won
FROM player_game_stats s
JOIN periods p ON p.start_on = date_trunc('month', s.played_on)::date AND NOT p.weekly
WHERE s.played_on >= :lo AND s.played_on < :hi
"""

# Each period's players and their sums, scored against the period's community mean.
_PERIOD_PLAYERS = """
CREATE TEMP TABLE stats_period_players AS
WITH mean AS (
    SELECT period, source, sum(kills)::float8 / count(*) AS mu
    FROM stats_period_rows GROUP BY 1, 2
), pp AS (
    SELECT period, source, player_id, min(start_on) AS start_on, count(*) AS games,
           sum(kills) AS kills, sum(deaths) AS deaths, sum(teamkills) AS teamkills,
           count(*) FILTER (WHERE survived)::float8 / count(*) AS vitality,
           max(longest_kill_m) AS longest_kill_m,
           count(*) FILTER (WHERE was_commander) AS commander_games,
           count(*) FILTER (WHERE commander_won) AS commander_wins
    FROM stats_period_rows GROUP BY 1, 2, 3
), firsts AS MATERIALIZED (  -- each player's first game of all (newcomers): one probe each
    SELECT d.player_id, (SELECT min(e.played_on) FROM player_game_stats e
                         WHERE e.player_id = d.player_id) AS first_on
    FROM (SELECT DISTINCT player_id FROM stats_period_rows) d
)
SELECT pp.*, f.first_on, (pp.kills + :prior * m.mu) / (pp.games + :prior) AS score,
       pp.games >= :min_games AS ranked
FROM pp JOIN mean m USING (period, source) JOIN firsts f USING (player_id)
"""

# One row per period and table: its ranked players, best first (ties by player id), read back
# in one fetch; dense ranks follow from the order and are numbered when read.
_LEADERBOARDS = """
WITH vals AS (  -- one scan: each player's row unpivoted into the tables they appear in
    SELECT sp.period, sp.source, v.board COLLATE "C" AS board, sp.player_id, v.value, v.games
    FROM stats_period_players sp
    CROSS JOIN LATERAL (VALUES
        ('score', sp.score, sp.games, sp.ranked),
        ('kills', sp.kills, sp.games, sp.ranked),
        ('deaths', sp.deaths, sp.games, sp.ranked),
        ('teamkills', sp.teamkills, sp.games, sp.ranked),
        ('vitality', sp.vitality, sp.games, sp.ranked),
        ('longest_kill', sp.longest_kill_m, sp.games,
         sp.ranked AND sp.longest_kill_m IS NOT NULL),
        ('commanders', sp.commander_wins, sp.commander_games, sp.commander_games > 0)
    ) AS v(board, value, games, listed)
    WHERE (sp.ranked OR sp.commander_games > 0) AND v.listed
)
INSERT INTO leaderboards (source, period, board, players, "values", games)
SELECT source, period, board, array_agg(player_id ORDER BY value DESC, player_id),
       array_agg(value ORDER BY value DESC, player_id),
       array_agg(games ORDER BY value DESC, player_id)
FROM vals GROUP BY source, period, board
"""

# One winner per award; each ORDER BY ends in the tie-breakers the README lists.
_NOMINATIONS = """
WITH tops AS (  -- each period's record kills in one game and longest kill
    SELECT period, source, max(kills) AS kills, max(longest_kill_m) AS longest_kill_m
    FROM stats_period_rows GROUP BY 1, 2
), best_game AS (
    SELECT DISTINCT ON (r.period, r.source) r.period, r.source, r.player_id, r.kills, r.replay_id
    FROM stats_period_rows r JOIN tops t
      ON t.period = r.period AND t.source = r.source AND r.kills = t.kills
    WHERE t.kills > 0
    ORDER BY r.period, r.source, r.replay_id, r.player_id
), longest AS (
    SELECT DISTINCT ON (r.period, r.source) r.period, r.source, r.player_id, r.longest_kill_m,
           r.replay_id
    FROM stats_period_rows r JOIN tops t
      ON t.period = r.period AND t.source = r.source AND r.longest_kill_m = t.longest_kill_m
    ORDER BY r.period, r.source, r.replay_id, r.player_id
), debut AS (  -- the period's players whose first game of all falls in it
    SELECT sc.period, sc.source, sc.player_id, sc.kills, sc.games
    FROM stats_period_players sc WHERE sc.first_on >= sc.start_on
), winners AS (
    (SELECT DISTINCT ON (period, source) period, source, 'mvp' AS award, player_id,
            score AS value, NULL::bigint AS replay_id
     FROM stats_period_players WHERE ranked ORDER BY period, source, score DESC, games DESC,
                                                     player_id)
    UNION ALL
    (SELECT period, source, 'sharpshooter', player_id, longest_kill_m, replay_id FROM longest)
    UNION ALL
    (SELECT DISTINCT ON (period, source) period, source, 'survivor', player_id, vitality, NULL
     FROM stats_period_players WHERE ranked AND vitality > 0
     ORDER BY period, source, vitality DESC, games DESC, player_id)
    UNION ALL
    (SELECT period, source, 'one_man_army', player_id, kills, replay_id FROM best_game)
    UNION ALL
    (SELECT DISTINCT ON (period, source) period, source, 'friendly_fire', player_id,
            teamkills, NULL
     FROM stats_period_players WHERE teamkills > 0
     ORDER BY period, source, teamkills DESC, games, player_id)
    UNION ALL
    (SELECT DISTINCT ON (period, source) period, source, 'iron_commander', player_id,
            commander_wins, NULL
     FROM stats_period_players WHERE commander_wins > 0
     ORDER BY period, source, commander_wins DESC, commander_games, player_id)
    UNION ALL
    (SELECT DISTINCT ON (period, source) period, source, 'newcomer', player_id, kills, NULL
     FROM debut WHERE kills > 0 ORDER BY period, source, kills DESC, games, player_id)
)
INSERT INTO nominations (source, period, award, player_id, value, replay_id)
SELECT source, period, award, player_id, value, replay_id FROM winners
"""


def stale_marks(engine: Engine) -> list[tuple[str, dt.datetime]]:
    """The periods waiting for a refresh, each with when it was marked stale."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT key, marked_at FROM stats_stale WHERE kind = 'period'")
        ).all()
    return [(key, marked) for key, marked in rows]


def stale_periods(conn: Connection | Engine) -> list[str]:
    """The periods whose tables wait for a refresh (oldest first)."""
    sql = sa.text("SELECT key FROM stats_stale WHERE kind = 'period' ORDER BY key")
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return list(c.execute(sql).scalars())
    return list(conn.execute(sql).scalars())


def refresh_leaderboards(
    conn: Connection | Engine, periods: list[str], *, min_games: int
) -> dict[str, int]:
    """Rebuild the leaderboards and nominations of ``periods`` (``2026-W10``, ``2026-03``) for
    every source, and clear them from the stale list; one transaction."""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_leaderboards(c, periods, min_games=min_games)
    periods = sorted(set(periods))
    if not periods:
        return {"periods": 0, "leaderboards": 0, "nominations": 0}
    bounds = [period_bounds(p) for p in periods]
    # Marks cleared first: a game marking a period while this runs stays marked for next time.
    conn.execute(
        sa.text("DELETE FROM stats_stale WHERE kind = 'period' AND key = ANY(:p)"),
        {"p": periods},
    )
    params = {
        "periods": periods,
        "starts": [b[0] for b in bounds],
        "lo": min(b[0] for b in bounds),
        "hi": max(b[1] for b in bounds),
        "prior": SCORE_PRIOR_GAMES,
        "min_games": min_games,
    }
    if len(periods) > 4:
        conn.execute(sa.text(_BATCH_MEMORY))
    for table in ("leaderboards", "nominations"):
        conn.execute(sa.text(f"DELETE FROM {table} WHERE period = ANY(:p)"), {"p": periods})
    conn.execute(sa.text("DROP TABLE IF EXISTS stats_period_rows, stats_period_players"))
    conn.execute(sa.text(_PERIOD_ROWS), params)
    conn.execute(sa.text("ANALYZE stats_period_rows"))
    conn.execute(sa.text(_PERIOD_PLAYERS), params)
    conn.execute(sa.text("ANALYZE stats_period_players"))
    boards = conn.execute(sa.text(_LEADERBOARDS)).rowcount
    awards = conn.execute(sa.text(_NOMINATIONS)).rowcount
    conn.execute(sa.text("DROP TABLE stats_period_rows, stats_period_players"))
    return {"periods": len(periods), "leaderboards": boards, "nominations": awards}


def all_periods(conn: Connection | Engine) -> list[str]:
    """Every week and month that has a game."""
    sql = sa.text(
        """SELECT DISTINCT to_char(played_on, 'IYYY-"W"IW') FROM player_game_stats
           UNION SELECT DISTINCT to_char(played_on, 'YYYY-MM') FROM player_game_stats"""
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return sorted(c.execute(sql).scalars())
    return sorted(conn.execute(sql).scalars())
