"""``wog backfill``, ``wog announce``, ``wog dev``, ``wog fake-site``: the Dagster pipeline."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, TYPE_CHECKING

import click

from wog_cli.common import dagster_environment, engine, settings
from wog_cli.params import REPLAY_ID
from wog_core.settings import SET_A_TARGET

if TYPE_CHECKING:
    from dagster import DagsterInstance

    from wog_assets.runs.backfill import BackfillReport


@click.command("backfill")
@click.option("--from", "first", type=REPLAY_ID, help="First replay id.")
@click.option("--to", "last", type=REPLAY_ID, help="Last replay id (inclusive).")
@click.option(
    "--source",
    "source_name",
    help="Load every recording an OCAP source (WOG_SOURCES_FILE) lists, instead of WOG ids.",
)
@click.option("--batch", type=int, help="Replays per run (default WOG_BACKFILL_BATCH or 50).")
@click.option(
    "--submit", is_flag=True, help="Hand the backfill to a running Dagster daemon and return."
)
@click.option(
    "--wait-timeout",
    type=float,
    default=600.0,
    show_default=True,
    help="Seconds to wait for another run to free the site pool before giving up.",
)
def backfill_cmd(
    first: int | None,
    last: int | None,
    source_name: str | None,
    batch: int | None,
    submit: bool,
    wait_timeout: float,
) -> None:
    """Load replays FROM..TO into the warehouse, in batched runs recorded in Dagster.

    Never announces anything on Discord. Ids the site does not have are recorded as missing,
    not treated as errors; the min-players filter does not apply. Exits 1 if a batch failed
    (its replays are listed; the rest are loaded and re-running is safe).

    Example: wog backfill --from 3300 --to 3413

    Example: wog backfill --source sg
    """
    if source_name:
        _source_backfill(source_name, batch)
        return
    if first is None or last is None:
        raise click.UsageError("give --from and --to (WOG replay ids), or --source NAME")
    if last < first:
        raise click.UsageError("--to must not be smaller than --from")
    if batch is not None and batch < 1:
        raise click.UsageError("--batch must be at least 1")
    dagster_environment()
    stop_on_sigterm()
    import dagster as dg

    from wog_assets.definitions import build_definitions
    from wog_assets.runs.backfill import prune_missing_partitions, run_backfill, submit_backfill
    from wog_assets.runs.recovery import PoolBusy
    from wog_warehouse.raw import missing_ids

    current = settings()
    defs = build_definitions(current)
    with dg.DagsterInstance.get() as instance:
        if submit:
            backfill_id = submit_backfill(defs, instance, first, last)
            click.echo(
                f"submitted backfill {backfill_id} for replays {first}..{last}; the daemon runs it"
            )
            return
        total = last - first + 1

        def say(line: str) -> None:
            click.echo(f"\n{line}", err=True)

        with click.progressbar(
            length=total, label=f"replays {first}..{last}", show_pos=True
        ) as bar:
            try:
                report = run_backfill(
                    defs,
                    instance,
                    first,
                    last,
                    batch=batch or current.pipeline.backfill_batch,
                    on_batch=lambda keys, ok: bar.update(len(keys)),
                    say=say,
                    wait_timeout_s=wait_timeout,
                )
            except PoolBusy as exc:
                raise click.ClickException(str(exc)) from None
        warehouse = engine()
        missing = missing_ids(warehouse, first, last)
        prune_missing_partitions(instance, warehouse, missing)
    click.echo(
        f"{len(report.runs)} run(s) (the last {report.stats_runs} bring the statistics up to "
        "date), "
        f"tag wog/backfill={report.backfill_id}"
    )
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        click.echo(f"{len(missing)} id(s) not on the site (recorded in replay_misses): {shown}")
    _report_problems(report)


def _source_backfill(source_name: str, batch: int | None) -> None:
    """``wog backfill --source NAME``: every recording the source lists, never announced."""
    dagster_environment()
    stop_on_sigterm()
    import dagster as dg

    from wog_assets.definitions import build_definitions
    from wog_assets.defs.sources import configured_sources
    from wog_assets.runs.backfill import run_source_backfill
    from wog_sources.errors import SourceError

    current = settings()
    names = [s.name for s in current.sources]
    if source_name not in names:
        raise click.ClickException(
            f"no source {source_name!r} in WOG_SOURCES_FILE (sources: {', '.join(names) or 'none'})"
        )
    defs = build_definitions(current)
    with dg.DagsterInstance.get() as instance:
        try:
            report = run_source_backfill(
                defs,
                instance,
                engine(),
                configured_sources(current)[source_name],
                batch=batch or current.pipeline.backfill_batch,
                say=lambda line: click.echo(line, err=True),
            )
        except SourceError as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(
        f"{report.partitions} recording(s) in {len(report.runs)} run(s), "
        f"tag wog/backfill={report.backfill_id}"
    )
    _report_problems(report)


def _report_problems(report: BackfillReport) -> None:
    """Every rejected or repaired replay and every failed run, one line each; exit 1 on a
    failed run (what else was loaded stays loaded)."""
    named = report.problems.lines()
    for line in named:
        click.echo(line, err=True)
    for span, error in report.failed_runs:
        # The step's failure message, without Dagster's prefix: its first line says what
        # happened, the next ones (if any) name each game it concerns, one line each.
        lines = [line for line in (error or "run failed").splitlines() if line.strip()]
        first = lines[0].removeprefix("dagster._core.definitions.events.Failure: ")
        click.echo(f"FAILED run {span}: {first}", err=True)
        for line in lines[1:]:
            if line.strip() not in named:  # each game is named once
                click.echo(f"  {line.strip()}", err=True)
    if report.failed_runs:
        sys.exit(1)


def stop_on_sigterm() -> None:
    """SIGTERM (``docker stop``, ``timeout``) stops the command at once, as Ctrl-C does; a run
    it leaves unfinished is healed by the next ``wog`` command."""
    import signal

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)


@click.command("announce")
@click.argument("replay_id", type=REPLAY_ID, required=False)
@click.option(
    "--digest",
    "period",
    metavar="PERIOD",
    help="Post a digest again instead: a week (2026-W48, its tables) or a month (2026-11, its "
    "nominations).",
)
def announce_cmd(replay_id: int | None, period: str | None) -> None:
    """Queue REPLAY_ID's Discord message for posting (the bot delivers it), or with --digest a
    period's digest (again, even if it was posted).

    Loads the game first if the warehouse does not have it yet. Runs are recorded in Dagster
    with the tag wog/trigger=announce.

    Example: wog announce 3413; wog announce --digest 2026-W48
    """
    if (replay_id is None) == (period is None):
        raise click.UsageError("give a REPLAY_ID or --digest PERIOD (one of them)")
    targets = settings().notification_targets
    if period is not None:
        _announce_digest(period.strip(), targets)
        return
    if not targets and not settings().sources:
        raise click.ClickException(f"no notification targets: {SET_A_TARGET}")
    dagster_environment()
    stop_on_sigterm()
    import dagster as dg

    from wog_assets.definitions import build_definitions
    from wog_assets.runs.backfill import AnnounceFailed, announce
    from wog_assets.runs.recovery import PoolBusy

    assert replay_id is not None  # one of the two was given (checked above)
    with dg.DagsterInstance.get() as instance:
        try:
            run_id = announce(build_definitions(settings()), instance, engine(), replay_id)
        except (AnnounceFailed, PoolBusy) as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"replay {replay_id} queued for {', '.join(targets)} (run {run_id})")


def _announce_digest(period: str, targets: list[str]) -> None:
    from wog_core.clock import period_bounds

    try:
        period_bounds(period)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--digest") from None
    if not targets and not settings().sources:
        raise click.ClickException(f"no notification targets: {SET_A_TARGET}")
    dagster_environment()
    stop_on_sigterm()
    import dagster as dg

    from wog_assets.definitions import build_definitions
    from wog_assets.runs.backfill import AnnounceFailed, announce_digest

    with dg.DagsterInstance.get() as instance:
        try:
            run_id = announce_digest(build_definitions(settings()), instance, period)
        except AnnounceFailed as exc:
            raise click.ClickException(str(exc)) from None
    click.echo(f"digest {period} queued for {', '.join(targets)} (run {run_id})")


def _newest_registered_game() -> int | None:
    import dagster as dg

    from wog_assets.runs.backfill import newest_registered_game

    with dg.DagsterInstance.get() as instance:
        return newest_registered_game(instance)


@click.command("dev")
@click.option(
    "--demo",
    is_flag=True,
    help="Use a local fake stats site that publishes a new game every minute, and post to a "
    "local Discord stand-in (its channel page URL is printed) with the bot running.",
)
@click.option("--port", default=3000, show_default=True, help="Dagster UI port.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Dagster UI host.")
@click.option(
    "--demo-interval", default=60.0, show_default=True, help="Seconds between demo games."
)
def dev_cmd(demo: bool, port: int, host: str, demo_interval: float) -> None:
    """Run the Dagster UI and daemon (sensor on) on the embedded Postgres.

    Starts or reuses the embedded Postgres, migrates the warehouse, prepares DAGSTER_HOME with
    Postgres instance storage and runs `dagster dev`. With --demo, games come from a fake stats
    site on loopback instead of the real one, and the bot posts them to a Discord stand-in whose
    channel page shows the messages.

    Example: wog dev --demo
    """
    from dbschema.connection import embedded_server_running, stop_embedded_server
    from wog_core.settings import DEMO_FILE, write_demo

    current = settings()
    embedded = current.database_url is None
    pgdata = current.data_dir / "pgdata"
    postgres_was_running = embedded and embedded_server_running(pgdata)
    child_env = {**os.environ, **dagster_environment()}
    # Dagster's `dagster dev` is superseded by `dg dev` (a tool we do not ship): its
    # FutureWarning would only alarm. Started in DAGSTER_HOME, it finds our dagster.yaml there.
    warnings = [child_env.get("PYTHONWARNINGS", ""), "ignore::FutureWarning"]
    child_env["PYTHONWARNINGS"] = ",".join(w for w in warnings if w)
    ui = f"http://{host}:{port}"
    site = discord = bot = None
    if demo:
        from wog_fakes.discord import BOT_TOKEN, FakeDiscord
        from wog_fakes.live import DEMO_CHANNEL_ID, start_demo_site
        from wog_warehouse.raw import newest_raw_id

        # After the newest game an earlier demo stored, or registered (a run canceled before it
        # fetched leaves only its partition, and the sensor still watches that id).
        known = [newest_raw_id(engine()), _newest_registered_game()]
        site = start_demo_site(
            max((k for k in known if k), default=None), demo_interval, click.echo
        )
        # Games are posted to a local Discord stand-in, never to a real server.
        discord = FakeDiscord().start()
        demo_discord = {
            "WOG_DISCORD_API_URL": discord.api_url,
            "WOG_DISCORD_CHANNEL_IDS": str(DEMO_CHANNEL_ID),
        }
        child_env.update(
            WOG_BASE_URL=site.url,
            WOG_MIN_REQUEST_INTERVAL="0.1",
            WOG_SENSOR_INTERVAL=child_env.get("WOG_SENSOR_INTERVAL", "20"),
            **demo_discord,
        )
        for name in ("WOG_DISCORD_WEBHOOK_URL", "WOG_DISCORD_GUILD_ID", "WOG_TWITCH_STREAMERS"):
            child_env.pop(name, None)
        bot_env = {**child_env, "DISCORD_TOKEN": BOT_TOKEN, "WOG_POLL_INTERVAL": "2"}
        bot = subprocess.Popen(
            [sys.executable, "-m", "wog_cli", "bot"],
            env=bot_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # stopped by us, after the runs (see below)
        )
        demo_file = write_demo(
            current.data_dir,
            {"WOG_BASE_URL": site.url, "WOG_DAGSTER_UI_URL": ui, **demo_discord},
        )
        click.echo(f"demo: the bot posts new games to a local Discord stand-in (pid {bot.pid})")
        click.echo(f"Discord channel: {discord.url}/")
        click.echo(f"demo: other wog commands use the fake site while this runs ({demo_file})")
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-m", "wog_assets.definitions", "-h", host, "-p", str(port)]
    click.echo(f"DAGSTER_HOME={child_env['DAGSTER_HOME']}")
    click.echo("Dagster UI: starting… (its address follows once it answers)")
    # Dagster runs in a session of its own, so the terminal's Ctrl-C reaches only this process
    # (and `uv run`, which forwards it here once more): the webserver, daemon, code server and
    # an executing run are not interrupted at random points but stopped in order below.
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in STOP_SIGNALS}
    proc = subprocess.Popen(
        cmd,
        env={**child_env, "PYTHONUNBUFFERED": "1"},
        cwd=child_env["DAGSTER_HOME"],
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    # Dagster's output is relayed until a stop is asked for; after that, what its processes say
    # while being stopped (an interrupted step's traceback, shutdown chatter) is dropped and the
    # terminal shows this command's own summary instead.
    relay = threading.Thread(target=_relay, args=(proc.stdout, stop), daemon=True)
    relay.start()
    threading.Thread(target=_announce_ui, args=(ui, proc, stop), daemon=True).start()
    instance = None
    code = 0
    try:
        instance = _open_instance(child_env)
        while proc.poll() is None and not stop.wait(0.5):
            pass
        if stop.is_set():
            click.echo("stopping…")
            if bot is not None:  # it stops (finishing a post in flight) while Dagster does
                bot.terminate()
            _stop_dagster(proc, instance)
        code = proc.wait()
    finally:
        for sig in STOP_SIGNALS:  # repeated Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if bot is not None:
            if not stop.is_set():  # (on a stop it was asked first, in parallel with Dagster)
                bot.terminate()
            try:
                bot.wait(timeout=15)
            except subprocess.TimeoutExpired:
                bot.kill()
        if discord is not None:
            discord.stop()
        if instance is not None:
            instance.dispose()
        if site:
            site.stop()
            (current.data_dir / DEMO_FILE).unlink(missing_ok=True)
        if embedded and not postgres_was_running:
            stop_embedded_server(pgdata)
            click.echo("stopped the embedded Postgres")
        elif embedded:
            click.echo("the embedded Postgres keeps running (it was running before); "
                       "'wog db stop' stops it")  # fmt: skip
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    sys.exit(0 if stop.is_set() else max(code, 0))


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _announce_ui(ui: str, proc: subprocess.Popen, stop: threading.Event) -> None:
    """Print the UI's address once its webserver answers (it takes a while to start), not
    before: an address printed early is dead for a minute."""
    import httpx

    while proc.poll() is None and not stop.is_set():
        try:
            if httpx.get(f"{ui}/server_info", timeout=2.0).status_code == 200:
                click.echo(f"Dagster UI: {ui}")
                return
        except httpx.HTTPError:
            pass
        stop.wait(0.5)


def _relay(stream: IO[bytes], quiet: threading.Event) -> None:
    """Copy a child's output to ours line by line until ``quiet`` is set; then drain it."""
    out = sys.stdout.buffer
    for line in iter(stream.readline, b""):
        if not quiet.is_set():
            out.write(line)
            out.flush()


def _stop_dagster(proc: subprocess.Popen, instance: DagsterInstance | None) -> None:
    """Cancel the runs in progress, then stop `dagster dev` and everything it started.

    Canceled runs end *canceled* (no failure alert). `dagster dev` shuts its webserver and
    daemon down on SIGTERM; whatever is left of its session after a few seconds (code servers,
    a run process that ignored the cancel) is killed.
    """
    from wog_assets.runs.recovery import cancel_runs_in_progress
    from wog_cli import one_line

    if instance is not None:
        try:
            canceled = cancel_runs_in_progress(
                instance, session=proc.pid, reason="wog dev was stopped (Ctrl-C)"
            )
            if canceled:
                ids = ", ".join(r[:8] for r in canceled)
                click.echo(f"canceled {len(canceled)} run(s) in progress: {ids}")
        except Exception as exc:  # the storage already gone: nothing left to cancel cleanly
            click.echo(f"could not cancel the runs in progress: {one_line(exc)}", err=True)
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=4)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)  # its session: code servers, stray run processes
    click.echo("stopped Dagster (webserver, daemon, code server)")


def _open_instance(env: dict[str, str]) -> DagsterInstance | None:
    """The Dagster instance `wog dev` runs, opened now so that a Ctrl-C cancels at once."""
    import dagster as dg

    try:  # dagster.yaml reads DAGSTER_POSTGRES_URL, exported by dagster_environment()
        return dg.DagsterInstance.from_config(env["DAGSTER_HOME"])
    except Exception as exc:
        from wog_cli import one_line

        click.echo(f"could not open the Dagster instance: {one_line(exc)}", err=True)
        return None


@click.command("fake-site")
@click.option("--games", default=20, show_default=True, help="Number of generated games.")
@click.option("--first-id", default=3400, show_default=True, help="Id of the first game.")
@click.option("--seed", default=0, show_default=True, help="Generator seed.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8765, show_default=True)
@click.option("--viewer-mb", default=0.0, help="Bulky viewer data per replay JSON, in MB.")
@click.option(
    "--export", type=click.Path(file_okay=False), help="Also write the games as files here."
)
def fake_site_cmd(
    games: int, first_id: int, seed: int, host: str, port: int, viewer_mb: float, export: str | None
) -> None:
    """Serve generated games as a fake stats site (for demos; point WOG_BASE_URL at it).

    Example: wog fake-site --games 30 --port 8765
    """
    from wog_fakes.fake_site import FakeSite
    from wog_fakes.generator import GameOptions, export_games, generate_games

    generated = generate_games(
        first_id, games, seed, GameOptions(viewer_bytes=int(viewer_mb * 2**20))
    )
    if export:
        export_games(generated, Path(export))
        click.echo(f"wrote {len(generated)} games to {export}/<id>.html and <id>.json")
    site = FakeSite(host, port)
    site.publish(*generated)
    click.echo(
        f"fake stats site with {games} games (ids {first_id}..{first_id + games - 1}) at {site.url}"
    )
    click.echo(f"  export WOG_BASE_URL={site.url}")
    with contextlib.suppress(KeyboardInterrupt):
        site.serve_forever()


COMMANDS = [backfill_cmd, announce_cmd, dev_cmd, fake_site_cmd]


@click.command("migrate-wrtd")
@click.option(
    "--from",
    "source_url",
    required=True,
    help="The WRTD-ETL database (any libpq URL, e.g. postgresql:///wrtd?host=/var/run/postgresql).",
)
@click.option("--batch", type=int, help="Replays per run (default WOG_BACKFILL_BATCH or 50).")
def migrate_wrtd_cmd(source_url: str, batch: int | None) -> None:
    """Switch from WRTD-ETL: load its games quietly and never post them again.

    Reads only replay_main.replay_number and messages(replay_number, posted); loads every
    replay from WOG_BASE_URL with suppressed messages, records the posted ones as announced,
    and moves the new-game sensor after the highest one. Running it again is safe.

    Example: wog migrate-wrtd --from postgresql://wrtd:secret@oldhost/wrtd
    """
    from wog_assets.runs.migrate_wrtd import read_wrtd

    history = read_wrtd(source_url)
    if not history.replay_ids:
        raise click.ClickException("the WRTD-ETL database has no replays in replay_main")
    dagster_environment()
    stop_on_sigterm()
    import dagster as dg

    from wog_assets.definitions import build_definitions
    from wog_assets.runs.migrate_wrtd import migrate

    current = settings()
    click.echo(
        f"WRTD-ETL: {len(history.replay_ids)} replays "
        f"({history.replay_ids[0]}..{history.replay_ids[-1]}), {len(history.posted)} posted"
    )
    with (
        dg.DagsterInstance.get() as instance,
        click.progressbar(length=len(history.replay_ids), label="loading") as bar,
    ):
        report, marked, floor = migrate(
            build_definitions(current),
            instance,
            engine(),
            history,
            batch=batch or current.pipeline.backfill_batch,
            on_batch=lambda keys, ok: bar.update(len(keys)),
            say=lambda line: click.echo(f"\n{line}", err=True),
        )
    click.echo(
        f"{len(report.runs)} run(s); {marked} message(s) recorded as already posted; "
        f"the sensor starts after replay {floor}"
    )
    for line in report.problems.lines():
        click.echo(line, err=True)
    if report.failed_runs:
        raise SystemExit(1)


COMMANDS.append(migrate_wrtd_cmd)
