"""The asset graph end to end against the fake site and a real Postgres: contents, idempotency,
atomicity, raw-first re-parsing, failures that name the replay, and a 200-replay backfill."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import msgspec
import pytest
import sqlalchemy as sa

from tests.wog_assets.dagster_helpers import code_location, replay_defs, run_replays
from wog_assets.runs.backfill import plan_batches, register_partitions, run_backfill
from wog_core.models import Commander, Replay
from wog_core.sides import SIDE_CODES
from wog_fakes.fake_site import FakeSite, game_path, json_path
from wog_fakes.generator import GeneratedGame, generate_games
from wog_warehouse.replays import RowRejected, write_replay

GAMES = generate_games(3400, 6, seed=21)


@pytest.fixture
def site() -> Iterator[FakeSite]:
    with FakeSite() as fake:
        fake.publish(*GAMES)
        yield fake


def _rows(engine: sa.Engine, query: str, **params: object) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query), params)]


def assert_replay_in_warehouse(engine: sa.Engine, truth: Replay) -> None:
    """Every table's rows for one replay equal the generator's truth."""
    rid, g = truth.replay_id, truth.game
    (game,) = _rows(
        engine,
        "SELECT mission_id, mission_name, island, played_on, started_at, ended_at, duration_s, "
        "winner, players_active, slots FROM games WHERE replay_id = :r",
        r=rid,
    )
    assert game == (
        g.mission_id, g.mission_name, g.island, g.date, g.started_at, g.ended_at, g.duration_s,
        g.winner, g.players_active, g.slots,
    )  # fmt: skip
    for code in SIDE_CODES:
        low = code.lower()
        (side,) = _rows(
            engine,
            f"SELECT players_{low}, commander_{low}_id, commander_{low}_nickname FROM games WHERE replay_id = :r",
            r=rid,
        )
        commander = g.commanders.get(code)
        assert side == (
            g.side_players.get(code),
            commander.player_id if commander else None,
            commander.nickname if commander else None,
        )
    players = _rows(
        engine,
        "SELECT player_id, side, nickname, slot, squad FROM players WHERE replay_id = :r ORDER BY player_id",
        r=rid,
    )
    assert players == [(p.player_id, p.side, p.nickname, p.slot, p.squad) for p in truth.players]
    vehicles = _rows(
        engine,
        "SELECT vehicle_id, type, name FROM vehicles WHERE replay_id = :r ORDER BY vehicle_id",
        r=rid,
    )
    assert vehicles == [(v.vehicle_id, v.type, v.name) for v in truth.vehicles]
    frags = _rows(
        engine,
        "SELECT seq, time_s, victim_id, victim_vehicle, killer_id, killer_vehicle, weapon, distance_m, is_teamkill "
        "FROM frags WHERE replay_id = :r ORDER BY seq",
        r=rid,
    )
    assert frags == [
        (
            f.seq,
            f.time_s,
            f.victim_id,
            f.victim_vehicle,
            f.killer_id,
            f.killer_vehicle,
            f.weapon,
            f.distance_m,
            f.teamkill,
        )
        for f in truth.frags
    ]


def test_definitions_load() -> None:
    from wog_assets.definitions import defs as load_definitions

    defs = load_definitions()
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "game_page_html",
        "replay_json",
        "games",
        "players",
        "vehicles",
        "frags",
        "player_directory",
        "notifications",
        "player_game_stats",
        "player_careers",
        "weekly_leaderboards",
        "monthly_leaderboards",
        "weekly_digest",
        "monthly_digest",
    }
    assert defs.resolve_sensor_def("new_replays") is not None
    assert defs.resolve_sensor_def("stats_automation") is not None
    assert defs.resolve_sensor_def("stale_leaderboards") is not None
    assert {s.name for s in defs.schedules} == {"weekly_digest_schedule", "monthly_digest_schedule"}
    assert {j.name for j in defs.jobs} == {
        "ingest_replays",
        "refresh_careers",
        "refresh_weekly_leaderboards",
        "refresh_monthly_leaderboards",
        "weekly_digest_job",
        "monthly_digest_job",
    }


def test_one_partition_fills_every_table_and_records_raw(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    game = GAMES[0]
    result = run_replays(instance, [game.replay_id], site.url, db_url)
    assert result.success
    assert_replay_in_warehouse(engine, game.replay)

    (page,) = _rows(engine, "SELECT url, http_status, length(body), sha256 FROM raw_game_pages")
    assert page[0] == f"{site.url}/games/{game.replay_id}/" and page[1] == 200
    (js,) = _rows(engine, "SELECT size_bytes, length(body), codec FROM raw_replay_json")
    assert js[0] == len(game.replay_json) and js[1] < js[0] and js[2] == "zstd"

    directory = dict(_rows(engine, "SELECT player_id, nickname FROM player_directory"))
    assert directory == {p.player_id: p.nickname for p in game.replay.players}

    meta = result.asset_materializations_for_node("warehouse_tables")
    games_meta = next(m for m in meta if m.asset_key.to_user_string() == "games").metadata
    assert games_meta["mission_name"].value == game.replay.game.mission_name
    frags_meta = next(m for m in meta if m.asset_key.to_user_string() == "frags").metadata
    assert frags_meta["dagster/row_count"].value == len(game.replay.frags)
    assert "preview" not in frags_meta  # the preview goes with the games, once
    tables = code_location(site.url, db_url).resolve_assets_def("frags")
    spec = tables.specs_by_key[dg.AssetKey("frags")]
    schema = spec.metadata["dagster/column_schema"]  # declared with the asset, not per run
    assert [c.name for c in schema.columns][:3] == ["replay_id", "seq", "time_s"]
    preview = games_meta["preview"].value.splitlines()  # a Markdown table of what was written
    assert preview[0].startswith("| replay | mission |")
    assert preview[2].startswith(f"| {game.replay_id} | ")
    assert preview[2].endswith(f"| {len(game.replay.frags)} |")
    checks = result.get_asset_check_evaluations()
    assert checks and all(c.passed for c in checks)


def _dump(engine: sa.Engine) -> dict[str, list[tuple]]:
    return {
        # parsed_at is the parse time
        "games": _rows(engine, "SELECT to_jsonb(g) - 'parsed_at' FROM games g ORDER BY replay_id"),
        "players": _rows(engine, "SELECT * FROM players ORDER BY replay_id, player_id"),
        "vehicles": _rows(engine, "SELECT * FROM vehicles ORDER BY replay_id, vehicle_id"),
        "frags": _rows(engine, "SELECT * FROM frags ORDER BY replay_id, seq"),
        "directory": _rows(
            engine,
            "SELECT player_id, nickname, first_seen_replay, last_seen_replay, games_played FROM player_directory ORDER BY 1",
        ),
        "nicknames": _rows(engine, "SELECT * FROM player_nicknames ORDER BY 1, 2"),
    }


def test_rematerializing_three_times_leaves_identical_rows(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    dumps = []
    for _ in range(3):
        assert run_replays(instance, [3401, 3402], site.url, db_url).success
        dumps.append(_dump(engine))
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]["games"]) == 2


def test_a_failure_mid_write_leaves_the_previous_rows(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    assert run_replays(instance, [3401], site.url, db_url).success
    before = _dump(engine)
    truth = GAMES[1].replay
    # Two frags with one seq fail the frags insert (primary key), after the games upsert and
    # the players/vehicles rewrite have already run in the same transaction.
    frag = truth.frags[0]
    broken = Replay(
        truth.replay_id, truth.game, truth.players[:1], truth.vehicles[:1], [frag, frag]
    )
    with pytest.raises(sa.exc.DBAPIError):
        write_replay(engine, broken, "http://x/")
    assert _dump(engine) == before
    # A value beyond its column is refused before the transaction starts, naming the field.
    too_late = msgspec.structs.replace(frag, time_s=2**40)
    with pytest.raises(RowRejected, match=r"replay 3401, http://x/: frags.time_s = 1099511627776"):
        write_replay(engine, msgspec.structs.replace(broken, frags=[too_late]), "http://x/")
    assert _dump(engine) == before


def test_reparsing_reads_stored_bodies_and_never_the_site(
    site: FakeSite,
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert run_replays(instance, [3400], site.url, db_url).success
    requests_before = len(site.requests)

    import wog_sources.replay as assets_module

    real_parse = assets_module.parse_game_page

    def improved_parser(html: str, **kwargs: object):  # type: ignore[no-untyped-def]
        page = real_parse(html, **kwargs)  # type: ignore[arg-type]
        return page.__class__(
            **{**{f: getattr(page, f) for f in page.__struct_fields__}, "island": "Fixed Island"}
        )

    monkeypatch.setattr(assets_module, "parse_game_page", improved_parser)
    result = run_replays(
        instance, [3400], site.url, db_url, selection=["games", "players", "vehicles", "frags"]
    )
    assert result.success
    assert len(site.requests) == requests_before
    assert _rows(engine, "SELECT island FROM games") == [("Fixed Island",)]


def test_rematerializing_raw_assets_keeps_the_stored_copy(
    site: FakeSite, instance: dg.DagsterInstance, db_url: str
) -> None:
    assert run_replays(instance, [3400], site.url, db_url).success
    assert run_replays(instance, [3400], site.url, db_url).success
    assert site.requests_to(game_path(3400)) == 1
    assert site.requests_to(json_path(3400)) == 1


def test_a_bad_replay_in_a_batch_fails_the_run_by_name_and_the_others_are_written(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    broken = GeneratedGame(
        GAMES[2].replay, GAMES[2].page_html.replace("Остров", "Карта"), GAMES[2].replay_json
    )
    site.publish(broken)
    result = run_replays(instance, [3401, 3402, 3403], site.url, db_url, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    message = failure.step_failure_data.error.message
    assert (
        "replay 3402" in message
        and "row 'Остров' not found" in message
        and "/games/3402/" in message
    )
    assert [r[0] for r in _rows(engine, "SELECT replay_id FROM games ORDER BY 1")] == [3401, 3403]
    # The raw body of the bad replay is kept for a re-parse after a fix.
    assert _rows(engine, "SELECT replay_id FROM raw_game_pages ORDER BY 1") == [
        (3401,),
        (3402,),
        (3403,),
    ]


def test_missing_ids_in_a_backfill_are_recorded_not_fatal(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    result = run_replays(instance, [3404, 3405, 3406, 3407], site.url, db_url)
    assert result.success
    assert _rows(engine, "SELECT replay_id, what FROM replay_misses ORDER BY 1, 2") == [
        (3406, "game_page"),
        (3406, "replay_json"),
        (3407, "game_page"),
        (3407, "replay_json"),
    ]
    assert [r[0] for r in _rows(engine, "SELECT replay_id FROM games ORDER BY 1")] == [3404, 3405]


def test_a_new_game_with_late_json_fails_its_run_so_the_sensor_retries(
    site: FakeSite, instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    site.json_appears_after(3400, 1)
    tags = {"wog/trigger": "new", "wog/replay": "3400"}
    first = run_replays(instance, [3400], site.url, db_url, tags=tags, raise_on_error=False)
    assert not first.success
    assert _rows(engine, "SELECT replay_id, what FROM replay_misses") == [(3400, "replay_json")]
    second = run_replays(instance, [3400], site.url, db_url, tags=tags)
    assert second.success
    assert _rows(engine, "SELECT count(*) FROM replay_misses") == [(0,)]
    assert_replay_in_warehouse(engine, GAMES[0].replay)


def test_the_sites_inconsistencies_warn_and_the_game_is_still_announced(
    site: FakeSite,
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A commander not on their side, a killer not in the player list, side counts that do not
    add up to the active players (59 + 64 + 1 against 121, as seen on a real game)."""
    from wog_fakes.generator import render_game_page, render_replay_json

    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    truth = GAMES[3].replay
    side = next(iter(truth.game.commanders))
    other = next(p for p in truth.players if p.side != side)
    commanders = {**truth.game.commanders, side: Commander(other.player_id, other.nickname)}
    sides = list(truth.game.side_players)
    counts = dict(zip(sides, [59, 64, 1, 0][: len(sides)], strict=True))
    game = msgspec.structs.replace(
        truth.game, commanders=commanders, side_players=counts, players_active=121
    )
    frags = [msgspec.structs.replace(truth.frags[0], killer_id=999_999), *truth.frags[1:]]
    bad = msgspec.structs.replace(truth, game=game, frags=frags)
    site.publish(GeneratedGame(bad, render_game_page(bad), render_replay_json(bad)))

    result = run_replays(
        instance, [3403], site.url, db_url, tags={"wog/trigger": "new", "wog/replay": "3403"}
    )
    assert result.success
    evaluations = {c.check_name: c for c in result.get_asset_check_evaluations()}
    for name in (
        "commanders_on_their_side",
        "frags_reference_players",
        "side_counts_match_players_active",
    ):
        assert not evaluations[name].passed, name
        assert evaluations[name].severity == dg.AssetCheckSeverity.WARN
        assert "replay 3403" in (evaluations[name].description or "")
    assert evaluations["commanders_on_their_side"].metadata["offending_rows"].value == 1
    assert _rows(engine, "SELECT status FROM notifications WHERE replay_id = 3403") == [
        ("pending",)
    ]


def test_a_game_without_players_is_not_announced(
    site: FakeSite,
    instance: dg.DagsterInstance,
    engine: sa.Engine,
    db_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from wog_fakes.generator import render_game_page, render_replay_json

    monkeypatch.setenv("WOG_DISCORD_CHANNEL_IDS", "111")
    truth = GAMES[2].replay
    empty = msgspec.structs.replace(truth, players=[], frags=[])
    site.publish(GeneratedGame(empty, render_game_page(empty), render_replay_json(empty)))
    result = run_replays(
        instance, [3402], site.url, db_url, tags={"wog/trigger": "new"}, raise_on_error=False
    )
    assert not result.success
    (evaluation,) = [
        c for c in result.get_asset_check_evaluations() if c.check_name == "game_has_players"
    ]
    assert not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    assert _rows(engine, "SELECT count(*) FROM notifications") == [(0,)]


def test_batches_follow_partition_order_and_size(instance: dg.DagsterInstance) -> None:
    register_partitions(instance, [10, 11, 12])
    instance.add_dynamic_partitions("replays", ["99"])  # registered by someone else in between
    register_partitions(instance, [13, 14, 15, 16, 17])
    keys = [str(i) for i in range(10, 18)]
    assert plan_batches(instance, keys, 3) == [["10", "11", "12"], ["13", "14", "15"], ["16", "17"]]
    assert plan_batches(instance, keys, 50) == [["10", "11", "12"], ["13", "14", "15", "16", "17"]]


@pytest.mark.slow  # ~100 s
def test_backfill_of_200_replays_in_batched_runs(
    instance: dg.DagsterInstance, engine: sa.Engine, db_url: str
) -> None:
    games = generate_games(5000, 200, seed=3)
    with FakeSite() as fake:
        fake.publish(*games)
        defs = replay_defs(fake.url, db_url)
        report = run_backfill(defs, instance, 5000, 5199, batch=50)
    assert report.failed_runs == []
    assert len(report.runs) == 4
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"wog/backfill": report.backfill_id}))
    assert len(runs) == 4 and all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    assert all("wog/trigger" not in r.tags for r in runs)
    for game in games:
        assert_replay_in_warehouse(engine, game.replay)
    materialized = instance.get_materialized_partitions(dg.AssetKey("frags"))
    assert materialized == {str(i) for i in range(5000, 5200)}
