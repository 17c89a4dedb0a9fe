"""The ``wog`` command line: one entry point for every part of the platform.

One module per area — :mod:`~wog_cli.database`, :mod:`~wog_cli.replay`,
:mod:`~wog_cli.pipeline`, :mod:`~wog_cli.bot`, :mod:`~wog_cli.operations`
— each a few thin commands over library functions. Commands import their subsystem lazily, so
``wog --help`` and ``wog db …`` start fast and never load Dagster or hikari unless they need them.

Every failure a user can meet is one line on stderr (exit 1) naming what and where — the
database down, a bad setting, an unreadable file; ``wog -v …`` shows the traceback instead.
Secrets never appear: log records and error lines are redacted (:mod:`wog_core.logs`).
"""

from __future__ import annotations

import sys

import click

from wog_cli import bot, database, doctor, operations, pipeline, replay, stats


class _Wog(click.Group):
    """The ``wog`` group: turns any error into one redacted line unless ``-v`` was given."""

    def invoke(self, ctx: click.Context) -> object:
        from wog_core.logs import install_log_redaction
        from wog_core.settings import SettingsError, current

        try:
            install_log_redaction(current().secrets)
        except SettingsError:
            install_log_redaction()  # the command reports the bad setting itself
        from wog_core.logs import VERBOSE

        VERBOSE.set(bool(ctx.params.get("verbose")))
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:
            if ctx.params.get("verbose"):
                raise
            raise click.ClickException(one_line(exc)) from None


def one_line(exc: BaseException) -> str:
    """One redacted line for an unexpected error: its type and the first line of its message."""
    from dbschema.connection import DatabaseUnavailable
    from wog_core.ids import BadId
    from wog_core.logs import redact_text
    from wog_core.settings import SettingsError

    one_line_already = SettingsError | DatabaseUnavailable | BadId  # what and where, in one line
    if isinstance(exc, one_line_already):
        return redact_text(str(exc))
    cause = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    text = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return redact_text(f"{type(cause).__name__}: {text} (run 'wog -v …' for the traceback)")


@click.group(cls=_Wog, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    package_name="wog-platform",
    prog_name="wog",
    message="%(prog)s %(version)s (Python " + sys.version.split()[0] + ")",
)
@click.option("-v", "--verbose", is_flag=True, help="Show tracebacks of unexpected errors.")
def main(verbose: bool) -> None:
    """WOG Arma 3 replay platform: warehouse, Dagster pipeline and Discord bot."""


for _area in (database, replay, pipeline, bot, operations, doctor, stats):
    for _command in _area.COMMANDS:
        main.add_command(_command)
