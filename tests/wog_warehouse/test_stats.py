"""Career statistics on a small history computed by hand (see the comments for every number).

Players: 1 Alpha, 2 Bravo, 5 Echo (WEST); 3 Charlie, 4 Delta (EAST; Delta is WEST in game 103).

- 101 (Mon 2026-03-02, week 10), WEST wins, commanders WEST 1 / EAST 3:
  1 kills 3 (AK, 100 m) and 4 (SVD, 300 m); 2 teamkills 1 (M4). Bravo survives.
- 102 (Thu 2026-03-05, week 10), EAST wins, commanders WEST 2 / EAST 3:
  3 kills 1 (PKM, 50 m) and 2 (PKM, 60 m); 4 kills himself with a grenade (flagged teamkill by
  the site: still a suicide); Echo dies to an unknown killer. Charlie survives.
- 103 (2026-04-10, week 15), no winner, commander WEST 1:
  1 kills 3 (AK, 400 m); 3 kills 4 (AK, 10 m). Alpha survives.

Community: 6 kills over 12 player-games, μ = 0.5; score = (kills + 10 × 0.5) / (games + 10).
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from wog_core.clock import period_bounds
from wog_core.models import Commander, Frag, Game, Player, Replay
from wog_warehouse.replays import refresh_player_directory, write_replay
from wog_warehouse.stats import (
    SCORE_PRIOR_GAMES,
    all_periods,
    refresh_careers,
    refresh_game_stats,
    refresh_leaderboards,
    stale_periods,
)
from wog_warehouse.stats_read import career, find_player, nominations_of, rivals_of, top

NAMES = {1: "Alpha", 2: "Bravo", 3: "Charlie", 4: "Delta", 5: "Echo"}


def _game(rid: int, day: dt.date, winner: str | None, commanders: dict[str, int],
          sides: dict[int, str], frags: list[tuple]) -> Replay:  # fmt: skip
    start = dt.datetime.combine(day, dt.time(20, 0))
    players = [Player(pid, side, NAMES[pid], None, None) for pid, side in sides.items()]
    return Replay(
        replay_id=rid,
        game=Game(
            mission_name=f"m{rid}", mission_id=rid, island="altis", date=day, started_at=start,
            ended_at=start + dt.timedelta(hours=1), duration_s=3600, winner=winner,
            players_active=len(players), slots=len(players),
            side_players={s: list(sides.values()).count(s) for s in set(sides.values())},
            commanders={s: Commander(pid, NAMES[pid]) for s, pid in commanders.items()},
        ),
        players=players,
        vehicles=[],
        frags=[
            Frag(seq, 60 * seq, victim, None, killer, None, weapon, dist, tk)
            for seq, (killer, victim, weapon, dist, tk) in enumerate(frags, 1)
        ],
    )  # fmt: skip


HISTORY = [
    _game(101, dt.date(2026, 3, 2), "WEST", {"WEST": 1, "EAST": 3},
          {1: "WEST", 2: "WEST", 3: "EAST", 4: "EAST"},
          [(1, 3, "AK", 100.0, False), (1, 4, "SVD", 300.0, False), (2, 1, "M4", 20.0, True)]),
    _game(102, dt.date(2026, 3, 5), "EAST", {"WEST": 2, "EAST": 3},
          {1: "WEST", 2: "WEST", 5: "WEST", 3: "EAST", 4: "EAST"},
          [(3, 1, "PKM", 50.0, False), (3, 2, "PKM", 60.0, False), (4, 4, "Grenade", 0.0, True),
           (None, 5, None, None, False)]),
    _game(103, dt.date(2026, 4, 10), None, {"WEST": 1},
          {1: "WEST", 3: "EAST", 4: "WEST"},
          [(1, 3, "AK", 400.0, False), (3, 4, "AK", 10.0, False)]),
]  # fmt: skip


@pytest.fixture
def history(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    monkeypatch.setenv("WOG_STATS_MIN_GAMES", "2")
    for replay in HISTORY:
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
    refresh_player_directory(engine, [r.replay_id for r in HISTORY])
    refresh_game_stats(engine, [r.replay_id for r in HISTORY])
    refresh_careers(engine, min_games=2)
    refresh_leaderboards(engine, stale_periods(engine), min_games=2)
    return engine


def test_careers_match_the_hand_computed_values(history: sa.Engine) -> None:
    alpha = career(history, 1)
    assert alpha == {
        "player_id": 1, "nickname": "Alpha", "games": 3, "kills": 3, "deaths": 2,
        "teamkills": 0, "suicides": 0, "survived": 1, "kd": 1.5, "vitality": pytest.approx(1 / 3),
        "score": pytest.approx(8 / 13), "longest_kill_m": 400.0, "favourite_weapon": "AK",
        "commander_games": 2, "commander_wins": 1,
    }  # fmt: skip
    bravo = career(history, 2)
    assert (bravo["kills"], bravo["teamkills"], bravo["deaths"], bravo["survived"]) == (0, 1, 1, 1)
    assert (bravo["kd"], bravo["commander_games"], bravo["commander_wins"]) == (0.0, 1, 0)
    charlie = career(history, 3)
    assert (charlie["kills"], charlie["deaths"], charlie["favourite_weapon"]) == (3, 2, "PKM")
    assert (charlie["commander_games"], charlie["commander_wins"]) == (2, 1)
    delta = career(history, 4)  # the grenade is a suicide, not a teamkill, whatever the flag
    assert (delta["deaths"], delta["suicides"], delta["teamkills"], delta["kills"]) == (3, 1, 0, 0)
    assert delta["vitality"] == 0.0 and delta["score"] == pytest.approx(5 / 13)
    echo = career(history, 5)  # an unknown killer still counts as a death
    assert (echo["games"], echo["deaths"], echo["score"]) == (1, 1, pytest.approx(5 / 11))
    assert SCORE_PRIOR_GAMES == 10


def test_leaderboards_rank_densely_and_leave_out_the_unranked(history: sa.Engine) -> None:
    def board(metric: str, period: str | None = None) -> list[tuple]:
        return [(r.rank, r.player_id, round(r.value, 4))
                for r in top(history, metric=metric, period=period)]  # fmt: skip

    assert board("score") == [(1, 1, 0.6154), (1, 3, 0.6154), (2, 2, 0.4167), (3, 4, 0.3846)]
    assert board("kills") == [(1, 1, 3), (1, 3, 3), (2, 2, 0), (2, 4, 0)]
    assert board("deaths") == [(1, 4, 3), (2, 1, 2), (2, 3, 2), (3, 2, 1)]
    assert board("teamkills") == [(1, 2, 1), (2, 1, 0), (2, 3, 0), (2, 4, 0)]
    assert board("vitality") == [(1, 2, 0.5), (2, 1, 0.3333), (2, 3, 0.3333), (3, 4, 0)]
    assert board("kills", "2026-W10") == [(1, 1, 2), (1, 3, 2), (2, 2, 0), (2, 4, 0)]
    assert board("kills", "2026-04") == []  # nobody has two games in April
    # Week 10 (games 101, 102): 4 kills over 9 player-games, μ = 4/9; Echo has one game.
    mu = 4 / 9
    s1, s2 = (2 + 10 * mu) / 12, (0 + 10 * mu) / 12
    assert board("score", "2026-W10") == [
        (1, 1, round(s1, 4)), (1, 3, round(s1, 4)), (2, 2, round(s2, 4)), (2, 4, round(s2, 4))
    ]  # fmt: skip
    assert board("deaths", "2026-W10") == [(1, 1, 2), (1, 4, 2), (2, 2, 1), (2, 3, 1)]
    assert board("teamkills", "2026-W10") == [(1, 2, 1), (2, 1, 0), (2, 3, 0), (2, 4, 0)]
    assert board("vitality", "2026-W10") == [(1, 2, 0.5), (1, 3, 0.5), (2, 1, 0), (2, 4, 0)]
    # Longest kills of ranked players (the sharpshooter nomination takes anyone's); commanders
    # list everyone who commanded, by wins (games = games commanded).
    assert board("longest_kill", "2026-W10") == [(1, 1, 300), (2, 3, 60)]
    assert board("longest_kill", "2026-04") == []
    assert [(r.rank, r.player_id, r.value, r.games)
            for r in top(history, metric="commanders", period="2026-W10")] == [
        (1, 1, 1, 1), (1, 3, 1, 2), (2, 2, 0, 1)]  # fmt: skip
    assert board("commanders", "2026-04") == [(1, 1, 0)]  # commanded a game with no winner
    assert board("kills", "2026-03") == board("kills", "2026-W10")  # the same two games
    assert board("longest_kill") == [(1, 1, 400), (2, 3, 60)]  # careers
    assert board("commanders") == [(1, 1, 1), (1, 3, 1), (2, 2, 0)]
    assert period_bounds("2026-W10") == (dt.date(2026, 3, 2), dt.date(2026, 3, 9))
    assert period_bounds("2026-12") == (dt.date(2026, 12, 1), dt.date(2027, 1, 1))
    with pytest.raises(ValueError, match="ISO week"):
        period_bounds("March")


def test_rivals(history: sa.Engine) -> None:
    assert rivals_of(history, 1) == {
        "nemesis": {"player_id": 3, "nickname": "Charlie", "kills": 1},  # Bravo's TK not counted
        "favourite_victim": {"player_id": 3, "nickname": "Charlie", "kills": 2},
    }
    assert rivals_of(history, 2)["favourite_victim"] is None  # his only kill was a teamkill
    assert rivals_of(history, 3)["favourite_victim"]["player_id"] == 1  # a tie: lowest id
    assert rivals_of(history, 4)["nemesis"]["player_id"] == 1  # killed by 1 and 3 once each
    assert rivals_of(history, 5) == {"nemesis": None, "favourite_victim": None}


def test_cli_answers_in_the_documented_json(history: sa.Engine) -> None:
    from wog_cli import main

    runner = CliRunner()
    player = runner.invoke(main, ["stats", "player", "alpha", "--json"])
    assert player.exit_code == 0, player.output
    assert json.loads(player.stdout)["kills"] == 3
    board = runner.invoke(
        main, ["stats", "top", "--metric", "kills", "--period", "2026-W10", "--json"]
    )
    assert json.loads(board.stdout)[0] == {
        "rank": 1,
        "player_id": 1,
        "nickname": "Alpha",
        "value": 2.0,
    }
    rivals = runner.invoke(main, ["stats", "rivals", "5", "--json"])
    assert json.loads(rivals.stdout) == {"nemesis": None, "favourite_victim": None}
    unknown = runner.invoke(main, ["stats", "player", "Zulu"])
    assert unknown.exit_code == 2 and "no player called 'Zulu'" in unknown.stderr
    bad = runner.invoke(main, ["stats", "top", "--period", "March"])
    assert bad.exit_code == 2 and "ISO week" in bad.output
    assert find_player(history, "CHARLIE") == 3


def test_a_full_refresh_rebuilds_the_same_careers_and_vacuums_what_it_rewrote(
    history: sa.Engine,
) -> None:
    from wog_cli import main

    def careers() -> list[tuple]:
        with history.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(sa.text("SELECT * FROM player_careers")))

    before = careers()
    result = CliRunner().invoke(main, ["stats", "refresh"])
    assert result.exit_code == 0, result.output
    # 4 + 5 + 3 player-games; 5 careers; weeks 10 and 15, March and April.
    assert result.stdout.startswith("12 player-game rows; 5 careers; 4 periods")
    assert careers() == before
    with history.connect() as conn:
        vacuumed = set(
            conn.execute(
                sa.text("SELECT relname FROM pg_stat_user_tables WHERE last_vacuum IS NOT NULL")
            ).scalars()
        )
    assert {"player_game_stats", "player_side_totals", "player_careers"} <= vacuumed


def test_an_empty_table_says_why(history: sa.Engine) -> None:
    from wog_cli import main

    def top(*args: str) -> tuple[str, str]:
        result = CliRunner().invoke(main, ["stats", "top", *args])
        assert result.exit_code == 0, result.output
        return result.stdout, result.stderr

    assert top("--period", "2030-01") == (
        "",
        "no players to rank: no wog games in 2030-01 in the statistics "
        "(load some with 'wog backfill')\n",
    )
    out, err = top("--source", "nowhere", "--json")
    assert json.loads(out) == []  # --json still prints the (empty) list
    assert err.startswith("no players to rank: no nowhere games yet")
    from wog_warehouse.stats_read import why_empty

    assert why_empty(history, metric="score", period="2026-W10", source="wog", min_games=50) == (
        "nobody has played 50 games in 2026-W10 (WOG_STATS_MIN_GAMES=50); 2 game(s) counted"
    )


def test_nominations_match_the_hand_computed_winners(history: sa.Engine) -> None:
    def won(period: str) -> dict[str, tuple]:
        return {n.award: (n.player_id, round(n.value, 4), n.replay_id)
                for n in nominations_of(history, period)}  # fmt: skip

    week = won("2026-W10")
    assert week == {
        "mvp": (1, round((2 + 40 / 9) / 12, 4), None),  # tied with Charlie: lower id
        "sharpshooter": (1, 300.0, 101),
        "survivor": (2, 0.5, None),  # tied with Charlie (both 2 games): lower id
        "one_man_army": (1, 2.0, 101),  # Charlie's 2 in game 102 came later
        "friendly_fire": (2, 1.0, None),
        "iron_commander": (1, 1.0, None),  # 1 win in 1 game beats Charlie's 1 in 2
        "newcomer": (1, 2.0, None),  # everyone debuts in week 10; tie with Charlie: lower id
    }
    assert won("2026-03") == week
    # April: nobody has two games (no mvp, no survivor), nobody debuts, the only commander
    # commanded a game without a winner.
    assert won("2026-04") == {"sharpshooter": (1, 400.0, 103), "one_man_army": (1, 1.0, 103)}
    assert won("2026-W15") == won("2026-04")


def test_refreshing_what_changed_equals_a_full_rebuild(engine: sa.Engine) -> None:
    """Games land one at a time (the pipeline's way), one moves to another week on a re-parse;
    the stale-driven refresh ends where a full rebuild does."""

    def snapshot() -> dict[str, list]:
        tables = ("player_careers", "player_side_totals", "player_weapon_kills", "leaderboards",
                  "nominations")  # fmt: skip
        with engine.connect() as conn:
            return {
                t: sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}")))
                for t in tables
            }

    for replay in HISTORY:
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
        refresh_player_directory(engine, [replay.replay_id])
        refresh_game_stats(engine, [replay.replay_id])
        refresh_careers(engine, min_games=2)
        refresh_leaderboards(engine, stale_periods(engine), min_games=2)
        assert stale_periods(engine) == []
    # Game 103 re-parsed with another date, Delta on the other side and Alpha's 400 m AK kill
    # now a 150 m SVD kill: its old week and month must be redone too, and its old rows must
    # leave the career sums (Alpha's record 400 m is gone, not kept as a maximum) — in the same
    # batch as a new game, 104, whose rows are added.
    reparsed = _game(103, dt.date(2026, 3, 3), None, {"WEST": 1},
                     {1: "WEST", 3: "EAST", 4: "EAST"},
                     [(1, 3, "SVD", 150.0, False), (3, 4, "AK", 10.0, False)])  # fmt: skip
    new = _game(104, dt.date(2026, 3, 4), "EAST", {"EAST": 3}, {2: "WEST", 3: "EAST"},
                [(3, 2, "PKM", 80.0, False)])  # fmt: skip
    for replay in (reparsed, new):
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
    refresh_player_directory(engine, [104])
    refresh_game_stats(engine, [103, 104])
    assert set(stale_periods(engine)) == {"2026-W10", "2026-03", "2026-W15", "2026-04"}
    refresh_careers(engine, min_games=2)
    refresh_leaderboards(engine, stale_periods(engine), min_games=2)
    incremental = snapshot()
    alpha, delta, charlie = career(engine, 1), career(engine, 4), career(engine, 3)
    assert alpha is not None and delta is not None and charlie is not None
    assert (alpha["longest_kill_m"], alpha["favourite_weapon"]) == (300.0, "SVD")
    with engine.connect() as conn:  # Delta: EAST, EAST, now EAST in 103 too
        side = conn.scalar(sa.text("SELECT favourite_side FROM player_careers WHERE player_id = 4"))
    assert (delta["games"], side) == (3, "EAST")
    assert (charlie["games"], charlie["kills"], charlie["favourite_weapon"]) == (4, 4, "PKM")
    assert nominations_of(engine, "2026-04") == []
    assert all_periods(engine) == ["2026-03", "2026-W10"]
    refresh_game_stats(engine, None)
    refresh_careers(engine, min_games=2, full=True)
    refresh_leaderboards(engine, all_periods(engine), min_games=2)
    assert snapshot() == incremental


def test_games_landing_at_once_add_up_to_a_full_rebuild(engine: sa.Engine) -> None:
    """Two runs writing different games of the same players at the same moment (their sums'
    rows are shared): every game is counted once, and both runs finish."""
    from concurrent.futures import ThreadPoolExecutor

    from wog_fakes.history import build_history

    history = build_history(engine, 40, pool=60, players_per_game=30, refresh=False)
    ids = list(range(history.first_id, history.first_id + 40))
    refresh_player_directory(engine, ids)

    def land(half: list[int]) -> None:
        for replay_id in half:
            refresh_game_stats(engine, [replay_id])

    with ThreadPoolExecutor(2) as pool:
        list(pool.map(land, [ids[0::2], ids[1::2]]))  # re-raises a deadlock, if any

    def sums() -> dict[str, list]:
        with engine.connect() as conn:
            return {
                t: sorted(tuple(r) for r in conn.execute(sa.text(f"SELECT * FROM {t}")))
                for t in ("player_side_totals", "player_weapon_kills")
            }

    landed = sums()
    with engine.connect() as conn:
        listed = conn.scalar(sa.text("SELECT count(*) FROM players"))
    assert listed > 1000
    assert sum(row[3] for row in landed["player_side_totals"]) == listed  # games, by side
    refresh_game_stats(engine, None)
    assert sums() == landed


def test_new_games_past_the_planners_statistics_are_never_nested(engine: sa.Engine) -> None:
    """Game ids only grow, so new games lie past what the last ANALYZE saw and the planner
    expects one row each; nesting the kills and deaths aggregates in the players loop then
    made 50 new games take 100 s. Their statistics are hashed, and still equal a rebuild."""
    from wog_fakes.generator import generate_games
    from wog_warehouse.stats import _game_stats_sql, _insert_game_stats

    def load(first: int, count: int, seed: int) -> list[int]:
        games = generate_games(first, count, seed=seed)
        for game in games:
            write_replay(engine, game.replay, f"https://x/games/{game.replay_id}/")
        ids = [g.replay_id for g in games]
        refresh_player_directory(engine, ids)
        return ids

    with engine.begin() as conn:  # the statistics stay those of our ANALYZE: no auto-analyze
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        )
        for (table,) in tables.all():
            conn.exec_driver_sql(f'ALTER TABLE "{table}" SET (autovacuum_enabled = false)')
    refresh_game_stats(engine, load(20_000, 20, 1))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")
    new = load(20_020, 30, 2)
    with engine.begin() as conn:
        plain = conn.execute(sa.text("EXPLAIN " + _game_stats_sql(ids=True)), {"ids": new})
        assert any("Nested Loop" in line for line in plain.scalars())  # the trap is there
        assert _insert_game_stats(conn, new, explain=True) == 0  # and avoided
    refresh_game_stats(engine, new)

    def rows() -> list[tuple]:
        with engine.connect() as conn:
            return sorted(
                tuple(r) for r in conn.execute(sa.text("SELECT * FROM player_game_stats"))
            )

    incremental = rows()
    assert len(incremental) > 1000
    refresh_game_stats(engine, None)
    assert rows() == incremental
