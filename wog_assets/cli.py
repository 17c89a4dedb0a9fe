"""The ``wog`` command line: one entry point for every part of the platform.

Each subcommand imports its subsystem lazily, so ``wog --help`` and ``wog db …`` start fast
and never load Dagster or hikari unless they need them.
"""

from __future__ import annotations

import contextlib
import sys

import click


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """WOG Arma 3 replay platform: warehouse, Dagster pipeline and Discord bot."""


# --- database -----------------------------------------------------------------------------


@main.group()
def db() -> None:
    """Manage the warehouse database (WOG_DATABASE_URL, or the embedded Postgres)."""


def _engine():  # type: ignore[no-untyped-def]
    from dbschema.connection import DatabaseUnavailable, create_engine

    try:
        return create_engine()
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
def db_upgrade(revision: str) -> None:
    """Apply migrations (idempotent: safe to run at every start)."""
    from dbschema.connection import redact_url
    from dbschema.migrate import current_revision, upgrade

    engine = _engine()
    upgrade(engine, revision)
    click.echo(f"{redact_url(engine.url)}: at revision {current_revision(engine)}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Migrate down to REVISION ('base' drops every warehouse table)."""
    from dbschema.migrate import current_revision, downgrade

    if not yes:
        click.confirm(f"Downgrade the warehouse to {revision}? Data may be lost", abort=True)
    engine = _engine()
    downgrade(engine, revision)
    click.echo(f"at revision {current_revision(engine)}")


@db.command("current")
def db_current() -> None:
    """Show the warehouse's migration revision and the newest one available."""
    from dbschema.migrate import current_revision, head_revision

    current = current_revision(_engine())
    head = head_revision()
    state = "up to date" if current == head else "run 'wog db upgrade'"
    click.echo(f"current: {current or '(empty database)'}\nhead:    {head} ({state})")


@db.command("url")
def db_url() -> None:
    """Print the effective database URL with any password redacted."""
    from dbschema.connection import DatabaseUnavailable, database_url, redact_url

    try:
        click.echo(redact_url(database_url()))
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres (no effect when WOG_DATABASE_URL is set)."""
    from dbschema.connection import stop_embedded_server

    click.echo("stopped" if stop_embedded_server() else "the embedded Postgres was not running")


# --- source ---------------------------------------------------------------------------------


@main.command("parse")
@click.option(
    "--page", "page_file", type=click.Path(exists=True, dir_okay=False), help="Game page HTML file."
)
@click.option(
    "--replay",
    "replay_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Replay JSON file.",
)
@click.option(
    "--replay-id", type=int, help="Replay id (fetched from the site when no files are given)."
)
@click.option("--indent", type=int, default=0, help="Pretty-print with this indent.")
def parse_cmd(
    page_file: str | None, replay_file: str | None, replay_id: int | None, indent: int
) -> None:
    """Print a replay, normalized, as JSON (the contract documented in the README).

    Give --page and --replay files, or only --replay-id to fetch both from the site
    (WOG_BASE_URL). Exits 2 with one line on stderr when the input cannot be parsed.
    """
    from wog_assets.source.errors import ReplayNotFound, ReplayParseError, SourceError
    from wog_assets.source.models import to_json

    try:
        replay = _load_replay(page_file, replay_file, replay_id)
    except (ReplayParseError, ReplayNotFound) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    except SourceError as exc:  # the site is unreachable: not the input's fault
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(to_json(replay, indent=indent))


def _load_replay(page_file: str | None, replay_file: str | None, replay_id: int | None):  # type: ignore[no-untyped-def]
    from pathlib import Path

    from wog_assets.source.models import combine
    from wog_assets.source.parse import parse_game_page, parse_replay_json

    if page_file or replay_file:
        if not (page_file and replay_file):
            raise click.UsageError("give both --page and --replay, or only --replay-id")
        page = parse_game_page(
            Path(page_file).read_text(encoding="utf-8"), replay_id=replay_id, url=page_file
        )
        data = parse_replay_json(
            Path(replay_file).read_bytes(), replay_id=page.replay_id, url=replay_file
        )
        return combine(page, data)
    if replay_id is None:
        raise click.UsageError("give --page and --replay files, or --replay-id")
    from wog_assets.source.client import SiteClient

    with SiteClient() as client:
        page_fetch = client.fetch_game_page(replay_id)
        json_fetch = client.fetch_replay_json(replay_id)
    page = parse_game_page(page_fetch.text, replay_id=replay_id, url=page_fetch.url)
    return combine(
        page, parse_replay_json(json_fetch.body, replay_id=replay_id, url=json_fetch.url)
    )


@main.command("fake-site")
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
    """Serve generated games as a fake stats site (for demos; point WOG_BASE_URL at it)."""
    from wog_assets.demo.fake_site import FakeSite
    from wog_assets.demo.generator import GameOptions, generate_games

    generated = generate_games(
        first_id, games, seed, GameOptions(viewer_bytes=int(viewer_mb * 2**20))
    )
    if export:
        _export(generated, export)
    site = FakeSite(host, port)
    site.publish(*generated)
    click.echo(
        f"fake stats site with {games} games (ids {first_id}..{first_id + games - 1}) at {site.url}"
    )
    click.echo(f"  export WOG_BASE_URL={site.url}")
    with contextlib.suppress(KeyboardInterrupt):
        site.serve_forever()


def _export(generated, directory: str) -> None:  # type: ignore[no-untyped-def]
    from pathlib import Path

    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    for game in generated:
        (out / f"{game.replay_id}.html").write_text(game.page_html, encoding="utf-8")
        (out / f"{game.replay_id}.json").write_bytes(game.replay_json)
    click.echo(f"wrote {len(generated)} games to {out}/<id>.html and <id>.json")


# --- summaries and messages -----------------------------------------------------------------


def _replay_and_url(page_file: str | None, replay_file: str | None, replay_id: int | None):  # type: ignore[no-untyped-def]
    """A replay from files, or from the warehouse by id, with its page URL."""
    if page_file or replay_file:
        replay = _load_replay(page_file, replay_file, replay_id)
        from wog_assets.source.client import SourceSettings

        base = SourceSettings.from_env().base_url.rstrip("/")
        return replay, f"{base}/games/{replay.replay_id}/"
    if replay_id is None:
        raise click.UsageError("give --page and --replay files, or --replay-id")
    from wog_assets.warehouse import load_replay

    loaded = load_replay(_engine(), replay_id)
    if loaded is None:
        raise click.ClickException(
            f"replay {replay_id} is not in the warehouse; load it with 'wog backfill --from {replay_id} --to {replay_id}'"
        )
    return loaded


_replay_options = [
    click.option(
        "--page",
        "page_file",
        type=click.Path(exists=True, dir_okay=False),
        help="Game page HTML file.",
    ),
    click.option(
        "--replay",
        "replay_file",
        type=click.Path(exists=True, dir_okay=False),
        help="Replay JSON file.",
    ),
    click.option(
        "--replay-id", type=int, help="Replay id (read from the warehouse when no files are given)."
    ),
]


def _with_replay_options(fn):  # type: ignore[no-untyped-def]
    for option in reversed(_replay_options):
        fn = option(fn)
    return fn


@main.command("summary")
@_with_replay_options
@click.option("--indent", type=int, default=0, help="Pretty-print with this indent.")
def summary_cmd(
    page_file: str | None, replay_file: str | None, replay_id: int | None, indent: int
) -> None:
    """Print a game's summary as JSON (top killers, notable frags, survivors, vehicles).

    From --page/--replay files, or --replay-id from the warehouse. The shape is documented in
    the README next to `wog parse`.
    """
    import json

    from wog_assets.source.errors import ReplayNotFound, ReplayParseError
    from wog_assets.summary import summarize, summary_contract

    try:
        replay, _ = _replay_and_url(page_file, replay_file, replay_id)
    except (ReplayParseError, ReplayNotFound) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    click.echo(
        json.dumps(summary_contract(summarize(replay)), ensure_ascii=False, indent=indent or None)
    )


@main.command("preview")
@_with_replay_options
@click.option(
    "--out", "out_file", default="preview.html", show_default=True, help="HTML file to write."
)
@click.option(
    "--language",
    type=click.Choice(["ru", "en"]),
    help="Message language (default WOG_LANGUAGE or ru).",
)
def preview_cmd(
    page_file: str | None,
    replay_file: str | None,
    replay_id: int | None,
    out_file: str,
    language: str | None,
) -> None:
    """Write an HTML page showing the Discord message for a game, with its battle chart."""
    from pathlib import Path

    from wog_assets.message.build import build_message, to_payload
    from wog_assets.message.catalogue import Catalogue
    from wog_assets.message.chart import render_chart
    from wog_assets.message.preview import render_preview
    from wog_assets.source.errors import ReplayNotFound, ReplayParseError
    from wog_assets.summary import summarize

    try:
        replay, page_url = _replay_and_url(page_file, replay_file, replay_id)
    except (ReplayParseError, ReplayNotFound) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    catalogue = Catalogue(language)
    message = build_message(summarize(replay), page_url, catalogue=catalogue)
    page = render_preview(
        to_payload(message), render_chart(replay, catalogue), title=f"Replay {replay.replay_id}"
    )
    Path(out_file).write_text(page, encoding="utf-8")
    click.echo(f"wrote {out_file}")


@main.command("announce")
@click.argument("replay_id", type=int)
def announce_cmd(replay_id: int) -> None:
    """Queue REPLAY_ID's Discord message for posting (the bot delivers it).

    Loads the game first if the warehouse does not have it yet. Runs are recorded in Dagster
    with the tag wog/trigger=announce.
    """
    _dagster_env()
    import dagster as dg
    import sqlalchemy as sa

    from dbschema.tables import games
    from wog_assets import settings
    from wog_assets.backfill import QUIET, register_partitions
    from wog_assets.definitions import defs
    from wog_assets.defs.assets import REPLAY_TAG, TRIGGER_TAG

    if not settings.notification_targets():
        raise click.ClickException(
            "no notification targets: set WOG_DISCORD_CHANNEL_IDS or WOG_DISCORD_WEBHOOK_URL"
        )
    with _engine().connect() as conn:
        loaded = conn.execute(
            sa.select(games.c.replay_id).where(games.c.replay_id == replay_id)
        ).first()
    selection = [dg.AssetKey("notifications")] if loaded else None
    with dg.DagsterInstance.get() as instance:
        register_partitions(instance, [replay_id])
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            partition_key=str(replay_id),
            asset_selection=selection,
            tags={TRIGGER_TAG: "announce", REPLAY_TAG: str(replay_id)},
            raise_on_error=False,
            run_config=QUIET,
        )
    if not result.success:
        from wog_assets.backfill import failure_text

        raise click.ClickException(
            f"replay {replay_id} could not be announced: {failure_text(result)}"
        )
    click.echo(
        f"replay {replay_id} queued for {', '.join(settings.notification_targets())} (run {result.run_id})"
    )


# --- bot ----------------------------------------------------------------------------------------


@main.command("bot")
@click.option(
    "--webhook",
    "webhook_url",
    help="Deliver through this Discord webhook URL (no bot user, no gateway).",
)
@click.option(
    "--once", is_flag=True, help="Deliver everything pending, then exit (for cron and tests)."
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def bot_cmd(webhook_url: str | None, once: bool, verbose: bool) -> None:
    """Run the Discord bot: deliver notifications, Twitch alerts, slash commands.

    Gateway mode needs DISCORD_TOKEN and WOG_DISCORD_CHANNEL_IDS. With --webhook (or
    WOG_DISCORD_WEBHOOK_URL and no token) it posts through a webhook only. Every setting is in
    the README and .env.example.
    """
    import asyncio
    import logging
    import os

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if webhook_url:
        os.environ["WOG_DISCORD_WEBHOOK_URL"] = webhook_url
    from wog_bot.settings import BotSettings

    try:
        settings = BotSettings.load()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    from wog_bot import app

    if once:
        handled = asyncio.run(app.run_once(settings))
        click.echo(f"handled {handled} notification(s)")
    elif settings.discord_token and not webhook_url:
        app.run_gateway(settings)
    elif settings.webhook_url:
        asyncio.run(app.run_rest_only(settings))
    else:
        raise click.ClickException("set DISCORD_TOKEN (gateway mode) or pass --webhook URL")


@main.group()
def notifications() -> None:
    """Inspect and retry Discord notifications."""


@notifications.command("list")
@click.option(
    "--status",
    type=click.Choice(["pending", "sending", "sent", "failed", "suppressed"]),
    help="Only rows with this status.",
)
@click.option("--limit", default=50, show_default=True)
def notifications_list(status: str | None, limit: int) -> None:
    """List notifications, newest first."""
    from wog_bot.store import list_notifications

    rows = list_notifications(_engine(), status, limit)
    if not rows:
        click.echo("no notifications")
        return
    click.echo(
        f"{'id':>6} {'replay':>7} {'target':<26} {'status':<10} {'tries':>5}  message / error"
    )
    for r in rows:
        detail = r["last_error"] or (
            str(r["discord_message_id"]) if r["discord_message_id"] else ""
        )
        click.echo(
            f"{r['id']:>6} {r['replay_id']:>7} {r['target']:<26} {r['status']:<10} {r['attempts']:>5}  {detail}"
        )


@notifications.command("retry")
@click.argument("notification_id", type=int)
def notifications_retry(notification_id: int) -> None:
    """Queue a failed (or suppressed) notification for delivery again."""
    from wog_bot.store import retry

    previous = retry(_engine(), notification_id)
    if previous is None:
        raise click.ClickException(f"no notification {notification_id}")
    if previous in ("sent", "sending"):
        raise click.ClickException(f"notification {notification_id} is {previous}; not retried")
    click.echo(f"notification {notification_id}: {previous} -> pending")


# --- pipeline -------------------------------------------------------------------------------


def _dagster_env() -> dict[str, str]:
    """Prepare DAGSTER_HOME and the warehouse, export their settings, return them."""
    import os

    from dbschema.connection import DatabaseUnavailable
    from dbschema.migrate import upgrade
    from wog_assets.instance import prepare_dagster_home

    try:
        env = prepare_dagster_home()
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    os.environ.update(env)
    upgrade(_engine())
    return env


@main.command("backfill")
@click.option("--from", "first", type=int, required=True, help="First replay id.")
@click.option("--to", "last", type=int, required=True, help="Last replay id (inclusive).")
@click.option("--batch", type=int, help="Replays per run (default WOG_BACKFILL_BATCH or 50).")
@click.option(
    "--submit", is_flag=True, help="Hand the backfill to a running Dagster daemon and return."
)
def backfill_cmd(first: int, last: int, batch: int | None, submit: bool) -> None:
    """Load replays FROM..TO into the warehouse, in batched runs recorded in Dagster.

    Never announces anything on Discord. Ids the site does not have are recorded as missing,
    not treated as errors; the min-players filter does not apply. Exits 1 if a batch failed
    (its replays are listed; the rest are loaded and re-running is safe).
    """
    import os

    if last < first:
        raise click.UsageError("--to must not be smaller than --from")
    if batch:
        os.environ["WOG_BACKFILL_BATCH"] = str(batch)
    _dagster_env()
    import dagster as dg

    from wog_assets import settings
    from wog_assets.backfill import (
        missing_ids,
        prune_missing_partitions,
        run_backfill,
        submit_backfill,
    )
    from wog_assets.definitions import defs

    with dg.DagsterInstance.get() as instance:
        if submit:
            backfill_id = submit_backfill(defs, instance, first, last)
            click.echo(
                f"submitted backfill {backfill_id} for replays {first}..{last}; the daemon runs it"
            )
            return
        total = last - first + 1
        with click.progressbar(
            length=total, label=f"replays {first}..{last}", show_pos=True
        ) as bar:
            report = run_backfill(
                defs,
                instance,
                first,
                last,
                batch=settings.backfill_batch_size(),
                on_batch=lambda keys, ok: bar.update(len(keys)),
            )
        missing = missing_ids(_engine(), first, last)
        prune_missing_partitions(instance, _engine(), missing)
    click.echo(f"{len(report.runs)} run(s), tag wog/backfill={report.backfill_id}")
    if missing:
        shown = ", ".join(map(str, missing[:20])) + (" …" if len(missing) > 20 else "")
        click.echo(f"{len(missing)} id(s) not on the site (recorded in replay_misses): {shown}")
    for span, error in report.failed_runs:
        click.echo(f"FAILED {span}: {error}", err=True)
    if report.failed_runs:
        sys.exit(1)


@main.command("dev")
@click.option(
    "--demo",
    is_flag=True,
    help="Use a local fake stats site that publishes a new game every minute.",
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
    site on loopback instead of the real one.
    """
    import os
    import subprocess
    from pathlib import Path

    env = _dagster_env()
    site = None
    if demo:
        site = _start_demo_site(demo_interval)
        os.environ.update(
            {
                "WOG_BASE_URL": site.url,
                "WOG_MIN_REQUEST_INTERVAL": "0.1",
                "WOG_SENSOR_INTERVAL": os.environ.get("WOG_SENSOR_INTERVAL", "20"),
            }
        )
    dagster = Path(sys.executable).with_name("dagster")
    cmd = [str(dagster), "dev", "-m", "wog_assets.definitions", "-h", host, "-p", str(port)]
    click.echo(f"DAGSTER_HOME={env['DAGSTER_HOME']}; UI at http://{host}:{port}")
    proc = subprocess.Popen(cmd, env=os.environ.copy())
    try:
        sys.exit(proc.wait())
    except KeyboardInterrupt:
        proc.terminate()
        proc.wait(timeout=60)
    finally:
        if site:
            site.stop()


def _start_demo_site(interval: float):  # type: ignore[no-untyped-def]
    import threading

    # Continue after the games an earlier demo loaded, so the sensor sees new ids again.
    import sqlalchemy as sa

    from dbschema.tables import raw_game_pages
    from wog_assets.demo.fake_site import FakeSite
    from wog_assets.demo.generator import GameOptions, generate_game, generate_games

    with _engine().connect() as conn:
        newest = conn.execute(sa.select(sa.func.max(raw_game_pages.c.replay_id))).scalar() or 0
    first = max(3400, newest - 11)
    site = FakeSite().start()
    site.publish(*generate_games(first, 12, seed=42))
    click.echo(
        f"demo: fake stats site at {site.url} with games {first}..{first + 11}; "
        f"a new game every {interval:.0f}s"
    )

    def publish_more() -> None:
        next_id = first + 12
        while True:
            threading.Event().wait(interval)
            site.publish(
                generate_game(next_id, seed=42, options=GameOptions(players=120 + next_id % 100))
            )
            click.echo(f"demo: published game {next_id}")
            next_id += 1

    threading.Thread(target=publish_more, daemon=True).start()
    return site


@main.command("healthcheck")
@click.option(
    "--role",
    type=click.Choice(["code", "webserver", "daemon", "bot", "db"]),
    envvar="WOG_ROLE",
    default="db",
    show_default=True,
    help="Which process to check (WOG_ROLE in the container).",
)
def healthcheck_cmd(role: str) -> None:
    """Exit 0 if this container's process is healthy (used by the Docker HEALTHCHECK)."""
    import os
    import subprocess
    import time
    import urllib.request

    if role == "code":
        port = os.environ.get("DAGSTER_CODE_PORT", "4000")
        result = subprocess.run(
            ["dagster", "api", "grpc-health-check", "-p", port], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise click.ClickException(
                f"code server on port {port} is not serving: {result.stdout or result.stderr}"
            )
    elif role == "webserver":
        port = os.environ.get("DAGSTER_WEBSERVER_PORT", "3000")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).read()
        except OSError as exc:
            raise click.ClickException(f"webserver on port {port} does not answer: {exc}") from None
    elif role == "daemon":
        result = subprocess.run(
            ["dagster-daemon", "liveness-check"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise click.ClickException(f"daemon is not alive: {result.stdout or result.stderr}")
    elif role == "bot":
        from wog_bot.delivery import heartbeat_file

        path = heartbeat_file()
        limit = 3 * float(os.environ.get("WOG_POLL_INTERVAL") or 30) + 30
        if not path.exists() or time.time() - path.stat().st_mtime > limit:
            raise click.ClickException(
                f"bot heartbeat {path} is missing or older than {limit:.0f}s"
            )
    else:
        _engine().dispose()
    click.echo(f"{role}: healthy")


if __name__ == "__main__":
    sys.exit(main())
