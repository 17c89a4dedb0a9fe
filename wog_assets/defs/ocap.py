"""An OCAP2 community as Dagster definitions: its partitions, assets, job and sensor.

One set per source of ``WOG_SOURCES_FILE``, named after it (``sg`` below):

- partitions ``replays_sg``: the source's own ids (OCAP2 web operation ids, or file names);
- ``sg/recordings`` (raw): the listing entry (``raw_game_pages``, as JSON) and the recording as
  fetched (``raw_replay_json``, zstd), stored under the game's warehouse id;
- ``sg/warehouse``: each stored recording decoded (:mod:`wog_assets.source.ocap`), its players
  given their ids in the source (people known by name), written to the same warehouse tables
  as WOG games (``games.source = 'sg'``), the player directory refreshed, the quality checks run;
- ``sg/notifications``: the game message to the source's Discord targets — pending for games
  the sensor found (with at least the source's ``min_players``), suppressed otherwise;
- job ``ingest_sg`` and sensor ``new_replays_sg``: its first tick remembers what the source
  already lists (history is loaded with ``wog backfill --source sg``, never announced); later
  ticks run each new recording, tagged as a new game.

Every replay is handled on its own, as for WOG: a bad recording is named with its reason and
the others go on (:mod:`wog_assets.defs.problems`).
"""

import json
from collections import Counter
from collections.abc import Iterator

import dagster as dg
import msgspec
import sqlalchemy as sa

from dbschema import tables as t
from wog_assets.defs.assets import backfill_policy, database_error, is_new_game_run
from wog_assets.defs.problems import Problems, finish_step
from wog_assets.defs.resources import WarehouseResource
from wog_assets.recovery import process_tags
from wog_assets.source.errors import ReplayNotFound, ReplayParseError, SourceError
from wog_assets.source.ocap import OcapRecording, decode_recording
from wog_assets.source.ocap_sources import Operation, open_source
from wog_assets.tags import PID_TAG, REPLAY_TAG, TRIGGER_TAG
from wog_core import settings as wog_settings
from wog_core.models import Commander, Fetched, Replay
from wog_core.settings import OcapSource, Settings
from wog_report.build import build_message, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_chart
from wog_report.summary import summarize
from wog_warehouse.quality import CHECKS, held_games, quality_problems
from wog_warehouse.queue import enqueue
from wog_warehouse.raw import load_raw, record_miss, store_game_page, store_replay_json
from wog_warehouse.replays import RowRejected, load_replay, refresh_player_directory, write_replay
from wog_warehouse.sources import player_ids_for, register_source, replay_id_for
from wog_warehouse.stats import refresh_game_stats


def partitions_for(source: OcapSource) -> dg.DynamicPartitionsDefinition:
    return dg.DynamicPartitionsDefinition(name=f"replays_{source.name}")


def job_name(source: OcapSource) -> str:
    return f"ingest_{source.name}"


def source_of(name: str) -> OcapSource:
    for source in wog_settings.current().sources:
        if source.name == name:
            return source
    raise dg.Failure(f"source {name!r} is not in WOG_SOURCES_FILE any more")


def _keys(context: dg.AssetExecutionContext) -> list[str]:
    if PID_TAG not in context.run.tags:
        context.instance.add_run_tags(context.run.run_id, process_tags())
    return list(context.partition_keys)


def _warehouse_ids(engine: sa.Engine, source: OcapSource, keys: list[str]) -> dict[str, int]:
    register_source(engine, source.name, source.kind, source.location)
    with engine.begin() as conn:
        return {key: replay_id_for(conn, source.name, key) for key in keys}


def remap_players(replay: Replay, ids: dict[str, int]) -> Replay:
    """The replay with its players' recording ids replaced by their ids in the source."""
    by_entity = {p.player_id: ids[p.nickname] for p in replay.players}

    def pid(value: int | None) -> int | None:
        return by_entity.get(value) if value is not None else None

    game = msgspec.structs.replace(
        replay.game,
        commanders={
            side: Commander(by_entity[c.player_id], c.nickname)
            for side, c in replay.game.commanders.items()
            if c.player_id in by_entity
        },
    )
    return msgspec.structs.replace(
        replay,
        game=game,
        players=[
            msgspec.structs.replace(p, player_id=by_entity[p.player_id]) for p in replay.players
        ],
        frags=[
            msgspec.structs.replace(f, victim_id=pid(f.victim_id), killer_id=pid(f.killer_id))
            for f in replay.frags
        ],
    )


def decode_stored(
    page_text: str, body: bytes, replay_id: int, url: str, limit: int
) -> OcapRecording:
    """A stored recording decoded (refused past ``limit`` bytes of JSON), dated from its stored
    listing entry."""
    try:
        op = msgspec.json.decode(page_text.encode(), type=Operation)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ReplayParseError(
            f"stored listing entry is unreadable: {exc}", replay_id=replay_id
        ) from None
    return decode_recording(
        body,
        replay_id=replay_id,
        ended_at=op.ended_at(),
        started_at=op.started_at(),
        url=url,
        limit=limit,
    )


def build_source_definitions(
    source: OcapSource, settings: Settings
) -> tuple[list[dg.AssetsDefinition], object, dg.SensorDefinition]:
    """The assets, job and sensor of one OCAP source."""
    partitions = partitions_for(source)
    common = {
        "partitions_def": partitions,
        "backfill_policy": backfill_policy(settings.pipeline.backfill_batch),
        "group_name": source.name,
        "key_prefix": [source.name],
    }
    name = source.name

    @dg.asset(
        name="recordings",
        kinds={"postgres", "json"},
        description=f"Each OCAP2 recording of {name} ({source.location}) exactly as fetched, "
        "with its listing entry (raw_replay_json, raw_game_pages).",
        **common,
    )
    def recordings(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        src = source_of(name)
        keys = _keys(context)
        engine = warehouse.engine
        ids = _warehouse_ids(engine, src, keys)
        problems = Problems()
        fetched = kept = 0
        missing: list[str] = []
        with engine.connect() as conn:
            stored = set(
                conn.scalars(
                    sa.select(t.raw_replay_json.c.replay_id).where(
                        t.raw_replay_json.c.replay_id.in_(list(ids.values()))
                    )
                )
            )
        todo = [k for k in keys if ids[k] not in stored]
        kept = len(keys) - len(todo)
        if todo:
            with open_source(src, wog_settings.current().source) as client:
                try:
                    listed = {op.id: op for op in client.list_operations()}
                except SourceError as exc:
                    raise dg.Failure(f"{name}: the recordings list: {exc}") from None
                for key in todo:
                    rid = ids[key]
                    op = listed.get(key)
                    if op is None:
                        record_miss(
                            engine,
                            rid,
                            "game_page",
                            client.recording_url(Operation(id=key, filename=key)),
                            "not in the source's list",
                        )
                        missing.append(key)
                        continue
                    try:
                        body = client.fetch_recording(op, rid)
                    except ReplayNotFound as exc:
                        record_miss(engine, rid, "replay_json", exc.url or "", exc.detail)
                        missing.append(key)
                        continue
                    except SourceError as exc:
                        problems.reject(rid, f"fetching the recording: {exc}")
                        continue
                    listing = Fetched(
                        rid,
                        client.viewer_url(op),
                        200,
                        body.fetched_at,
                        msgspec.json.encode(op),
                    )
                    try:
                        store_game_page(engine, listing)
                        store_replay_json(engine, body)
                    except sa.exc.DBAPIError as exc:
                        problems.reject(rid, f"storing {body.url}: {database_error(exc)}")
                        continue
                    fetched += 1
        if is_new_game_run(context) and (missing or problems.rejected):
            raise dg.Failure(
                f"{name}: recordings not available yet: {missing or problems.rejected}"
            )
        finish_step(context, problems, "fetching recordings")
        return dg.MaterializeResult(
            metadata={
                "fetched": fetched,
                "kept_stored_copy": kept,
                "missing": dg.MetadataValue.json(missing),
                **problems.metadata(),
            }
        )

    @dg.asset(
        name="warehouse",
        deps=[recordings],
        kinds={"postgres"},
        description=f"{name}'s games decoded into the warehouse tables (games, players, "
        "vehicles, frags; games.source = the source) and its player directory.",
        check_specs=[
            dg.AssetCheckSpec(
                c.name,
                asset=[name, "warehouse"],
                description=c.description,  # held per game
            )
            for c in CHECKS
        ],
        **common,
    )
    def warehouse_rows(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        src = source_of(name)
        engine = warehouse.engine
        ids = _warehouse_ids(engine, src, _keys(context))
        problems = Problems()
        written: list[int] = []
        counts: Counter[str] = Counter()
        for rid in sorted(ids.values()):
            raw = load_raw(engine, rid)
            if raw is None:
                continue
            try:
                recording = decode_stored(
                    raw.page_html, raw.json_body, rid, raw.json_url, settings.source.max_json_bytes
                )
                with engine.begin() as conn:
                    names = [p.nickname for p in recording.replay.players]
                    replay = remap_players(recording.replay, player_ids_for(conn, name, names))
                for table, n in write_replay(engine, replay, raw.page_url, source=name).items():
                    counts[table] += n
            except (ReplayParseError, RowRejected) as exc:
                problems.reject(rid, str(exc))
                continue
            except sa.exc.DBAPIError as exc:
                problems.reject(rid, f"{raw.json_url}: {database_error(exc)}")
                continue
            problems.repair(rid, recording.repairs)
            written.append(rid)
        # A game a blocking check holds is named once and left out of what follows.
        held = held_games(engine, written)
        for rid, reason in held.items():
            problems.reject(rid, reason)
        passing = [rid for rid in written if rid not in held]
        directory = refresh_player_directory(engine, passing) if passing else {}
        refresh_game_stats(engine, passing)  # the stats group's per-game rows, for careers
        yield dg.MaterializeResult(
            metadata={
                "replays_written": len(written),
                **{f"rows_{k}": v for k, v in counts.items()},
                "dagster/row_count": counts["frags"],
                "players_refreshed": directory.get("players", 0),
                **problems.metadata(),
            }
        )
        for check in CHECKS:
            offending = quality_problems(engine, check, written)
            yield dg.AssetCheckResult(
                asset_key=dg.AssetKey([name, "warehouse"]),
                check_name=check.name,
                passed=not offending,
                severity=dg.AssetCheckSeverity(check.severity),
                metadata={"offending_rows": len(offending)},
            )
        finish_step(context, problems, "decoding and writing")

    @dg.asset(
        name="notifications",
        deps=[warehouse_rows],
        kinds={"postgres", "discord"},
        description=f"The Discord message for each {name} game and target: pending for new "
        "games the sensor found, suppressed for backfills.",
        **common,
    )
    def notifications(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        current = wog_settings.current()
        src = source_of(name)
        targets = src.notification_targets(current.notification_targets)
        catalogue = Catalogue(src.language or current.pipeline.language)
        new_games = is_new_game_run(context)
        engine = warehouse.engine
        problems = Problems()
        statuses: Counter[str] = Counter()
        ids = sorted(_warehouse_ids(engine, src, _keys(context)).values())
        held = held_games(engine, ids)
        for rid in (i for i in ids if i not in held):
            try:
                loaded = load_replay(engine, rid)
                if loaded is None:
                    continue
                replay, url = loaded
                asked = context.run.tags.get(TRIGGER_TAG) == "announce"  # min_players aside
                announce = new_games and (asked or replay.game.players_active >= src.min_players)
                message = build_message(
                    summarize(replay), url, catalogue=catalogue, with_chart=announce
                )
                chart = render_chart(replay, catalogue) if announce else None
                if targets:
                    for status in enqueue(engine, rid, targets, to_payload(message), chart,
                                          announce=announce).values():  # fmt: skip
                        statuses[status] += 1
            except Exception as exc:  # one game's message must not hold back the others
                problems.reject(rid, f"building its message: {type(exc).__name__}: {exc}")
        if not targets:
            context.log.warning(f"{name}: no notification targets (channel_ids or webhook_url)")
        finish_step(context, problems, "building messages")
        return dg.MaterializeResult(
            metadata={
                "targets": dg.MetadataValue.json(targets),
                "rows_by_status": dg.MetadataValue.json(dict(statuses)),
                **problems.metadata(),
            }
        )

    assets = [recordings, warehouse_rows, notifications]
    job = dg.define_asset_job(job_name(source), selection=assets)

    @dg.sensor(
        name=f"new_replays_{name}",
        job=job,
        minimum_interval_seconds=settings.pipeline.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Watches {source.location} for new OCAP2 recordings and loads them "
        "(announced when they have at least the source's min_players).",
    )
    def new_replays(context: dg.SensorEvaluationContext) -> dg.SensorResult | dg.SkipReason:
        src = source_of(name)
        try:
            with open_source(src, wog_settings.current().source) as client:
                listed = [op.id for op in client.list_operations()]
        except (SourceError, ReplayParseError) as exc:
            return dg.SkipReason(f"{name}: cannot read the recordings list: {exc}")
        seen = set(json.loads(context.cursor)) if context.cursor else None
        if seen is None:
            return dg.SensorResult(
                skip_reason=f"{name}: first look, {len(listed)} recordings already there "
                f"(load them with 'wog backfill --source {name}')",
                cursor=json.dumps(sorted(listed)),
            )
        new = [key for key in listed if key not in seen]
        if not new:
            return dg.SkipReason(f"{name}: no new recordings")
        known = set(context.instance.get_dynamic_partitions(partitions.name))
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{name}-{key}",
                    partition_key=key,
                    tags={TRIGGER_TAG: "new", REPLAY_TAG: f"{name}/{key}"},
                )
                for key in new
            ],
            dynamic_partitions_requests=[
                partitions.build_add_request([k for k in new if k not in known])
            ],
            cursor=json.dumps(sorted(seen | set(new))),
        )

    return assets, job, new_replays
