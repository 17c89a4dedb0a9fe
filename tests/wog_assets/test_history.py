"""The generated history (``wog demo-history``): realistic shape, written set-wise, statistics
current when it returns, and never mixed into a warehouse that has games by accident."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from wog_fakes.history import build_history


def _one(engine: sa.Engine, sql: str) -> tuple:
    with engine.connect() as conn:
        return tuple(conn.execute(sa.text(sql)).one())


def test_a_generated_history_looks_like_the_site_and_its_statistics_are_current(
    engine: sa.Engine,
) -> None:
    end = dt.datetime(2026, 11, 28, 20, 0)
    history = build_history(engine, 60, end=end, min_games=5)
    assert (history.first_id, history.last_id) == (1, 60)
    assert history.last_day == dt.date(2026, 11, 28) and history.first_day == dt.date(2026, 11, 8)
    assert history.players == 60 * 150 and history.frags == 60 * 200
    games, sides, commanders, winners = _one(
        engine,
        "SELECT count(*), min(least(players_east, players_west)), "
        "count(*) FILTER (WHERE commander_east_id IS NOT NULL AND commander_west_id IS NOT NULL), "
        "count(winner) FROM games",
    )
    assert games == 60 and sides == 75 and commanders == 60 and 40 <= winners < 60
    unknown, suicides, teamkills, vehicle = _one(
        engine,
        "SELECT avg((killer_id IS NULL)::int), avg((killer_id = victim_id)::int), "
        "avg((is_teamkill AND killer_id <> victim_id)::int), "
        "avg((killer_vehicle IS NOT NULL)::int) FROM frags",
    )
    assert 0.03 < unknown < 0.07 and 0.01 < suicides < 0.03 and 0.02 < teamkills < 0.04
    assert 0.04 < vehicle < 0.12
    # Regulars: the busiest tenth of players play far more games than the median player.
    busiest, median = _one(
        engine,
        "SELECT percentile_disc(0.9) WITHIN GROUP (ORDER BY games), "
        "percentile_disc(0.5) WITHIN GROUP (ORDER BY games) FROM player_careers",
    )
    assert busiest >= 2 * median
    # Statistics current: careers sum the per-game rows; every period has its tables.
    assert _one(engine, "SELECT sum(games), sum(kills) FROM player_careers") == _one(
        engine, "SELECT count(*), sum(kills) FROM player_game_stats"
    )
    assert _one(engine, "SELECT count(*) FROM stats_stale") == (0,)
    periods = _one(engine, "SELECT count(DISTINCT period) FROM nominations")
    assert periods == (4 + 1,)  # weeks 45 (Sunday the 8th) to 48, and November


def test_the_command_refuses_a_warehouse_with_games_unless_appending(
    engine: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wog_cli import main

    first = CliRunner().invoke(main, ["demo-history", "--games", "5", "--players", "20"])
    assert first.exit_code == 0, first.output
    assert "5 games 1..5" in first.output and "statistics current" in first.output
    again = CliRunner().invoke(main, ["demo-history", "--games", "5"])
    assert again.exit_code == 1
    assert "the warehouse already has 5 games; give --append" in again.output
    more = CliRunner().invoke(main, ["demo-history", "--games", "3", "--append"])
    assert more.exit_code == 0 and "3 games 6..8" in more.output
