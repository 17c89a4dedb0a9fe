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


if __name__ == "__main__":
    sys.exit(main())
