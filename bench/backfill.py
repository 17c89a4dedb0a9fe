"""Benchmark: backfilling generated replays through Dagster vs the same library code directly.

Serves N generated replays (default 200) from the fake site (no artificial latency,
politeness interval 0), then loads them twice into fresh warehouse databases on a private
Postgres: once with ``wog backfill``'s code path (the code location as Dagster loads it,
batched ranged runs recorded in a Postgres-backed instance like ``wog dev``, then careers and
the weeks' and months' tables brought up to date), once by calling the same fetch, store,
parse, write and statistics functions in a plain loop. Prints replays/s for both, the ratio,
and where the Dagster backfill's time goes (each step summed over its runs, from the run's
event log; "Dagster" is the rest: run set-up, event writes, planning between runs).
Targets: >= 11 replays/s through Dagster with the statistics current, <= 2x the direct time.

Then the cost of keeping raw bodies: replays carrying ``--viewer-mb`` of movement data (the
generator's random walk compresses like real recordings, ~8×), each stored the way the raw
asset stores it — SHA-256, zstd, one upsert — before (zstd level 3) and now (level 1), against
parsing the same body. Target: storing costs no more than parsing.

    uv run python bench/backfill.py [--replays 1000] [--batch 50] [--viewer-mb 20]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replays", type=int, default=200)
    parser.add_argument("--batch", type=int, default=50, help="partitions per run")
    parser.add_argument("--viewer-mb", type=float, default=20.0, help="movement data per replay")
    parser.add_argument("--raw-replays", type=int, default=8, help="replays for the raw costs")
    parser.add_argument("--raw-only", action="store_true", help="only the raw-storage costs")
    args = parser.parse_args()
    os.environ["WOG_BACKFILL_BATCH"] = str(args.batch)
    warnings.simplefilter("ignore")

    import dagster as dg
    import sqlalchemy as sa

    from dbschema.connection import libpq_url, temporary_server
    from dbschema.migrate import upgrade
    from wog_assets.definitions import build_definitions
    from wog_assets.instance import DAGSTER_YAML
    from wog_assets.runs.backfill import run_backfill
    from wog_core import settings as wog_settings
    from wog_core.models import combine
    from wog_fakes.fake_site import FakeSite
    from wog_fakes.generator import generate_games
    from wog_report.build import build_message
    from wog_report.summary import summarize
    from wog_sources.client import SiteClient, SourceSettings
    from wog_sources.parse import parse_game_page, parse_replay_json
    from wog_warehouse.raw import load_raw, store_game_page, store_replay_json
    from wog_warehouse.replays import load_replay, refresh_player_directory, write_replay
    from wog_warehouse.stats import (
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
        stale_periods,
    )

    first = 10_000
    last = first + args.replays - 1
    tmp = Path(tempfile.mkdtemp(prefix="wogbench"))
    server = contextlib.ExitStack()  # the embedded Postgres, removed on close
    base = server.enter_context(temporary_server())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in ("wh_dagster", "wh_direct", "dagster"):
            conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def url(db: str) -> str:
        return sa.engine.make_url(base).set(database=db).render_as_string(hide_password=False)

    for db in ("wh_dagster", "wh_direct"):
        upgrade(sa.create_engine(url(db)))
    if args.raw_only:
        _raw_costs(sa.create_engine(url("wh_direct")), args.viewer_mb, args.raw_replays)
        server.close()
        shutil.rmtree(tmp, ignore_errors=True)
        return

    started = time.perf_counter()
    games = generate_games(first, args.replays, seed=1)
    print(f"generated {len(games)} replays in {time.perf_counter() - started:.1f}s")

    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    os.environ["DAGSTER_POSTGRES_URL"] = libpq_url(url("dagster"))
    os.environ.setdefault("DAGSTER_EVENT_BATCH_SIZE", "200")  # as `wog backfill` exports it

    with FakeSite() as site:
        site.publish(*games)

        # Direct: the library code in one loop.
        engine = sa.create_engine(url("wh_direct"))
        started = time.perf_counter()
        with SiteClient(SourceSettings(base_url=site.url, min_interval=0)) as client:
            for game in games:
                rid = game.replay_id
                store_game_page(engine, client.fetch_game_page(rid))
                store_replay_json(engine, client.fetch_replay_json(rid))
                raw = load_raw(engine, rid)
                page = parse_game_page(raw.page_html, replay_id=rid, url=raw.page_url)
                replay = combine(page, parse_replay_json(raw.json_body, replay_id=rid))
                write_replay(engine, replay, raw.page_url)
                refresh_player_directory(engine, [rid])
                refresh_game_stats(engine, [rid])
                # What the notifications asset does for a backfilled game (no chart, no targets).
                loaded, page_url = load_replay(engine, rid)
                build_message(summarize(loaded), page_url, with_chart=False)
        refresh_careers(engine, min_games=5)
        refresh_leaderboards(engine, stale_periods(engine), min_games=5)
        direct = time.perf_counter() - started

        # Dagster: the code location as Dagster loads it, batched ranged runs recorded in a
        # Postgres-backed instance, then the statistics brought up to date.
        os.environ.update({"WOG_BASE_URL": site.url, "WOG_MIN_REQUEST_INTERVAL": "0",
                           "WOG_DATABASE_URL": url("wh_dagster"), "WOG_STATS_MIN_GAMES": "5"})  # fmt: skip
        defs = build_definitions(wog_settings.current())
        with dg.DagsterInstance.from_config(str(home)) as instance:
            started = time.perf_counter()
            report = run_backfill(defs, instance, first, last, batch=args.batch)
            through_dagster = time.perf_counter() - started
            stages = _stages(instance, report.runs)
        assert not report.failed_runs, report.failed_runs

    with sa.create_engine(url("wh_dagster")).connect() as conn:
        loaded = conn.exec_driver_sql("SELECT count(*) FROM games").scalar()
    assert loaded == args.replays, loaded
    n = args.replays
    print(f"direct:  {direct:7.1f}s  {n / direct:6.1f} replays/s")
    print(
        f"dagster: {through_dagster:7.1f}s  {n / through_dagster:6.1f} replays/s  ({len(report.runs)} runs of <= {args.batch})"
    )
    print(
        f"ratio:   dagster takes {through_dagster / direct:.2f}x the direct time (target <= 2x); "
        f"{n / through_dagster:.1f} replays/s with the statistics current (target >= 11)"
    )
    print(f"where the Dagster backfill's {through_dagster:.1f} s go ({len(report.runs)} runs, "
          f"{report.stats_runs} of them statistics):")  # fmt: skip
    accounted = 0.0
    for label, seconds in stages.items():
        accounted += seconds
        print(f"  {label:<26} {seconds:6.2f} s  {seconds / through_dagster:5.1%}")
    rest = through_dagster - accounted
    print(f"  {'Dagster (runs, events)':<26} {rest:6.2f} s  {rest / through_dagster:5.1%}")
    _raw_costs(sa.create_engine(url("wh_direct")), args.viewer_mb, args.raw_replays)
    server.close()
    shutil.rmtree(tmp, ignore_errors=True)


STAGES = {  # step key -> what it is, in pipeline order
    "game_page_html": "fetch: game pages",
    "replay_json": "fetch: replay JSON",
    "warehouse_tables": "parse and write",
    "player_directory": "player directory",
    "player_game_stats": "game statistics",
    "notifications": "messages (suppressed)",
    "player_careers": "careers",
    "weekly_leaderboards": "weeks",
    "monthly_leaderboards": "months",
}


def _stages(instance, run_ids: list[str]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    """Seconds spent inside each step, summed over the runs (STEP_START to its end event)."""
    import dagster as dg

    ends = {dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE}
    totals = dict.fromkeys(STAGES.values(), 0.0)
    for run_id in run_ids:
        started: dict[str, float] = {}
        for entry in instance.all_logs(run_id):
            event = entry.dagster_event
            if event is None or event.step_key is None:
                continue
            if event.event_type == dg.DagsterEventType.STEP_START:
                started[event.step_key] = entry.timestamp
            elif event.event_type in ends and event.step_key in started:
                label = STAGES.get(event.step_key, event.step_key)
                totals[label] = totals.get(label, 0.0) + entry.timestamp - started[event.step_key]
    return totals


def _raw_costs(engine, viewer_mb: float, count: int) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt
    import hashlib

    from wog_core.models import Fetched
    from wog_fakes.generator import GameOptions, generate_game
    from wog_sources.parse import parse_replay_json
    from wog_warehouse.raw import ZSTD_LEVEL, store_replay_json

    options = GameOptions(players=150, frags=200, viewer_bytes=int(viewer_mb * 2**20))
    bodies = [generate_game(50_000 + i, seed=2, options=options).replay_json for i in range(count)]
    size = sum(len(b) for b in bodies) / count / 2**20
    costs: dict[str, float] = {}
    # Before: zstd 3, SHA-256 taken when storing. Now: zstd 1 on every core, SHA-256 taken by the
    # client while the body streams in (wog_sources.client) — timed here on its own.
    started = time.perf_counter()
    digests = [hashlib.sha256(b).hexdigest() for b in bodies]
    hashing = (time.perf_counter() - started) / count
    for label, level, streamed in (("before (zstd 3)", 3, False),
                                   (f"now (zstd {ZSTD_LEVEL})", ZSTD_LEVEL, True)):  # fmt: skip
        started = time.perf_counter()
        stored = 0
        for i, body in enumerate(bodies):
            fetched = Fetched(50_000 + i, "https://stats.example/json", 200,
                              dt.datetime.now(dt.UTC), body, digests[i] if streamed else None)  # fmt: skip
            threads = None if streamed else 0  # before: one thread
            stored += store_replay_json(engine, fetched, level=level, threads=threads)
        costs[label] = (time.perf_counter() - started) / count
        ratio = sum(len(b) for b in bodies) / stored
        print(f"raw store {label:<16} {costs[label] * 1000:6.1f} ms per {size:.1f} MB replay "
              f"(compressed {ratio:.1f}x)")  # fmt: skip
    print(f"SHA-256 while streaming     {hashing * 1000:6.1f} ms per replay (during the download)")
    started = time.perf_counter()
    for i, body in enumerate(bodies):
        parse_replay_json(body, replay_id=50_000 + i)
    parse = (time.perf_counter() - started) / count
    print(f"parse                     {parse * 1000:6.1f} ms per replay")
    for label, cost in costs.items():
        print(f"storing / parsing, {label}: {cost / parse:.2f}x (target <= 1x)")


if __name__ == "__main__":
    main()
