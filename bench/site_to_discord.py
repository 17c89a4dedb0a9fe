"""Benchmark: a game appears on the site → its message is in Discord, stage by stage.

Runs the deployed topology as local processes with docker-compose.yml's commands — the code
server, the Dagster daemon (sensor, run queue, runs) and ``wog bot`` — on a private Postgres,
against the fake stats site and the Discord stand-in on loopback. Publishes ``--games`` new
games (default 20, 150 players each) at random moments, waits until each is posted, then reads
where the time went from the Dagster run records, the notification rows and the stand-in:

- **seen**: published → its run created by the sensor (waits for the next tick: up to the
  sensor interval);
- **launch**: run created → run started (queue, dequeue, a new process importing the code);
- **steps**: run started → its message queued (fetch, parse and write, checks, directory,
  statistics, message and chart);
- **post**: queued → the stand-in received it (the bot, woken by LISTEN/NOTIFY);
- **total**: published → posted. Target: p95 ≤ the sensor interval + 15 s on 2 cores.

    uv run python bench/site_to_discord.py [--games 20] [--sensor-interval 10]
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _command(service: str, code_port: int) -> list[str]:
    """The compose service's command, with container addresses mapped to loopback."""
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    words = []
    for word in compose["services"][service]["command"]:
        word = {"0.0.0.0": "127.0.0.1", "4000": str(code_port)}.get(word, word)
        words.append(str(ROOT / "workspace.yaml") if word == "/app/workspace.yaml" else word)
    words[0] = str(BIN / words[0])
    return words


def _wait(what: str, predicate, timeout: float, procs: dict) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for name, proc in procs.items():
            if proc.poll() is not None:
                raise SystemExit(f"{name} exited with {proc.returncode} waiting for {what}")
        time.sleep(0.1)
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")


def _quantiles(values: list[float]) -> tuple[float, float, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95, ordered[-1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=20)
    parser.add_argument("--sensor-interval", type=int, default=10, help="seconds")
    parser.add_argument("--seed", type=int, default=5)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    import dagster as dg
    import sqlalchemy as sa

    from dbschema.connection import libpq_url, temporary_server
    from dbschema.migrate import upgrade
    from wog_fakes.discord import FakeDiscord
    from wog_fakes.fake_site import FakeSite
    from wog_fakes.generator import GameOptions, generate_game

    rng = random.Random(args.seed)
    interval = args.sensor_interval
    tmp = Path(tempfile.mkdtemp(prefix="wog-latency-"))
    stack = contextlib.ExitStack()
    procs: dict[str, subprocess.Popen] = {}
    try:
        base = stack.enter_context(temporary_server())
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for name in ("warehouse", "dagster"):
                conn.exec_driver_sql(f"CREATE DATABASE {name}")

        def url(db: str) -> str:
            return sa.engine.make_url(base).set(database=db).render_as_string(hide_password=False)

        engine = sa.create_engine(url("warehouse"))
        upgrade(engine)
        home = tmp / "dagster_home"
        home.mkdir()
        shutil.copy(ROOT / "dagster.yaml", home / "dagster.yaml")
        site = stack.enter_context(FakeSite())
        discord = stack.enter_context(FakeDiscord())
        options = GameOptions(players=150)
        first = 5000
        site.publish(generate_game(first, seed=args.seed, options=options))  # the history
        code_port = _free_port()
        env = {
            **os.environ,
            "DAGSTER_HOME": str(home),
            "DAGSTER_POSTGRES_URL": libpq_url(url("dagster")),
            "WOG_DATABASE_URL": url("warehouse"),
            "DAGSTER_CODE_HOST": "127.0.0.1",
            "DAGSTER_CODE_PORT": str(code_port),
            "WOG_BASE_URL": site.url,
            "WOG_MIN_REQUEST_INTERVAL": "0",
            "WOG_SENSOR_INTERVAL": str(interval),
            "WOG_DISCORD_API_URL": discord.api_url,
            "WOG_DISCORD_WEBHOOK_URL": f"{discord.api_url}/webhooks/333/latency-bench",
            "WOG_POLL_INTERVAL": "30",  # LISTEN/NOTIFY must be what delivers
            "WOG_DATA_DIR": str(tmp / "data"),
            "DAGSTER_EVENT_BATCH_SIZE": "200",
        }
        env.pop("DISCORD_TOKEN", None)
        for name in ("code", "daemon", "bot"):
            log = open(tmp / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
            procs[name] = subprocess.Popen(
                _command(name, code_port), env=env, cwd=tmp, stdout=log, stderr=subprocess.STDOUT
            )

        def posted_at(rid: int) -> float | None:
            marker = f"/games/{rid}/"
            for request in list(discord.requests):
                embeds = (request.json or {}).get("embeds") or []
                if request.method == "POST" and any(
                    (e.get("url") or "").endswith(marker) for e in embeds
                ):
                    return request.at
            return None

        print(f"starting the topology (sensor every {interval} s)…")
        _wait("the first tick's game on Discord", lambda: posted_at(first), 240, procs)

        # Wall clock for Dagster's and Postgres's timestamps, monotonic for ours.
        offset = time.time() - time.monotonic()
        published: dict[int, float] = {}
        ids = list(range(first + 1, first + 1 + args.games))
        print(f"publishing {len(ids)} games at random moments…")
        for rid in ids:
            time.sleep(rng.uniform(0, interval))
            site.publish(generate_game(rid, seed=args.seed, options=options))
            published[rid] = time.monotonic()
        _wait(
            "every game on Discord",
            lambda: all(posted_at(r) is not None for r in ids),
            interval * 3 + 60 * len(ids),
            procs,
        )

        os.environ["DAGSTER_POSTGRES_URL"] = env["DAGSTER_POSTGRES_URL"]
        stages: dict[str, list[float]] = {
            "seen (published → run created)": [],
            "launch (created → started)": [],
            "steps (started → queued)": [],
            "post (queued → on Discord)": [],
            "total (published → on Discord)": [],
        }
        with engine.connect() as conn:
            queued = dict(
                conn.execute(
                    sa.text(
                        "SELECT replay_id, min(created_at) FROM notifications "
                        "WHERE replay_id = ANY(:ids) GROUP BY replay_id"
                    ),
                    {"ids": ids},
                ).all()
            )
        with dg.DagsterInstance.from_config(str(home)) as instance:
            records = instance.get_run_records(dg.RunsFilter(tags={"wog/trigger": "new"}))
            run_of: dict[int, object] = {}  # each game's successful run (one run may hold several)
            for record in records:
                if record.dagster_run.status != dg.DagsterRunStatus.SUCCESS:
                    continue
                tags = record.dagster_run.tags
                if "dagster/partition" in tags:
                    games = [int(tags["dagster/partition"])]
                else:
                    first_id = int(tags["dagster/asset_partition_range_start"])
                    games = list(
                        range(first_id, int(tags["dagster/asset_partition_range_end"]) + 1)
                    )
                for rid in games:
                    run_of[rid] = record
            runs = {record.dagster_run.run_id for rid, record in run_of.items() if rid in ids}
            for rid in ids:
                record = run_of[rid]
                created = record.create_timestamp.timestamp() - offset
                started = (record.start_time or 0) - offset
                enqueued = queued[rid].timestamp() - offset
                post = posted_at(rid) or 0.0
                for name, value in zip(stages, (
                    created - published[rid], started - created, enqueued - started,
                    post - enqueued, post - published[rid],
                ), strict=True):  # fmt: skip
                    stages[name].append(value)

        print(f"\n{len(ids)} games in {len(runs)} runs, sensor interval {interval} s; "
              "seconds per stage:")  # fmt: skip
        print(f"  {'stage':<34} {'p50':>6} {'p95':>6} {'max':>6}")
        for name, values in stages.items():
            p50, p95, worst = _quantiles(values)
            print(f"  {name:<34} {p50:6.1f} {p95:6.1f} {worst:6.1f}")
        largest = max(list(stages)[:-1], key=lambda n: statistics.median(stages[n]))
        _, total_p95, _ = _quantiles(stages["total (published → on Discord)"])
        target = interval + 15
        verdict = "OK" if total_p95 <= target else "OVER"
        print(f"largest stage (median): {largest}")
        print(f"published → on Discord p95 {total_p95:.1f} s — target ≤ sensor interval + 15 s "
              f"= {target} s: {verdict} ({total_p95 / target:.2f}× the target)")  # fmt: skip
        print(f"at {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; logs in {tmp}")
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        stack.close()


if __name__ == "__main__":
    main()
