"""``wog db …``: the warehouse database."""

from __future__ import annotations

import click

from wog_cli.common import engine


@click.group()
def db() -> None:
    """Manage the warehouse database (WOG_DATABASE_URL, or the embedded Postgres).

    Example: wog db upgrade
    """


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True, help="Target revision.")
@click.option(
    "--wait",
    "wait_s",
    type=click.FloatRange(min=0),
    default=0,
    show_default=True,
    help="Seconds to wait for a database that is still starting (compose starts).",
)
def db_upgrade(revision: str, wait_s: float) -> None:
    """Apply migrations (idempotent: safe to run at every start).

    Example: wog db upgrade --wait 60
    """
    from dbschema.connection import redact_url
    from dbschema.migrate import current_revision, upgrade

    warehouse = engine(wait_s)
    upgrade(warehouse, revision)
    click.echo(f"{redact_url(warehouse.url)}: at revision {current_revision(warehouse)}")


@db.command("downgrade")
@click.argument("revision")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(revision: str, yes: bool) -> None:
    """Migrate down to REVISION ('base' drops every warehouse table).

    Example: wog db downgrade 0003 --yes
    """
    from dbschema.migrate import current_revision, downgrade

    if not yes:
        click.confirm(f"Downgrade the warehouse to {revision}? Data may be lost", abort=True)
    warehouse = engine()
    downgrade(warehouse, revision)
    click.echo(f"at revision {current_revision(warehouse)}")


@db.command("current")
def db_current() -> None:
    """Show the warehouse's migration revision and the newest one available.

    Example: wog db current
    """
    from dbschema.migrate import current_revision, head_revision

    current = current_revision(engine())
    head = head_revision()
    state = "up to date" if current == head else "run 'wog db upgrade'"
    click.echo(f"current: {current or '(empty database)'}\nhead:    {head} ({state})")


@db.command("url")
def db_url() -> None:
    """Print the effective database URL with any password redacted.

    Example: wog db url
    """
    from dbschema.connection import DatabaseUnavailable, database_url, redact_url

    try:
        click.echo(redact_url(database_url()))
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres (no effect when WOG_DATABASE_URL is set).

    Example: wog db stop
    """
    from dbschema.connection import stop_embedded_server

    click.echo("stopped" if stop_embedded_server() else "the embedded Postgres was not running")


COMMANDS = [db]
