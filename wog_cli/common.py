"""What every area of the command line shares: settings, the database, Dagster's environment."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from wog_core.settings import Settings


def settings() -> Settings:
    """The process's settings; a bad value is one line naming the variable."""
    from wog_core.settings import SettingsError, current

    try:
        return current()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from None


def engine(wait_s: float = 0.0) -> Engine:
    """An engine on the warehouse (WOG_DATABASE_URL, or the embedded Postgres).

    ``wait_s``: how long to wait for a server that is still starting.
    """
    from dbschema.connection import DatabaseUnavailable, create_engine

    try:
        return create_engine(
            warehouse_url(), wait_s=wait_s, say=lambda line: click.echo(line, err=True)
        )
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def warehouse_url() -> str:
    """The effective warehouse URL: WOG_DATABASE_URL, or the embedded Postgres (started)."""
    from dbschema.connection import DatabaseUnavailable, database_url

    current = settings()
    try:
        return database_url(current.database_url, current.data_dir)
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None


def dagster_environment() -> dict[str, str]:
    """Prepare DAGSTER_HOME and migrate the warehouse; returns the environment Dagster needs.

    The values are also exported into this process (for in-process runs), through the one
    function of the settings that may do so.
    """
    from dbschema.connection import DatabaseUnavailable
    from dbschema.migrate import upgrade
    from wog_assets.instance import prepare_dagster_home
    from wog_core.settings import export_dagster_environment

    current = settings()
    try:
        env = prepare_dagster_home(current)
    except DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    export_dagster_environment(env)
    upgrade(engine())
    return env
