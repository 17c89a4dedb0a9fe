"""Ids and text are checked where they enter: the command line, slash commands and sources.

Superscript digits, signs, huge numbers and NULs get a one-line message naming the bad value
instead of reaching int() or Postgres; and a rejected id leaves no Dagster partition behind.
"""

from __future__ import annotations

import os

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from tests.conftest import run_wog
from wog_bot.commands import build_reply
from wog_cli import main
from wog_core.ids import MAX_ID, BadId, is_id, parse_id
from wog_fakes.generator import generate_game
from wog_report.catalogue import Catalogue
from wog_sources.parse import parse_games_list
from wog_warehouse.replays import refresh_player_directory, write_replay
from wog_warehouse.stats import refresh_careers, refresh_game_stats

EN = Catalogue("en")


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ("²", "'²': not a whole number in the digits 0-9"),
        ("٣", "not a whole number"),  # an Arabic-Indic digit, which int() accepts
        ("-5", "'-5': not a whole number"),
        ("+5", "not a whole number"),
        ("1_000", "not a whole number"),
        ("0", "0: out of range (1 to 9,007,199,254,740,991)"),
        ("1180591620717411303424", "1180591620717411303424: out of range"),
        ("", "not a whole number"),
    ],
)
def test_bad_ids_are_named_with_what_was_wrong(given: str, words: str) -> None:
    with pytest.raises(BadId, match="replay id") as info:
        parse_id(given)
    assert words in str(info.value)
    assert not is_id(given)


def test_good_ids_pass() -> None:
    assert parse_id(" 3413 ") == 3413
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert is_id("1")


@pytest.mark.parametrize(
    "args",
    [
        ["summary", "1180591620717411303424"],
        ["parse", "--replay-id", "-5"],
        ["announce", "²"],
        ["backfill", "--from", "0", "--to", "3"],
        ["backfill", "--from", "3", "--to", "99999999999999999999"],
    ],
)
def test_the_command_line_refuses_a_bad_id_in_one_line_before_doing_anything(
    args: list[str],
) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and "replay id" in error[0], result.output
    assert "Traceback" not in result.output and "ValueError" not in result.output


def _load(engine: sa.Engine) -> None:
    game = generate_game(3413, seed=8)
    write_replay(engine, game.replay, "https://stats.example/games/3413/")
    refresh_player_directory(engine, [3413])
    refresh_game_stats(engine, [3413])
    refresh_careers(engine, min_games=1)


def test_slash_commands_refuse_huge_ids_and_strip_nul(engine: sa.Engine) -> None:
    _load(engine)
    huge = build_reply("replay", {"id": 2**63}, engine, EN)
    assert huge.ephemeral and huge.content == (
        f"A game number is a whole number from 1 to {MAX_ID}."
    )
    for name in ("a\x00b", "²", "\x00"):
        for command in ("player", "rivals"):
            reply = build_reply(command, {"name": name}, engine, EN)
            assert reply.ephemeral, (command, name)
            assert reply.content and "\x00" not in reply.content


def test_wog_stats_player_with_a_superscript_is_an_unknown_player(
    engine: sa.Engine, db_url: str
) -> None:
    _load(engine)
    env = {**os.environ, "WOG_DATABASE_URL": db_url}
    result = run_wog("stats", "player", "²", env=env, timeout=120)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == ["error: no player called '²'"]


def test_the_games_list_takes_ascii_ids_in_range_only() -> None:
    html = (
        '<a href="/games/3413/">a</a> 10 / 20'
        '<a href="/games/٣٤/">b</a> 10 / 20'
        '<a href="/games/99999999999999999999/">c</a> 10 / 20'
    )
    assert [g.replay_id for g in parse_games_list(html)] == [3413]
