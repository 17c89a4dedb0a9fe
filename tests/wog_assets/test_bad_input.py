"""One bad replay never holds back the others: a backfill batch mixing every kind of bad input
with valid games writes every valid (or repairable) one and names each bad one with its reason."""

from __future__ import annotations

import dataclasses
import json
import re

import dagster as dg
import pytest
import sqlalchemy as sa

from tests.wog_assets.dagster_helpers import replay_defs
from wog_assets.runs.backfill import run_backfill
from wog_fakes.fake_site import FakeSite, Fault, json_path
from wog_fakes.generator import GameOptions, GeneratedGame, generate_game

FIRST = 6000
HUGE = 10**20


def _edit_json(game: GeneratedGame, edit) -> GeneratedGame:  # type: ignore[no-untyped-def]
    doc = json.loads(game.replay_json)
    edit(doc)
    return dataclasses.replace(game, replay_json=json.dumps(doc, ensure_ascii=False).encode())


def _first_player(doc: dict) -> str:
    return next(iter(doc["players"]))


def _first_death(doc: dict) -> tuple[str, str]:
    time = next(iter(doc["playersDead"]))
    return time, next(iter(doc["playersDead"][time]))


def _cp1251(game: GeneratedGame) -> GeneratedGame:
    doc = json.loads(game.replay_json)
    doc["players"][_first_player(doc)][1] = "Иван Грозный"
    text = json.dumps(doc, ensure_ascii=False)
    return dataclasses.replace(game, replay_json=text.encode("cp1251", errors="replace"))


def _set(path_fn, index: int, value: object):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:
        path_fn(doc)[index] = value

    return edit


def _move_death_to(time: int):  # type: ignore[no-untyped-def]
    def edit(doc: dict) -> None:
        old, victim = _first_death(doc)
        row = doc["playersDead"][old].pop(victim)
        doc["playersDead"].setdefault(str(time), {})[victim] = row

    return edit


def _duplicate_player(game: GeneratedGame) -> GeneratedGame:
    text = game.replay_json.decode()
    doc = json.loads(text)
    key = _first_player(doc)
    twin = json.dumps({key: [1, "Twin", None, None]}, separators=(",", ":"))[1:-1]
    assert '"players":{' in text
    return dataclasses.replace(
        game, replay_json=text.replace('"players":{', '"players":{' + twin + ",", 1).encode()
    )


def _nested_in_a_skipped_field(game: GeneratedGame, depth: int) -> GeneratedGame:
    """A key the parser never reads, nested ``depth`` arrays deep (the interpreter's limit is
    1,000: decoding it would raise RecursionError)."""
    text = game.replay_json.decode()
    assert text.endswith("}")
    deep = "[" * depth + "]" * depth
    return dataclasses.replace(game, replay_json=(text[:-1] + f',"viewerTrail":{deep}}}').encode())


def _page(game: GeneratedGame, pattern: str, replacement: str) -> GeneratedGame:
    html, n = re.subn(pattern, replacement, game.page_html, count=1)
    assert n == 1
    return dataclasses.replace(game, page_html=html)


def _batch() -> tuple[list[GeneratedGame], dict[int, str], dict[int, str]]:
    """Games 6000.., the expected rejections (id → words of the reason), the expected repairs."""
    g = {
        i: generate_game(i, seed=7, options=GameOptions(players=40))
        for i in range(FIRST, FIRST + 15)
    }
    player = lambda doc: doc["players"][_first_player(doc)]  # noqa: E731
    death = lambda doc: doc["playersDead"][_first_death(doc)[0]][_first_death(doc)[1]]  # noqa: E731
    g[6001] = _cp1251(g[6001])
    g[6002] = _edit_json(g[6002], _set(lambda d: next(iter(d["factions"].values())), 2, HUGE))
    g[6003] = _edit_json(
        g[6003], lambda d: d["players"].update({str(HUGE): d["players"].pop(_first_player(d))})
    )
    g[6004] = _page(g[6004], r"<td>\d\d:\d\d:\d\d</td>", f"<td>{HUGE}:00:00</td>")
    g[6005] = _edit_json(g[6005], _move_death_to(HUGE))
    g[6006] = _edit_json(g[6006], _set(player, 1, "Nul\u0000Name"))
    # 6007: a JSON over the size cap; 6008: a JSON that fails on every retry (set up below)
    g[6009] = _page(g[6009], r"<td>\d+\s*/", "<td>-13 /")
    g[6010] = _edit_json(g[6010], _set(death, 4, 1e308))
    g[6011] = _duplicate_player(g[6011])
    g[6012] = _edit_json(g[6012], _set(player, 2, ["a", "list"]))
    g[6014] = _nested_in_a_skipped_field(g[6014], depth=1_000)
    rejected = {
        6002: "= 100000000000000000000: beyond the column's range",
        6003: "players[",
        6004: "games.duration_s",
        6007: "exceeds the 1,048,576-byte cap (WOG_MAX_JSON_MB)",
        6008: "500",
        6009: "negative count in '-13 / ",
        6011: "appears twice",
        6014: "nested deeper than 64 levels",
    }
    repaired = {
        6001: "not UTF-8",
        6005: "outside the mission",
        6006: "NUL characters removed",
        6010: "stored as unknown",
        6012: "not text; stored as unknown",
    }
    return list(g.values()), rejected, repaired


def test_a_batch_with_every_bad_input_writes_every_good_replay_and_names_each_bad_one(
    instance: dg.DagsterInstance, engine: sa.Engine, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WOG_MAX_JSON_MB", "1")
    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    games, rejected, repaired = _batch()
    big = generate_game(6007, seed=7, options=GameOptions(players=40, viewer_bytes=2 * 2**20))
    games[7] = big
    with FakeSite() as site:
        site.publish(*games)
        site.fail(json_path(6008), Fault(status=500, times=-1))
        defs = replay_defs(site.url, db_url)
        report = run_backfill(defs, instance, FIRST, FIRST + 14, batch=50)

    with engine.connect() as conn:
        loaded = set(conn.execute(sa.text("SELECT replay_id FROM games")).scalars())
        queued = set(conn.execute(sa.text("SELECT replay_id FROM notifications")).scalars())
        counted = set(
            conn.execute(sa.text("SELECT DISTINCT replay_id FROM player_game_stats")).scalars()
        )
        nickname = conn.execute(
            sa.text("SELECT nickname FROM players WHERE replay_id = 6001 AND nickname LIKE 'Иван%'")
        ).scalar()
        nul_free = conn.execute(
            sa.text("SELECT count(*) FROM players WHERE replay_id = 6006 AND nickname = 'NulName'")
        ).scalar()
    good = set(range(FIRST, FIRST + 15)) - set(rejected)
    assert loaded == good
    assert queued == good  # later steps ran for every good replay too
    assert counted == good  # with their statistics
    assert nickname == "Иван Грозный"  # cp1251 decoded, not garbled
    assert nul_free == 1

    assert set(report.problems.rejected) == set(rejected)
    for rid, words in rejected.items():
        assert words in report.problems.rejected[rid], (rid, report.problems.rejected[rid])
    assert set(report.problems.repaired) == set(repaired)
    for rid, words in repaired.items():
        assert any(words in line for line in report.problems.repaired[rid]), rid

    # The run fails once, and its failure names every rejected and repaired replay.
    assert len(report.failed_runs) == 1
    failure = report.failed_runs[0][1]
    for rid in (*rejected, *repaired):
        assert f"replay {rid}:" in failure
    assert "SELECT" not in failure and "INSERT" not in failure  # no SQL dumps
