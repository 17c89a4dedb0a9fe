"""Benchmark: Dagster at community scale — what the UI, the sensor and backfills cost at N games.

Each replay is a partition of the ``replays`` dynamic partitions definition, so a community's
history is as many partitions, each with its materializations in the event log. This loads
``--seed`` generated games through ``wog backfill``'s own code path into a Postgres-backed
instance (the real storage, as in compose), measures what that wrote per game, then grows the
instance to ``--partitions`` games by copying the seed games' partition rows (event log, asset
checks, tags) under new partition keys — the same rows Dagster would have written, written
fast — and measures, at that size:

- the UI's asset page (the replay asset's partition counts, latest materialization) and its
  partition status bar, through the webserver's GraphQL, p95 of ``--samples`` loads;
- a sensor tick that finds 5 new games on the (fake) site;
- a backfill of ``--backfill`` new games through the whole chain, games/s;
- re-parsing one old game (its warehouse step, one partition);
- storage per game: event-log rows and bytes.

Targets at 100,000 partitions: asset page <= 2 s, sensor tick <= 2 s, backfill >= 50 games/s,
event-log rows per game bounded and stated. The last line is one JSON object with the figures.

    uv run python bench/dagster_scale.py --partitions 25000
    uv run python bench/dagster_scale.py --partitions 100000 --backfill 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIRST = 10_000  # the seed games; copies take ids from COPIES_FROM up
COPIES_FROM = 1_000_000

ASSET_PAGE = """
query AssetPage($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      id
      partitionStats { numMaterialized numPartitions numFailed numMaterializing }
      assetMaterializations(limit: 1) { runId partition timestamp }
      partitionDefinition { description }
    }
  }
}
"""
PARTITION_STATUS = """
query PartitionStatus($key: AssetKeyInput!) {
  assetNodeOrError(assetKey: $key) {
    ... on AssetNode {
      assetPartitionStatuses {
        ... on DefaultPartitionStatuses {
          materializedPartitions failedPartitions unmaterializedPartitions materializingPartitions
        }
      }
    }
  }
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partitions", type=int, default=25_000, help="games in the instance")
    parser.add_argument("--seed", type=int, default=100, help="games loaded for real first")
    parser.add_argument("--backfill", type=int, default=1000, help="new games backfilled at size")
    parser.add_argument("--batch", type=int, default=50, help="partitions per backfill run")
    parser.add_argument("--samples", type=int, default=10, help="loads per UI page (p95)")
    parser.add_argument(
        "--profile", action="store_true", help="print where the backfill's time goes (cProfile)"
    )
    parser.add_argument(
        "--slow-sql", type=int, metavar="MS", help="print the backfill's statements over MS ms"
    )
    args = parser.parse_args()
    os.environ["WOG_BACKFILL_BATCH"] = str(args.batch)
    warnings.simplefilter("ignore")

    import dagster as dg
    import sqlalchemy as sa

    from dbschema.connection import libpq_url, temporary_server
    from dbschema.migrate import upgrade
    from wog_assets.definitions import build_definitions
    from wog_assets.instance import DAGSTER_YAML
    from wog_assets.runs.backfill import quiet, replay_job, run_backfill
    from wog_core import settings as wog_settings
    from wog_fakes.fake_site import FakeSite
    from wog_fakes.generator import generate_games

    tmp = Path(tempfile.mkdtemp(prefix="wogscale"))
    stack = contextlib.ExitStack()
    base = stack.enter_context(temporary_server())
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for name in ("wh", "dagster"):
            conn.exec_driver_sql(f"CREATE DATABASE {name}")

    def url(db: str) -> str:
        return sa.engine.make_url(base).set(database=db).render_as_string(hide_password=False)

    upgrade(sa.create_engine(url("wh")))
    dagster_db = sa.create_engine(url("dagster"))
    home = tmp / "dagster_home"
    home.mkdir()
    shutil.copy(DAGSTER_YAML, home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": libpq_url(url("dagster")),
        "DAGSTER_EVENT_BATCH_SIZE": "200",
        "WOG_DATABASE_URL": url("wh"),
        "WOG_MIN_REQUEST_INTERVAL": "0",
        "WOG_STATS_MIN_GAMES": "5",
        "WOG_MIN_PLAYERS": "0",
    }
    started = time.perf_counter()
    seed = generate_games(FIRST, args.seed, seed=1)
    later = generate_games(FIRST + args.seed, args.backfill + 5, seed=2)
    print(f"generated {len(seed) + len(later)} games in {time.perf_counter() - started:.0f} s")
    results: dict[str, object] = {"partitions": args.partitions}
    site = stack.enter_context(FakeSite())
    site.publish(*seed)
    env["WOG_BASE_URL"] = site.url
    os.environ.update(env)
    defs = build_definitions(wog_settings.current())
    instance = stack.enter_context(dg.DagsterInstance.from_config(str(home)))

    # 1. The seed, for real: what Dagster writes per game.
    before = _event_log_size(dagster_db)
    started = time.perf_counter()
    report = run_backfill(defs, instance, FIRST, FIRST + args.seed - 1, batch=args.batch)
    assert not report.failed_runs, report.failed_runs
    seeded = time.perf_counter() - started
    after = _event_log_size(dagster_db)
    rows_per_game = (after[0] - before[0]) / args.seed
    bytes_per_game = (after[1] - before[1]) / args.seed
    partition_rows = _partition_rows(dagster_db) / args.seed
    print(f"seed: {args.seed} games in {seeded:.1f} s ({args.seed / seeded:.1f} games/s); "
          f"event log +{rows_per_game:.1f} rows and +{bytes_per_game / 1024:.1f} KiB per game "
          f"({partition_rows:.1f} rows per game name its partition)")  # fmt: skip
    results.update(event_rows_per_game=round(rows_per_game, 1),
                   event_kib_per_game=round(bytes_per_game / 1024, 1))  # fmt: skip

    # 2. Grow to N partitions by copying the seed's partition rows.
    started = time.perf_counter()
    copies = args.partitions - args.seed
    copied = _copy_partitions(dagster_db, [str(FIRST + i) for i in range(args.seed)], copies)
    print(f"copied {copied:,} rows for {copies:,} more games in {time.perf_counter() - started:.0f} s"
          f"; {len(instance.get_dynamic_partitions('replays')):,} partitions registered")  # fmt: skip
    size_mb = _database_mb(dagster_db)
    print(f"Dagster storage at {args.partitions:,} games: {size_mb:,.0f} MB")
    results["storage_mb"] = round(size_mb)

    # 3. The UI, through the webserver's GraphQL.
    port = _free_port()
    web = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-m", "wog_assets.definitions",
         "-h", "127.0.0.1", "-p", str(port)],
        env={**os.environ}, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/server_info", timeout_s=300)
        key = {"path": ["replay_json"]}
        for label, query in (
            ("asset_page_s", ASSET_PAGE),
            ("partition_status_s", PARTITION_STATUS),
        ):
            answers: list = []
            cold = _graphql(port, query, {"key": key}, answers)
            times = [_graphql(port, query, {"key": key}) for _ in range(args.samples)]
            p95 = statistics.quantiles(times, n=20)[-1] if len(times) > 1 else times[0]
            print(f"{label}: first {cold:.2f} s, p95 {p95:.2f} s, median "
                  f"{statistics.median(times):.2f} s over {len(times)}")  # fmt: skip
            results[label] = round(p95, 3)
            node = answers[0]["data"]["assetNodeOrError"]
            if "partitionStats" in node:
                print(f"  the page shows {node['partitionStats']}")
            else:
                statuses = node["assetPartitionStatuses"]
                print(f"  the bar shows {len(statuses['materializedPartitions']):,} materialized, "
                      f"{len(statuses['unmaterializedPartitions']):,} missing")  # fmt: skip
    finally:
        web.terminate()
        web.wait(timeout=60)

    # 4. A sensor tick that finds 5 new games.
    from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource

    site.publish(*later[:5])
    sensor = defs.resolve_sensor_def("new_replays")
    cursor = json.dumps({"max_id": FIRST + args.seed - 1})
    with dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={
            "site": StatsSiteResource(base_url=site.url, min_request_interval=0.0, max_retries=0),
            "warehouse": WarehouseResource(database_url=url("wh")),
        },
    ) as context:
        started = time.perf_counter()
        tick = sensor(context)
        results["sensor_tick_s"] = round(time.perf_counter() - started, 3)
    found = len(tick.run_requests or []) if isinstance(tick, dg.SensorResult) else 0
    print(f"sensor tick: {results['sensor_tick_s']:.2f} s, {found} run request(s)")
    with admin.connect() as conn:
        for row in conn.exec_driver_sql(
            "SELECT datname, state, now() - xact_start, left(query, 120) FROM pg_stat_activity "
            "WHERE state LIKE 'idle in transaction%%' AND pid <> pg_backend_pid()"
        ):
            print(f"  left open after the tick: {tuple(row)}")

    # 5. A backfill of new games at this size.
    site.publish(*later[5:])
    first_new = FIRST + args.seed + 5
    import cProfile
    import pstats

    log_file = _log_slow_statements(admin, args.slow_sql) if args.slow_sql else None
    profiler = cProfile.Profile()
    started = time.perf_counter()
    with profiler if args.profile else contextlib.nullcontext():
        report = run_backfill(defs, instance, first_new, first_new + args.backfill - 1,
                              batch=args.batch)  # fmt: skip
    took = time.perf_counter() - started
    if args.profile:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"dagster|wog_", 40)
    if log_file is not None:
        _print_slow_statements(log_file)
    assert not report.failed_runs, report.failed_runs
    results["backfill_games_per_s"] = round(args.backfill / took, 1)
    print(f"backfill: {args.backfill} games in {took:.1f} s = {args.backfill / took:.1f} games/s "
          f"({len(report.runs)} runs)")  # fmt: skip

    # 6. Re-parsing one old game: its warehouse step, one partition.
    started = time.perf_counter()
    result = replay_job(defs).execute_in_process(
        instance=instance,
        partition_key=str(FIRST),
        asset_selection=[dg.AssetKey(k) for k in ("games", "players", "vehicles", "frags")],
        raise_on_error=False,
        run_config=quiet(),
    )
    results["reparse_one_s"] = round(time.perf_counter() - started, 2)
    print(
        f"re-parse one game: {results['reparse_one_s']:.2f} s ({'ok' if result.success else 'FAILED'})"
    )

    print("targets at 100,000: asset page <= 2 s, sensor tick <= 2 s, backfill >= 50 games/s")
    stack.close()
    shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps(results))


def _event_log_size(engine) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        rows, size = conn.exec_driver_sql(
            "SELECT count(*), coalesce(sum(pg_column_size(event_logs.*)), 0) FROM event_logs"
        ).one()
    return int(rows), int(size)


def _partition_rows(engine) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM event_logs WHERE partition IS NOT NULL"
            ).scalar()
        )


def _database_mb(engine) -> float:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar() / 1e6


def _copy_partitions(engine, seed_keys: list[str], copies: int) -> int:  # type: ignore[no-untyped-def]
    """Register ``copies`` more partitions, each a copy of one seed game's rows (event log,
    its tags, asset check executions) under the new key; returns the rows written."""
    written = 0
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TEMP TABLE copies AS SELECT g AS n, "
            f"({COPIES_FROM} + g)::text AS key, "
            "(ARRAY[" + ",".join(f"'{k}'" for k in seed_keys) + "])"
            f"[1 + mod(g, {len(seed_keys)})] AS seed FROM generate_series(0, {copies - 1}) AS g"
        )
        written += conn.exec_driver_sql(
            "INSERT INTO dynamic_partitions (partitions_def_name, partition, create_timestamp) "
            "SELECT 'replays', key, now() FROM copies"
        ).rowcount
        # Each copied event gets a new id; remember which seed event it copies (for tags).
        conn.exec_driver_sql(
            "CREATE TEMP TABLE copied AS SELECT nextval(pg_get_serial_sequence('event_logs', 'id'))"
            " AS id, e.id AS from_id, c.key FROM event_logs e JOIN copies c ON c.seed = e.partition"
        )
        written += conn.exec_driver_sql(
            "INSERT INTO event_logs (id, run_id, event, dagster_event_type, timestamp, step_key, "
            "asset_key, partition) SELECT d.id, e.run_id, "
            "replace(e.event, '\"partition\": \"' || e.partition || '\"', "
            "'\"partition\": \"' || d.key || '\"'), e.dagster_event_type, e.timestamp, "
            "e.step_key, e.asset_key, d.key FROM copied d JOIN event_logs e ON e.id = d.from_id"
        ).rowcount
        written += conn.exec_driver_sql(
            "INSERT INTO asset_event_tags (event_id, asset_key, key, value, event_timestamp) "
            "SELECT d.id, t.asset_key, t.key, t.value, t.event_timestamp FROM copied d "
            "JOIN asset_event_tags t ON t.event_id = d.from_id"
        ).rowcount
        checks = conn.exec_driver_sql(
            "SELECT string_agg(column_name, ', ') FROM information_schema.columns "
            "WHERE table_name = 'asset_check_executions' AND column_name NOT IN ('id', 'partition')"
        ).scalar()
        if checks:
            written += conn.exec_driver_sql(
                f"INSERT INTO asset_check_executions ({checks}, partition) "
                f"SELECT {', '.join('a.' + c.strip() for c in checks.split(','))}, c.key "
                "FROM asset_check_executions a JOIN copies c ON c.seed = a.partition"
            ).rowcount
        conn.exec_driver_sql("UPDATE asset_keys SET cached_status_data = NULL")
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE")
    return written


def _log_slow_statements(admin, ms: int) -> Path:  # type: ignore[no-untyped-def]
    """Have the server log every statement slower than ``ms``; returns its log file."""
    with admin.connect() as conn:
        conn.exec_driver_sql(f"ALTER SYSTEM SET log_min_duration_statement = {int(ms)}")
        conn.exec_driver_sql("SELECT pg_reload_conf()")
        data = Path(conn.exec_driver_sql("SHOW data_directory").scalar())
    log = data / "log"
    return log if log.is_file() else data / "postmaster.log"


def _print_slow_statements(log: Path) -> None:
    import re

    found = []
    text = log.read_text(errors="replace") if log.exists() else ""
    statement = r"duration: ([\d.]+) ms\s+(?:statement|execute [^:]*): (.*?)(?=\n\d{4}-|\Z)"
    for match in re.finditer(statement, text, re.DOTALL):
        found.append((float(match.group(1)), " ".join(match.group(2).split())[:200]))
    print(f"{len(found)} slow statement(s) in {log}:")
    for ms, statement in sorted(found, reverse=True)[:12]:
        print(f"  {ms / 1000:7.2f} s  {statement}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(url: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _graphql(port: int, query: str, variables: dict, answers: list | None = None) -> float:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql", data=body, headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        answer = json.loads(response.read())
    took = time.perf_counter() - started
    if answer.get("errors"):
        raise RuntimeError(f"GraphQL: {answer['errors'][0].get('message')}")
    if answers is not None:
        answers.append(answer)
    return took


if __name__ == "__main__":
    main()
