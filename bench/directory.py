"""Benchmark: refreshing the player directory as history grows.

Builds a history set-wise in a private Postgres — games with 150 players each, drawn from a
pool of 3,000 players so regulars play hundreds of games, as on WOG — then times
``refresh_player_directory`` for one new replay and for a 50-replay backfill batch, at 20 games
of history and at 10,000. Target: the cost does not grow with history (ratio ≈ 1).

    uv run python bench/directory.py [--games 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import time
import warnings
from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

PLAYERS_PER_GAME = 150
POOL = 3000


def _add_games(conn, first: int, last: int) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    conn.execute(
        sa.text(
            """INSERT INTO games (replay_id, mission_id, mission_name, island, played_on,
                   started_at, ended_at, duration_s, players_active, slots, page_url)
               SELECT g, 1, 'bench', 'altis', date '2020-01-01' + (g / 3)::int,
                      timestamp '2020-01-01' + g * interval '8 hours',
                      timestamp '2020-01-01' + g * interval '8 hours' + interval '1 hour',
                      3600, :n, :n, 'https://example/' || g
               FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g"""
        ),
        {"a": first, "b": last, "n": PLAYERS_PER_GAME},
    )
    # Each game: 150 distinct players; a player's nickname changes now and then.
    conn.execute(
        sa.text(
            """INSERT INTO players (replay_id, player_id, side, nickname)
               SELECT g, p, CASE WHEN k % 2 = 0 THEN 'EAST' ELSE 'WEST' END,
                      'Player' || p || '_v' || (g / 500)
               FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g,
                    LATERAL (SELECT DISTINCT ((g * 7919 + k * 104729) % :pool) + 1 AS p, k
                             FROM generate_series(1, CAST(:n AS int)) k) picks"""
        ),
        {"a": first, "b": last, "n": PLAYERS_PER_GAME, "pool": POOL},
    )


def _time(engine, ids: list[int], refresh, repeat: int = 5) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        refresh(engine, ids)
        best = min(best, time.perf_counter() - start)
    return best


def previous_refresh(conn: Connection | Engine, replay_ids: Iterable[int]) -> dict[str, int]:
    """The implementation this benchmark measures against (a full re-aggregation of every
    affected player's history); kept here only for the comparison.

    Recompute the directory and nickname history for everyone who played in ``replay_ids``.

    Set-based and order-independent: the current nickname is the one from the player's newest
    game in the warehouse, so backfilling old games never overwrites a newer nickname.
    """
    ids = sorted(set(replay_ids))
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return previous_refresh(c, ids)
    if not ids:
        return {"players": 0, "nicknames": 0}
    params = {"ids": ids}
    affected = "SELECT DISTINCT player_id FROM players WHERE replay_id = ANY(:ids)"
    directory = conn.execute(
        sa.text(
            f"""
            INSERT INTO player_directory AS d
                (player_id, nickname, first_seen_replay, last_seen_replay, games_played, updated_at)
            SELECT p.player_id,
                   (array_agg(p.nickname ORDER BY p.replay_id DESC))[1],
                   min(p.replay_id), max(p.replay_id), count(*), now()
            FROM players p
            WHERE p.player_id IN ({affected})
            GROUP BY p.player_id
            ON CONFLICT (player_id) DO UPDATE SET
                nickname = excluded.nickname,
                first_seen_replay = excluded.first_seen_replay,
                last_seen_replay = excluded.last_seen_replay,
                games_played = excluded.games_played,
                updated_at = now()
            """
        ),
        params,
    )
    conn.execute(sa.text(f"DELETE FROM player_nicknames WHERE player_id IN ({affected})"), params)
    nicknames = conn.execute(
        sa.text(
            f"""
            INSERT INTO player_nicknames (player_id, nickname, first_seen_replay, last_seen_replay)
            SELECT player_id, nickname, min(replay_id), max(replay_id)
            FROM players
            WHERE player_id IN ({affected})
            GROUP BY player_id, nickname
            """
        ),
        params,
    )
    return {"players": directory.rowcount, "nicknames": nicknames.rowcount}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=10_000)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import sqlalchemy as sa

    from dbschema.connection import temporary_server
    from dbschema.migrate import upgrade
    from wog_warehouse.replays import refresh_player_directory

    server = contextlib.ExitStack()  # the embedded Postgres, removed on close
    engine = sa.create_engine(server.enter_context(temporary_server()))
    upgrade(engine)
    results = {}
    built = 0
    for size in (20, args.games):
        start = time.perf_counter()
        with engine.begin() as conn:
            _add_games(conn, built + 1, size)
        refresh_player_directory(engine, list(range(built + 1, size + 1)))
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE players; ANALYZE player_directory"))
        print(f"history of {size:,} games ({size * PLAYERS_PER_GAME:,} player rows) built in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        built = size
        for label, refresh in (("now", refresh_player_directory), ("before", previous_refresh)):
            one = _time(engine, [size], refresh)
            batch = _time(engine, list(range(size - 49, size + 1)), refresh)
            results[(label, size)] = (one, batch)
            print(f"  {label:>6}: 1 replay {one * 1000:7.1f} ms   50-replay batch "
                  f"{batch * 1000:7.1f} ms")  # fmt: skip
    for label in ("now", "before"):
        small, large = results[(label, 20)], results[(label, args.games)]
        print(f"{label:>6}: {args.games:,} vs 20 games of history: 1 replay "
              f"{large[0] / small[0]:.1f}x, 50 replays {large[1] / small[1]:.1f}x slower")  # fmt: skip
    now, before = results[("now", args.games)], results[("before", args.games)]
    print(
        f"at {args.games:,} games the refresh is {before[0] / now[0]:.1f}x (1 replay) and "
        f"{before[1] / now[1]:.1f}x (50 replays) faster than before (target: flat with history)"
    )
    engine.dispose()


if __name__ == "__main__":
    main()
