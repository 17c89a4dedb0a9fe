"""The ``wog`` command line: every command documents itself."""

from __future__ import annotations

import click
from click.testing import CliRunner

from wog_assets.cli import main


def _all_commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = []
    for name, cmd in group.commands.items():
        path = (*prefix, name)
        found.append(path)
        if isinstance(cmd, click.Group):
            found += _all_commands(cmd, path)
    return found


def test_every_subcommand_has_help() -> None:
    runner = CliRunner()
    commands = _all_commands(main)
    assert ("db", "upgrade") in commands
    for path in commands:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "Usage: main " in result.output or "Usage: " in result.output
        help_text = main.get_command(click.Context(main), path[0])
        assert help_text is not None


def test_top_level_help_lists_the_commands() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    assert "db" in result.output
