"""The ``wog`` command line: every command documents itself."""

from __future__ import annotations

import click
from click.testing import CliRunner

from wog_cli import main


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


def _write_game(tmp_path, replay_id: int = 3413):  # type: ignore[no-untyped-def]
    from wog_fakes.generator import generate_game

    game = generate_game(replay_id, seed=11)
    page = tmp_path / f"{replay_id}.html"
    replay = tmp_path / f"{replay_id}.json"
    page.write_text(game.page_html, encoding="utf-8")
    replay.write_bytes(game.replay_json)
    return game, page, replay


def test_parse_prints_the_contract_json(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import json

    game, page, replay = _write_game(tmp_path)
    result = CliRunner().invoke(main, ["parse", "--page", str(page), "--replay", str(replay)])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["replay_id"] == 3413
    assert doc["game"]["mission_name"] == game.replay.game.mission_name
    assert len(doc["frags"]) == len(game.replay.frags)
    assert [p["player_id"] for p in doc["players"]] == sorted(
        p.player_id for p in game.replay.players
    )


def test_parse_exits_2_with_one_line_for_a_missing_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    _, page, replay = _write_game(tmp_path)
    page.write_text(page.read_text(encoding="utf-8").replace("Остров", "Карта"), encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", "--page", str(page), "--replay", str(replay)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: replay 3413, {page}: row 'Остров' not found"
    assert result.stdout == ""


def test_parse_exits_2_for_the_sites_error_page(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from wog_fakes.generator import ERROR_PAGE_HTML

    _, page, replay = _write_game(tmp_path)
    page.write_text(ERROR_PAGE_HTML, encoding="utf-8")
    result = CliRunner().invoke(main, ["parse", "--page", str(page), "--replay", str(replay)])
    assert result.exit_code == 2
    assert "error page" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_parse_by_id_fetches_from_the_site(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import json

    from wog_fakes.fake_site import FakeSite
    from wog_fakes.generator import generate_game

    game = generate_game(3420, seed=1)
    with FakeSite() as site:
        site.publish(game)
        monkeypatch.setenv("WOG_BASE_URL", site.url)
        monkeypatch.setenv("WOG_MIN_REQUEST_INTERVAL", "0")
        result = CliRunner().invoke(main, ["parse", "--replay-id", "3420"])
        missing = CliRunner().invoke(main, ["parse", "--replay-id", "9999"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["game"]["island"] == game.replay.game.island
    assert missing.exit_code == 2
    assert "404" in missing.stderr


def test_every_command_shows_an_example() -> None:
    runner = CliRunner()
    for path in _all_commands(main):
        result = runner.invoke(main, [*path, "--help"])
        assert "Example:" in result.output and " wog " in result.output.split("Example:")[1], path


def test_summary_takes_the_replay_id_as_an_argument_and_says_when_the_site_lacks_it(
    engine,  # type: ignore[no-untyped-def]
) -> None:
    import sqlalchemy as sa

    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO replay_misses (replay_id, what, url, reason) "
            "VALUES (5, 'game_page', 'http://x/games/5/', 'HTTP 404')"))  # fmt: skip
    result = CliRunner().invoke(main, ["summary", "5"])
    assert result.exit_code == 1
    assert "replay 5 is not on the site (its game page was missing on" in result.output
    assert "HTTP 404" in result.output and "wog backfill" not in result.output
    other = CliRunner().invoke(main, ["summary", "6", "--replay-id", "7"])
    assert other.exit_code == 2 and "give the id once" in other.output


def test_version_names_the_release_and_the_python() -> None:
    import platform

    from click.testing import CliRunner

    result = CliRunner().invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"wog 0.1.0 (Python {platform.python_version()})\n"
