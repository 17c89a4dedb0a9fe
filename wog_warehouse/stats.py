"""Career statistics: per-game rows, careers and rivals, derived set-wise from the warehouse.

The definitions (docs/players.md, "Career statistics") live here and only here:

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
replay and mark their players and periods stale (``stats_stale``); in the same transaction a new
game's rows are added to its players' sums by side and kills by weapon (``player_side_totals``,
``player_weapon_kills``), and the players of a re-parsed game are summed again from their rows.
Careers are then redone from those sums for the stale players — a few rows each however long
their history — and the period tables for the stale periods, or everything rebuilt in full.
Rivals — a player's **nemesis** (who killed them most) and **favourite victim** (whom they
killed most), kills only, ties to the lower player id — are computed from the frags when asked
(:data:`RIVALS_OF`, one player's few thousand frags from an index: milliseconds), so no new
game pays for them.
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


# A player's per-game rows summed by side, and their kills by weapon over the games that have
# per-game rows: what careers are read from. {rows} / {frags} choose the rows.
_SIDE_SUMS = """
INSERT INTO player_side_totals AS t (
    player_id, side, source, games, kills, deaths, teamkills, suicides, survived,
    commander_games, commander_wins, longest_kill_m, first_game, last_game)
SELECT player_id, side, min(source), count(*), sum(kills), sum(deaths), sum(teamkills),
       sum(suicides), count(*) FILTER (WHERE survived), count(*) FILTER (WHERE was_commander),
       count(*) FILTER (WHERE commander_won), max(longest_kill_m), min(played_on),
       max(played_on)
FROM player_game_stats WHERE {rows} GROUP BY player_id, side
ORDER BY player_id, side  -- rows locked in one order: concurrent games cannot deadlock
ON CONFLICT (player_id, side) DO UPDATE SET
    games = t.games + excluded.games, kills = t.kills + excluded.kills,
    deaths = t.deaths + excluded.deaths, teamkills = t.teamkills + excluded.teamkills,
    suicides = t.suicides + excluded.suicides, survived = t.survived + excluded.survived,
    commander_games = t.commander_games + excluded.commander_games,
    commander_wins = t.commander_wins + excluded.commander_wins,
    longest_kill_m = greatest(t.longest_kill_m, excluded.longest_kill_m),
    first_game = least(t.first_game, excluded.first_game),
    last_game = greatest(t.last_game, excluded.last_game)
"""

_WEAPON_SUMS = """
INSERT INTO player_weapon_kills AS t (player_id, weapon, kills)
SELECT f.killer_id, f.weapon, count(*) FROM frags f
WHERE {frags} AND f.killer_id IS NOT NULL AND f.killer_id <> f.victim_id AND NOT f.is_teamkill
      AND f.weapon IS NOT NULL
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (player_id, weapon) DO UPDATE SET kills = t.kills + excluded.kills
"""

# Only the frags of games with per-game rows count (a game whose rows are not written yet adds
# its kills when they are, and must not be counted twice).
_COUNTED = "EXISTS (SELECT 1 FROM player_game_stats s WHERE s.replay_id = f.replay_id)"


def _add_sums(conn: Connection, new_ids: list[int], redo: list[int]) -> None:
    """Keep the career sums equal to the per-game rows: add the rows of ``new_ids`` (games that
    had none) for every player not in ``redo``, and sum the players in ``redo`` again."""
    if new_ids:
        params = {"ids": new_ids, "redo": redo}
        conn.execute(
            sa.text(_SIDE_SUMS.format(rows="replay_id = ANY(:ids) AND player_id <> ALL(:redo)")),
            params,
        )
        conn.execute(
            sa.text(
                _WEAPON_SUMS.format(
                    frags=f"f.replay_id = ANY(:ids) AND f.killer_id <> ALL(:redo) AND {_COUNTED}"
                )
            ),
            params,
        )
    if redo:
        for table in ("player_side_totals", "player_weapon_kills"):
            conn.execute(
                sa.text(f"DELETE FROM {table} WHERE player_id = ANY(:redo)"), {"redo": redo}
            )
        conn.execute(sa.text(_SIDE_SUMS.format(rows="player_id = ANY(:redo)")), {"redo": redo})
        conn.execute(
            sa.text(_WEAPON_SUMS.format(frags=f"f.killer_id = ANY(:redo) AND {_COUNTED}")),
            {"redo": redo},
        )


def _game_stats_sql(ids: bool) -> str:
    if ids:
        return _GAME_STATS.format(
            frags="f.replay_id = ANY(:ids)", players="p.replay_id = ANY(:ids)"
        )
    return _GAME_STATS.format(frags="TRUE", players="TRUE")


# A full rebuild is a batch job on a big table: sorts, hashes and index builds in memory, not
# on disk (the compose Postgres has 1 GB).
_BATCH_MEMORY = "SET LOCAL work_mem = '256MB'; SET LOCAL maintenance_work_mem = '256MB'"


def refresh_game_stats(conn: Connection | Engine, replay_ids: list[int] | None) -> int:
    """Replace the per-game rows of ``replay_ids`` (None: of every game) and the career sums
    they feed; returns how many rows were written.

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
        # Players, kills and deaths all come in (replay, player) order from the primary keys:
        # merge joins over them beat hashing a million groups each (8.6 s → 6.3 s at 10,000
        # games), an order the planner cannot see through the aggregates' estimates.
        conn.execute(sa.text("SET LOCAL enable_hashjoin = off"))
        conn.execute(sa.text("SET LOCAL enable_hashagg = off"))
        written = conn.execute(sa.text(_game_stats_sql(ids=False))).rowcount
        conn.execute(sa.text("RESET enable_hashjoin"))
        conn.execute(sa.text("RESET enable_hashagg"))
        for index in indexes:
            conn.execute(sa.schema.CreateIndex(index))
        # Every frag counts: every game with players has its rows now.
        conn.execute(sa.text("TRUNCATE player_side_totals, player_weapon_kills"))
        conn.execute(sa.text(_SIDE_SUMS.format(rows="TRUE")))
        conn.execute(sa.text(_WEAPON_SUMS.format(frags="TRUE")))
        return written
    ids = sorted(set(replay_ids))
    if not ids:
        return 0
    # A game with rows already is re-parsed: its old rows leave the sums by summing its
    # players (old and new) again; a new game's rows are simply added.
    replaced = set(
        conn.execute(
            sa.text("SELECT DISTINCT replay_id FROM player_game_stats WHERE replay_id = ANY(:ids)"),
            {"ids": ids},
        ).scalars()
    )

    def players_of_replaced() -> set[int]:
        if not replaced:
            return set()
        sql = "SELECT player_id FROM player_game_stats WHERE replay_id = ANY(:ids)"
        return set(conn.execute(sa.text(sql), {"ids": sorted(replaced)}).scalars())

    redo = players_of_replaced()  # in the old rows
    conn.execute(sa.text(_MARK_STALE), {"ids": ids})
    conn.execute(sa.text("DELETE FROM player_game_stats WHERE replay_id = ANY(:ids)"), {"ids": ids})
    written = _insert_game_stats(conn, ids)
    conn.execute(sa.text(_MARK_STALE), {"ids": ids})
    redo |= players_of_replaced()  # and in the new ones
    _add_sums(conn, [i for i in ids if i not in replaced], sorted(redo))
    return written


def _insert_game_stats(conn: Connection, ids: list[int], *, explain: bool = False) -> int:
    """Write the per-game rows of ``ids`` (or, with ``explain``, return how many lines of the
    plan nest a loop — the test's view of the same statement).

    New games have ids past what the planner's statistics have seen, so it expects one row
    each and nests the kills and deaths aggregates inside the players loop: 50 new games
    (6,600 players, 10,000 frags) took 100 s that way, 0.4 s hashed. Hash them always.
    """
    conn.execute(sa.text("SET LOCAL enable_nestloop = off"))
    try:
        sql = _game_stats_sql(ids=True)
        if explain:
            plan = conn.execute(sa.text("EXPLAIN " + sql), {"ids": ids}).scalars().all()
            return sum("Nested Loop" in line for line in plan)
        return conn.execute(sa.text(sql), {"ids": ids}).rowcount
    finally:
        conn.execute(sa.text("RESET enable_nestloop"))


# Careers of the players in :players (a bigint[]; the full rebuild passes every one), from their
# sums by side and kills by weapon: the favourite side and the totals both come from the sides.
_CAREERS = """
WITH fav_weapon AS (  -- the weapon of most of their kills (ties: alphabetical)
    SELECT DISTINCT ON (player_id) player_id, weapon
    FROM player_weapon_kills WHERE {players}
    ORDER BY player_id, kills DESC, weapon
), by_side AS MATERIALIZED (
    SELECT * FROM player_side_totals WHERE {players}
), fav_side AS (
    SELECT DISTINCT ON (player_id) player_id, side
    FROM by_side ORDER BY player_id, games DESC, side
), totals AS (
    SELECT player_id, min(source) AS source, sum(games)::bigint AS games,
           sum(kills)::bigint AS kills, sum(deaths)::bigint AS deaths,
           sum(teamkills)::bigint AS teamkills, sum(suicides)::bigint AS suicides,
           sum(survived)::bigint AS survived, max(longest_kill_m) AS longest_kill_m,
           sum(commander_games)::bigint AS commander_games,
           sum(commander_wins)::bigint AS commander_wins,
           min(first_game) AS first_game, max(last_game) AS last_game
    FROM by_side GROUP BY player_id
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

# One player's rivals (:id), with their current nicknames; one row, NULLs for nobody.
RIVALS_OF = """
WITH nemesis AS (
    SELECT killer_id AS player_id, count(*) AS n
    FROM frags
    WHERE victim_id = :id AND killer_id IS NOT NULL AND killer_id <> victim_id
          AND NOT is_teamkill
    GROUP BY killer_id ORDER BY n DESC, killer_id LIMIT 1
), victim AS (
    SELECT victim_id AS player_id, count(*) AS n
    FROM frags
    WHERE killer_id = :id AND victim_id <> :id AND NOT is_teamkill
    GROUP BY victim_id ORDER BY n DESC, victim_id LIMIT 1
)
SELECT ne.player_id AS nemesis_id, n.nickname AS nemesis_name, ne.n AS nemesis_kills,
       vi.player_id AS victim_id, v.nickname AS victim_name, vi.n AS victim_kills
FROM (SELECT 1) AS one
LEFT JOIN nemesis ne ON TRUE
LEFT JOIN victim vi ON TRUE
LEFT JOIN player_directory n ON n.player_id = ne.player_id
LEFT JOIN player_directory v ON v.player_id = vi.player_id
"""


def _for_players(sql: str, full: bool) -> str:
    return sql.format(players="TRUE" if full else "player_id = ANY(:players)")


def refresh_careers(
    conn: Connection | Engine, *, min_games: int, full: bool = False
) -> dict[str, int]:
    """Redo the careers of the stale players (``full``: of every player), and every score of
    their sources; one transaction. Returns the rows written and players redone. (Rivals are
    read from the frags when asked: :func:`wog_warehouse.stats_read.rivals_of`.)"""
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_careers(c, min_games=min_games, full=full)
    if full:
        conn.execute(sa.text(_BATCH_MEMORY))
        conn.execute(sa.text("DELETE FROM stats_stale WHERE kind = 'player'"))
        conn.execute(sa.text("TRUNCATE player_careers"))
        players: list[int] = []
    else:
        players = list(
            conn.execute(
                sa.text("DELETE FROM stats_stale WHERE kind = 'player' RETURNING key::bigint")
            ).scalars()
        )
        if not players:
            return {"players": 0, "careers": 0}
        conn.execute(
            sa.text("DELETE FROM player_careers WHERE player_id = ANY(:p)"), {"p": players}
        )
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
    return {"players": careers if full else len(players), "careers": careers}


# --- periods: leaderboards and nominations ------------------------------------------------

BOARDS = ("score", "kills", "deaths", "teamkills", "vitality", "longest_kill", "commanders")
AWARDS = ("mvp", "sharpshooter", "survivor", "one_man_army", "friendly_fire", "iron_commander",
          "newcomer")  # fmt: skip

# Each period's players and their sums, scored against the period's community mean, in one
# pass over the per-game rows of the date range: each row is summed into its week and its month
# by their first day (date arithmetic, no text per row; one hash aggregate, no sort), and the
# range bounds the scan (one new game: its month and week; a full rebuild: a year per chunk).
# Keys are compared bytewise (COLLATE "C"): only equality and order matter. ``best_kills``
# (most kills in one game) lets the nominations find their game through the index instead of
# reading every row again.
_PERIOD_PLAYERS = """
CREATE TEMP TABLE stats_period_players AS
WITH periods AS (
    SELECT period COLLATE "C" AS period, start_on, length(period) > 7 AS weekly
    FROM unnest(CAST(:periods AS text[]), CAST(:starts AS date[])) AS p(period, start_on)
), pp AS (  -- each row counted in its week and its month: one scan, one hash aggregate
    SELECT p.period, s.source COLLATE "C" AS source, s.player_id, min(p.start_on) AS start_on,
           count(*) AS games, sum(s.kills) AS kills, sum(s.deaths) AS deaths,
           sum(s.teamkills) AS teamkills,
           count(*) FILTER (WHERE s.survived)::float8 / count(*) AS vitality,
           max(s.longest_kill_m) AS longest_kill_m, max(s.kills) AS best_kills,
           count(*) FILTER (WHERE s.was_commander) AS commander_games,
           count(*) FILTER (WHERE s.commander_won) AS commander_wins
    FROM player_game_stats s
    CROSS JOIN LATERAL (VALUES
        (s.played_on - (extract(isodow FROM s.played_on)::int - 1), true),  -- its Monday
        (date_trunc('month', s.played_on::timestamp)::date, false)
    ) AS k(start_on, weekly)
    JOIN periods p ON p.start_on = k.start_on AND p.weekly = k.weekly  -- the ones asked for
    WHERE s.played_on >= :lo AND s.played_on < :hi
    GROUP BY 1, 2, 3
), mean AS (  -- kills per player-game over the period, and its one-game records
    SELECT period, source, sum(kills)::float8 / sum(games) AS mu, max(best_kills) AS top_kills,
           max(longest_kill_m) AS top_longest
    FROM pp GROUP BY 1, 2
), firsts AS MATERIALIZED (  -- each player's first game of all (newcomers): one probe each
    SELECT d.player_id, (SELECT min(e.played_on) FROM player_game_stats e
                         WHERE e.player_id = d.player_id) AS first_on
    FROM (SELECT DISTINCT player_id FROM pp) d
)
SELECT pp.*, f.first_on, (pp.kills + :prior * m.mu) / (pp.games + :prior) AS score,
       pp.games >= :min_games AS ranked
FROM pp JOIN mean m USING (period, source) JOIN firsts f USING (player_id)
-- only the rows a table or a nomination can name (a fifth of them): the ranked, commanders,
-- teamkillers, newcomers and the holders of the period's one-game records
WHERE pp.games >= :min_games OR pp.commander_games > 0 OR pp.teamkills > 0
      OR f.first_on >= pp.start_on OR pp.best_kills = m.top_kills
      OR pp.longest_kill_m = m.top_longest
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

# One winner per award; each ORDER BY ends in the tie-breakers docs/players.md lists.
_NOMINATIONS = """
WITH tops AS (  -- each period's record kills in one game and longest kill, and its dates
    SELECT period, source, max(best_kills) AS kills, max(longest_kill_m) AS longest_kill_m,
           min(start_on) AS start_on,
           CASE WHEN length(min(period)) > 7 THEN min(start_on) + 7
                ELSE (min(start_on) + interval '1 month')::date END AS end_on
    FROM stats_period_players GROUP BY 1, 2
), best_game AS (  -- the holders' games, found through the index: the earliest game first
    SELECT DISTINCT ON (t.period, t.source) t.period, t.source, g.player_id, t.kills, g.replay_id
    FROM tops t
    JOIN stats_period_players sp
      ON sp.period = t.period AND sp.source = t.source AND sp.best_kills = t.kills
    CROSS JOIN LATERAL (
        SELECT s.player_id, s.replay_id FROM player_game_stats s
        WHERE s.player_id = sp.player_id AND s.played_on >= t.start_on
              AND s.played_on < t.end_on AND s.source = t.source AND s.kills = t.kills
        ORDER BY s.replay_id LIMIT 1
    ) g
    WHERE t.kills > 0
    ORDER BY t.period, t.source, g.replay_id, g.player_id
), longest AS (
    SELECT DISTINCT ON (t.period, t.source) t.period, t.source, g.player_id, t.longest_kill_m,
           g.replay_id
    FROM tops t
    JOIN stats_period_players sp
      ON sp.period = t.period AND sp.source = t.source AND sp.longest_kill_m = t.longest_kill_m
    CROSS JOIN LATERAL (
        SELECT s.player_id, s.replay_id FROM player_game_stats s
        WHERE s.player_id = sp.player_id AND s.played_on >= t.start_on
              AND s.played_on < t.end_on AND s.source = t.source
              AND s.longest_kill_m = t.longest_kill_m
        ORDER BY s.replay_id LIMIT 1
    ) g
    ORDER BY t.period, t.source, g.replay_id, g.player_id
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
    # Marks cleared first: a game marking a period while this runs stays marked for next time.
    conn.execute(
        sa.text("DELETE FROM stats_stale WHERE kind = 'period' AND key = ANY(:p)"),
        {"p": periods},
    )
    if len(periods) > 4:
        conn.execute(sa.text(_BATCH_MEMORY))
    for table in ("leaderboards", "nominations"):
        conn.execute(sa.text(f"DELETE FROM {table} WHERE period = ANY(:p)"), {"p": periods})
    boards = awards = 0
    for chunk in _period_chunks(periods):
        bounds = [period_bounds(p) for p in chunk]
        params = {
            "periods": chunk,
            "starts": [b[0] for b in bounds],
            "lo": min(b[0] for b in bounds),
            "hi": max(b[1] for b in bounds),
            "prior": SCORE_PRIOR_GAMES,
            "min_games": min_games,
        }
        conn.execute(sa.text("DROP TABLE IF EXISTS stats_period_players"))
        conn.execute(sa.text(_PERIOD_PLAYERS), params)
        conn.execute(sa.text("ANALYZE stats_period_players"))
        boards += conn.execute(sa.text(_LEADERBOARDS)).rowcount
        awards += conn.execute(sa.text(_NOMINATIONS)).rowcount
        conn.execute(sa.text("DROP TABLE stats_period_players"))
    return {"periods": len(periods), "leaderboards": boards, "nominations": awards}


# About a year of weeks and months: one chunk's players and sums stay in memory, so a rebuild
# of every period grows with the history, not faster (one pass would spill at 100,000 games).
_CHUNK_PERIODS = 64


def _period_chunks(periods: list[str]) -> list[list[str]]:
    """``periods`` in one chunk, or grouped by the year their first day falls in."""
    if len(periods) <= _CHUNK_PERIODS:
        return [periods]
    years: dict[int, list[str]] = {}
    for period in periods:
        years.setdefault(period_bounds(period)[0].year, []).append(period)
    return [years[year] for year in sorted(years)]


REBUILT_TABLES = ("player_game_stats", "player_side_totals", "player_weapon_kills",
                  "player_careers", "leaderboards", "nominations")  # fmt: skip


def vacuum_statistics(engine: Engine) -> None:
    """After a full rebuild (committed): VACUUM ANALYZE the tables it rewrote, as autovacuum
    would later — the visibility map lets a career chart read a player's games from the index
    alone (at 100,000 games, 5,000 heap pages otherwise), and the planner sees the new sizes."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in REBUILT_TABLES:
            conn.execute(sa.text(f"VACUUM (ANALYZE) {table}"))


def all_periods(conn: Connection | Engine) -> list[str]:
    """Every week and month that has a game."""
    sql = sa.text(  # a game's start date is its players' played_on (one row a game, not 150)
        """SELECT to_char(started_at, 'IYYY-"W"IW') FROM games
           UNION SELECT to_char(started_at, 'YYYY-MM') FROM games"""
    )
    if isinstance(conn, Engine):
        with conn.connect() as c:
            return sorted(c.execute(sql).scalars())
    return sorted(conn.execute(sql).scalars())
