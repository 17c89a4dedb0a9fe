"""``wog healthcheck``: what the deployment's containers run to report their health."""

from __future__ import annotations

import click

from wog_cli.common import settings
from wog_cli.health import ROLES


@click.command("healthcheck")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    help="Which process to check (default WOG_ROLE, as set per container, else db).",
)
def healthcheck_cmd(role: str | None) -> None:
    """Exit 0 if this container's process is healthy (used by the Docker HEALTHCHECK).

    Example: wog healthcheck --role bot
    """
    from wog_cli.health import Unhealthy, check_health

    current = settings()
    role = role or current.role
    if role not in ROLES:
        raise click.ClickException(f"WOG_ROLE must be one of {', '.join(ROLES)}, got {role!r}")
    try:
        check_health(role, current)
    except Unhealthy as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{role}: healthy")


COMMANDS = [healthcheck_cmd]
