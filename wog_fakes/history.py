"""A generated history of WOG games written straight into the warehouse, set-wise.

For demos of the statistics and for ``bench/stats.py``: ``wog demo-history --games 10000``
writes games, players and frags — the parsed rows, no raw bodies and no Dagster runs — in
chunks of a few hundred games per statement, then brings the player directory and the
statistics up to date the way the pipeline does.

The shape follows the real site: ~150 players a game drawn from a pool where regulars play far
more often than newcomers (the pool is sampled with a skew), two sides with a commander each,
~200 deaths a game (reinforcement waves: some players die twice), 5 % unknown killers, 2 %
suicides, 3 % teamkills, a few dozen weapons with a long tail, kill distances mostly short with
a long tail, some kills from vehicles, and a winner in most games. Three games a day, ending
today (Moscow), so weeks and months fill like the real calendar. Postgres's ``random()`` is
seeded, so a history is the same every time for the same arguments.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wog_core.clock import site_now

CHUNK = 250  # games per statement
GAMES_PER_DAY = 3
WEAPONS = [
    "AK-74M", "M4A1", "PKM", "AKM", "M249", "SVD", "RPK-74", "AKS-74U", "M16A4", "MG3",
    "G36C", "Mk18", "RPG-7", "M240B", "AK-12", "SCAR-L", "Mk14", "M110", "Grenade", "VSS",
    "PP-19", "MP5", "M24", "Makarov", "Glock 17", "FN Minimi", "KSVK", "M2 .50", "DShKM",
    "BMP-2 2A42",
]  # fmt: skip


@dataclass(frozen=True)
class History:
    first_id: int
    last_id: int
    first_day: dt.date
    last_day: dt.date
    players: int
    frags: int


_GAMES = """
INSERT INTO games (replay_id, source, mission_id, mission_name, island, played_on, started_at,
                   ended_at, duration_s, winner, players_active, slots, page_url)
SELECT g, 'wog', 1000 + g % 97, 'Generated mission ' || (g % 97), (ARRAY['altis', 'chernarus',
       'takistan', 'tanoa', 'malden'])[1 + g % 5],
       (:start + (g - :first) * interval '8 hours')::date,
       :start + (g - :first) * interval '8 hours',
       :start + (g - :first) * interval '8 hours' + interval '100 minutes',
       6000, (ARRAY['EAST', 'WEST', NULL])[1 + (abs(hashint4(g::int)) % 10 >= 5)::int
                                           + (abs(hashint4(g::int)) % 10 >= 9)::int],
       0, 160, 'https://stats.example/games/' || g || '/'
FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
"""

# Nicknames as varied as a real community's: an optional clan tag, one of many words (Latin and
# Cyrillic), the player's number; a player renames every few hundred games (a suffix). Fragments
# typed into an autocomplete then match a few players, a clan tag its members — not everyone.
CLAN_TAGS = ["", "", "", "", "[RL]", "[SHK]", "[FREAK]", "[520th]", "[ВДВ]", "[OMON]", "[TF]",
             "[2MAW]", "[КСП]", "[SG]", "[WOG]", "[A3]", "[Spetsnaz]", "[7th]"]  # fmt: skip
NICK_WORDS = ["Ober", "Borw", "Fant1k", "chel", "Lidocaine", "Medved", "Волк", "Пётр", "Ghost",
              "Sniper", "Nomad", "Бобр", "Scout", "Falcon", "Ястреб", "Kuzya", "Grom", "Тайга",
              "Viper", "Sarmat", "Rook", "Шмель", "Bullet", "Orion", "Кедр", "Raven", "Shadow",
              "Бурый", "Hunter", "Cobra", "Zenit", "Ural", "Lynx", "Комар", "Frost", "Sokol",
              "Tank", "Доктор", "Pilot", "Mamba", "Badger", "Сапёр", "Storm", "Vector", "Alpha",
              "Барс", "Echo", "Wizard", "Ратник", "Kraken"]  # fmt: skip


def _nickname(player: str) -> str:
    """The SQL for a generated player's base nickname (``player``: the id expression)."""
    return (
        f"(CAST(:tags AS text[]))[1 + abs(hashint4(({player})::int * 7)) % :n_tags]"
        f" || (CAST(:words AS text[]))[1 + abs(hashint4(({player})::int * 13)) % :n_words]"
        f" || ({player})::text"
    )


# 150 distinct players per game, regulars far more often: floor(pool × u²) skews to low ids.
_PLAYERS = """
INSERT INTO players (replay_id, player_id, side, nickname)
SELECT g, p, CASE WHEN n % 2 = 0 THEN 'EAST' ELSE 'WEST' END,
       {nickname} || CASE WHEN g % 700 < p % 700 THEN '' ELSE '_' || (g / 700) END
FROM (
    SELECT g, p, row_number() OVER (PARTITION BY g ORDER BY min(k)) AS n
    FROM (
        SELECT g, k, :base + 1 + floor(:pool * power(random(), 2))::bigint AS p
        FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g,
             generate_series(1, CAST(:per_game * 2 AS int)) k
    ) draws
    GROUP BY g, p
) picked
WHERE n <= :per_game
"""

_FRAGS = """
WITH roster AS (
    SELECT replay_id,
           array_agg(player_id ORDER BY player_id) FILTER (WHERE side = 'EAST') AS e,
           array_agg(player_id ORDER BY player_id) FILTER (WHERE side = 'WEST') AS w
    FROM players WHERE replay_id BETWEEN :a AND :b GROUP BY replay_id
), draws AS (
    SELECT r.replay_id, k AS seq, random() < 0.5 AS east_dies, random() AS who,
           random() AS how, random() AS by_whom, random() AS weapon, random() AS far, r.e, r.w
    FROM roster r, generate_series(1, CAST(:frags AS int)) k
), victims AS (
    SELECT d.*,
           CASE WHEN east_dies THEN e[1 + floor(who * cardinality(e))::int]
                ELSE w[1 + floor(who * cardinality(w))::int] END AS victim,
           CASE WHEN east_dies THEN w ELSE e END AS enemies,
           CASE WHEN east_dies THEN e ELSE w END AS friends
    FROM draws d
)
INSERT INTO frags (replay_id, seq, time_s, victim_id, killer_id, killer_vehicle, weapon,
                   distance_m, is_teamkill)
SELECT replay_id, seq, (seq * 6000 / CAST(:frags AS int))::int, victim,
       CASE WHEN how < 0.05 THEN NULL
            WHEN how < 0.07 THEN victim
            WHEN how < 0.10 THEN friends[1 + floor(by_whom * cardinality(friends))::int]
            ELSE enemies[1 + floor(power(by_whom, 1.5) * cardinality(enemies))::int] END,
       CASE WHEN how >= 0.10 AND far > 0.92 THEN 'BMP-2' END,
       CASE WHEN how < 0.05 THEN NULL WHEN how < 0.07 THEN 'Grenade'
            ELSE (CAST(:weapons AS text[]))[1 + floor(power(weapon, 2) * :n_weapons)::int] END,
       CASE WHEN how < 0.05 THEN NULL WHEN how < 0.07 THEN 0
            ELSE round((5 + 900 * power(far, 4))::numeric, 1)::float8 END,
       how >= 0.05 AND how < 0.10
FROM victims
"""

_COUNTS = """
UPDATE games g SET
    players_active = c.total, players_east = c.east, players_west = c.west,
    commander_east_id = c.east_cmd, commander_west_id = c.west_cmd,
    commander_east_nickname = {east}, commander_west_nickname = {west}
FROM (
    SELECT replay_id, count(*) AS total, count(*) FILTER (WHERE side = 'EAST') AS east,
           count(*) FILTER (WHERE side = 'WEST') AS west,
           min(player_id) FILTER (WHERE side = 'EAST') AS east_cmd,
           min(player_id) FILTER (WHERE side = 'WEST') AS west_cmd
    FROM players WHERE replay_id BETWEEN :a AND :b GROUP BY replay_id
) c
WHERE g.replay_id = c.replay_id
"""
PLAYERS_SQL = _PLAYERS.replace("{nickname}", _nickname("p"))
COUNTS_SQL = _COUNTS.replace("{east}", _nickname("c.east_cmd")).replace(
    "{west}", _nickname("c.west_cmd")
)


def build_history(
    engine: Engine,
    games: int,
    *,
    first_id: int | None = None,
    players_per_game: int = 150,
    pool: int = 3000,
    frags_per_game: int = 200,
    end: dt.datetime | None = None,
    seed: float = 0.42,
    refresh: bool = True,
    min_games: int = 5,
    say: Callable[[str], None] = lambda _: None,
) -> History:
    """Write ``games`` generated games (ids from ``first_id``, default after the highest),
    their players and frags; then refresh the directory and the statistics (``refresh``)."""
    from wog_warehouse.replays import refresh_player_directory
    from wog_warehouse.stats import (
        all_periods,
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
    )

    with engine.connect() as conn:
        highest = conn.scalar(sa.text("SELECT max(replay_id) FROM games WHERE source = 'wog'"))
    first = first_id if first_id is not None else int(highest or 0) + 1
    last = first + games - 1
    end = end or site_now()
    start = (end - dt.timedelta(hours=8 * games)).replace(minute=0, second=0, microsecond=0)
    params = {"first": first, "start": start, "per_game": players_per_game, "pool": pool,
              "base": 0, "frags": frags_per_game, "weapons": WEAPONS,
              "n_weapons": len(WEAPONS), "tags": CLAN_TAGS, "n_tags": len(CLAN_TAGS),
              "words": NICK_WORDS, "n_words": len(NICK_WORDS)}  # fmt: skip
    with engine.begin() as conn:
        conn.execute(sa.select(sa.func.setseed(seed)))
        for a in range(first, last + 1, CHUNK):
            b = min(a + CHUNK - 1, last)
            chunk = {**params, "a": a, "b": b}
            for sql in (_GAMES, PLAYERS_SQL, _FRAGS, COUNTS_SQL):
                conn.execute(sa.text(sql), chunk)
            if b == last or (b - first + 1) % 2500 == 0:
                say(f"  {b - first + 1:,} games written")
        conn.execute(sa.text("ANALYZE games; ANALYZE players; ANALYZE frags"))
    ids = list(range(first, last + 1))
    if refresh:
        for a in range(0, len(ids), CHUNK * 4):
            refresh_player_directory(engine, ids[a : a + CHUNK * 4])
        with engine.begin() as conn:
            refresh_game_stats(conn, None)  # every game: a full rebuild, as `wog stats refresh`
            refresh_careers(conn, min_games=min_games, full=True)
            refresh_leaderboards(conn, all_periods(conn), min_games=min_games)
        # Set the visibility map as autovacuum would, so index-only scans apply from the start.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    with engine.connect() as conn:
        players, frags = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM players WHERE replay_id BETWEEN :a AND :b), "
                "(SELECT count(*) FROM frags WHERE replay_id BETWEEN :a AND :b)"
            ),
            {"a": first, "b": last},
        ).one()
    return History(first, last, start.date(), (start + dt.timedelta(hours=8 * games)).date(),
                   int(players), int(frags))  # fmt: skip
