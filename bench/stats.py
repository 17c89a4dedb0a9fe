"""Benchmark: career statistics at 10,000 games of history.

Builds a generated history in a private Postgres (``wog_fakes.history``, the same builder
as ``wog demo-history``: ~150 players and ~200 frags a game, regulars playing far more than
newcomers, three games a day) and measures, against the targets of the statistics:

- the work one new game triggers — its per-game rows, the careers of its players (and every
  score of the source), the tables of its week and month — ≤ 0.25 s median (≤ 0.5 s at
  100,000 games);
- a full rebuild of the stats group (every per-game row, career, week and month) ≤ 20 s;
- each slash command's query ≤ 25 ms at the 95th percentile (200 calls, random players;
  autocomplete by prefix and by a fragment from inside a name);
- the player directory refresh for one new game, flat with history (bench/directory.py
  measures it against the old full re-aggregation).

Each figure is printed beside its floor, measured in the same run: one aggregate pass over the
rows it cannot avoid reading (the new game's frags, its month's per-game rows and the careers,
which are sums kept current, not re-read histories; every frag and per-game row for the
rebuild), and the ratio to it. Peak memory: this process and the Postgres backend that ran the
rebuild (its VmHWM, shared buffers it touched included).

    uv run python bench/stats.py [--games 10000]

``--games 100000`` needs about 25 GB of disk (2.1 GB per 10,000 games, plus the rebuild's
sorts) and ~25 minutes here, most of it building the history.
"""

from __future__ import annotations

import argparse
import contextlib
import random
import resource
import statistics
import time
import warnings
from collections.abc import Callable
from pathlib import Path


def _fragment(name: str, rng: random.Random) -> str:
    """Three or four letters from inside a nickname, as someone half-remembering it types."""
    size = min(len(name), rng.choice((3, 4)))
    start = rng.randint(0, len(name) - size)
    return name[start : start + size]


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def _backend_peak_mb(conn: object) -> str:
    """The peak resident memory of the connection's Postgres backend (Linux only)."""
    import sqlalchemy as sa

    pid = conn.scalar(sa.text("SELECT pg_backend_pid()"))  # type: ignore[attr-defined]
    try:
        status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    except OSError:
        return "unknown"
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return f"{int(line.split()[1]) / 1024:.0f} MB"
    return "unknown"


def _verdict(value: float, target: float) -> str:
    return f"{'OK  ' if value <= target else 'OVER'} ({value / target:.2f}× the target)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=10_000)
    parser.add_argument("--new-games", type=int, default=5, help="new games to time one by one")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    import sqlalchemy as sa

    from dbschema.connection import temporary_server
    from dbschema.migrate import upgrade
    from wog_bot import store
    from wog_core.clock import period_bounds, week_of
    from wog_fakes.history import build_history
    from wog_warehouse.replays import refresh_player_directory
    from wog_warehouse.stats import (
        all_periods,
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
        stale_periods,
        vacuum_statistics,
    )

    min_games = 5
    server = contextlib.ExitStack()  # the embedded Postgres, removed on close
    engine = sa.create_engine(server.enter_context(temporary_server()))
    upgrade(engine)

    start = time.perf_counter()
    history = build_history(engine, args.games, min_games=min_games, say=print)
    with engine.connect() as conn:
        careers = conn.scalar(sa.text("SELECT count(*) FROM player_careers"))
    print(f"history: {args.games:,} games, {history.players:,} player-games, "
          f"{history.frags:,} frags, {careers:,} careers, {history.first_day} – "
          f"{history.last_day}; built and refreshed in {time.perf_counter() - start:.0f} s")  # fmt: skip

    # --- one new game --------------------------------------------------------------------
    # The floor: one aggregate pass over the rows one new game's statistics cannot avoid
    # reading — its own frags, the per-game rows of its month (its week is inside it; a month
    # holds about as many games at 100,000 games of history as at 10,000) and the source's
    # careers (the community mean moves every score). Careers are sums kept up to date, so the
    # players' histories are not among them.
    floor_sql = sa.text(
        """SELECT (SELECT count(*) FROM (SELECT killer_id, weapon, count(*) FROM frags
                   WHERE replay_id = :r GROUP BY 1, 2) a),
                  (SELECT count(*) FROM (SELECT player_id, count(*), sum(kills), sum(deaths)
                   FROM player_game_stats WHERE played_on >= :lo AND played_on < :hi
                   GROUP BY 1) b),
                  (SELECT sum(kills)::float8 / sum(games) FROM player_careers)"""
    )
    per_game, directory, floors = [], [], []
    for _ in range(args.new_games):
        new = build_history(engine, 1, refresh=False, min_games=min_games)
        ids = [new.first_id]
        t0 = time.perf_counter()
        refresh_player_directory(engine, ids)
        t1 = time.perf_counter()
        refresh_game_stats(engine, ids)
        counts = refresh_careers(engine, min_games=min_games)
        periods = stale_periods(engine)
        refresh_leaderboards(engine, periods, min_games=min_games)
        t2 = time.perf_counter()
        directory.append(t1 - t0)
        per_game.append(t2 - t1)
        month = next(p for p in periods if len(p) == 7)
        lo, hi = period_bounds(month)
        with engine.connect() as conn:
            month_rows = conn.scalar(
                sa.text("SELECT count(*) FROM player_game_stats WHERE played_on >= :lo "
                        "AND played_on < :hi"), {"lo": lo, "hi": hi}
            )  # fmt: skip
            t3 = time.perf_counter()
            conn.execute(floor_sql, {"r": ids[0], "lo": lo, "hi": hi}).one()
            floors.append(time.perf_counter() - t3)
    median = statistics.median(per_game)
    floor = statistics.median(floors)
    target = 0.25 if args.games <= 10_000 else 0.5
    print(f"one new game: per-game rows + {counts['players']} careers + {len(periods)} "
          f"periods {periods}: median {median:.3f} s, worst {max(per_game):.3f} s "
          f"— target ≤ {target} s: {_verdict(median, target)}")  # fmt: skip
    print(f"  floor (one aggregate pass over its frags, its month's {month_rows:,} per-game "
          f"rows and the careers): {floor:.3f} s; ratio {median / floor:.1f}×")  # fmt: skip
    print(f"player directory for one new game: median {statistics.median(directory) * 1000:.0f} "
          f"ms (flat with history: see bench/directory.py)")  # fmt: skip

    # --- full rebuild ------------------------------------------------------------------------
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL work_mem = '256MB'"))  # as the rebuild has
        t0 = time.perf_counter()
        conn.execute(sa.text(  # the floor: one aggregate pass over every row a rebuild reads
            """SELECT (SELECT count(*) FROM (SELECT replay_id, killer_id, count(*)
                       FROM frags GROUP BY 1, 2) f),
                      (SELECT count(*) FROM (SELECT player_id, count(*), sum(kills)
                       FROM player_game_stats GROUP BY 1) s)"""
        )).one()  # fmt: skip
        rebuild_floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    with engine.begin() as conn:
        refresh_game_stats(conn, None)
        t1 = time.perf_counter()
        refresh_careers(conn, min_games=min_games, full=True)
        t2 = time.perf_counter()
        periods = all_periods(conn)
        refresh_leaderboards(conn, periods, min_games=min_games)
        backend_peak = _backend_peak_mb(conn)
    t3 = time.perf_counter()
    vacuum_statistics(engine)  # as `wog stats refresh` does after a full rebuild
    vacuum_s = time.perf_counter() - t3
    target = 20.0 if args.games <= 10_000 else 200.0
    print(f"full rebuild: {t3 - t0:.1f} s (per-game rows {t1 - t0:.1f} s, careers "
          f"{t2 - t1:.1f} s, {len(periods)} weeks and months {t3 - t2:.1f} s) — target ≤ "
          f"{target:.0f} s: {_verdict(t3 - t0, target)}")  # fmt: skip
    print(f"  then VACUUM ANALYZE of the rebuilt tables: {vacuum_s:.1f} s")
    print(f"  floor (one aggregate pass over {history.frags:,} frags and {history.players:,} "
          f"per-game rows): {rebuild_floor:.1f} s; ratio {(t3 - t0) / rebuild_floor:.1f}×")  # fmt: skip
    print(f"  peak memory: Postgres backend {backend_peak}, this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip

    # --- slash-command queries -------------------------------------------------------------
    with engine.connect() as conn:
        players = list(conn.scalars(sa.text("SELECT player_id FROM player_careers")))
        names = list(conn.scalars(sa.text("SELECT nickname FROM player_directory")))
        days = list(conn.scalars(sa.text("SELECT DISTINCT played_on FROM player_game_stats")))
    rng = random.Random(7)
    months = sorted({f"{d.year}-{d.month:02d}" for d in days})
    weeks = sorted({week_of(d) for d in days})
    queries: dict[str, Callable[[], object]] = {
        "/player (find + career)": lambda: store.career(
            engine, store.find_player(engine, rng.choice(names))
        ),
        "/player chart (career_series)": lambda: store.career_series(engine, rng.choice(players)),
        "/player autocomplete (prefix)": lambda: store.nickname_choices(
            engine, rng.choice(names)[:4]
        ),
        "/player autocomplete (fragment)": lambda: store.nickname_choices(
            engine, _fragment(rng.choice(names), rng)
        ),
        "/rivals": lambda: store.rivals_of(engine, rng.choice(players)),
        "/top (careers, score)": lambda: store.top(engine, metric="score", limit=10),
        "/top period: week, kills": lambda: store.top(
            engine, metric="kills", period=rng.choice(weeks), limit=10
        ),
        "/top period: month, score": lambda: store.top(
            engine, metric="score", period=rng.choice(months), limit=10
        ),
        "/commanders": lambda: store.top(engine, metric="commanders", limit=10),
        "/top games: 50": lambda: store.top_killers(engine, 50),
    }
    worst_p95 = 0.0
    for label, query in queries.items():
        query()  # warm the connection pool and caches as a running bot would be
        samples = []
        for _ in range(200):
            t0 = time.perf_counter()
            query()
            samples.append((time.perf_counter() - t0) * 1000)
        p95 = _p95(samples)
        worst_p95 = max(worst_p95, p95)
        print(f"  {label:<30} p50 {statistics.median(samples):6.1f} ms   p95 {p95:6.1f} ms")
    print(f"slash-command queries: worst p95 {worst_p95:.1f} ms — target ≤ 25 ms: "
          f"{_verdict(worst_p95, 25.0)}")  # fmt: skip
    engine.dispose()


if __name__ == "__main__":
    main()
