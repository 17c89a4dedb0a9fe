"""The ``wog`` command line: one entry point for every part of the platform.

Each subcommand imports its subsystem lazily, so ``wog --help`` and ``wog db …`` start fast
and never load Dagster or hikari unless they need them.
"""

from __future__ import annotations

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


if __name__ == "__main__":
    sys.exit(main())
