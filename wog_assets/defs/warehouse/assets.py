"""The warehouse step every source shares: each stored game decoded by its own source and
written to the same tables, checked the same way; then the player directory.

Each replay of a run is handled on its own — decoded, checked and written in its own
transaction. A replay that cannot be decoded or stored does not stop the others: they go on
through every step, and the run's last step fails naming every rejected (and repaired) replay,
its URL and the reason (:mod:`wog_assets.defs.core.problems`); re-running the batch is
idempotent. The steps read the stored raw bodies, never the source.
"""

from collections.abc import Iterator
from typing import Any

import dagster as dg
import sqlalchemy as sa

from dbschema import tables as t
from wog_assets.defs.core.partitions import replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.steps import (
    backfill_policy,
    database_error,
    is_new_game_run,
    passing_ids,
    replay_ids,
    unforeseen,
)
from wog_core.models import Replay
from wog_sources.base import ReplaySource, with_player_ids
from wog_sources.errors import ReplayNotFound, ReplayParseError
from wog_sources.replay import ParsedReplay
from wog_warehouse.quality import CHECKS, held_games, quality_problems
from wog_warehouse.raw import RawReplay, load_raw
from wog_warehouse.replays import (
    RowRejected,
    directory_size,
    refresh_player_directory,
    write_replay,
)
from wog_warehouse.sources import player_ids_for, sources_of

TABLES = ("games", "players", "vehicles", "frags")
KEYS = (*TABLES, "player_directory")
"""The warehouse's replay steps, as the chain every source's job runs after its fetch step."""


def _spec(name: str, deps: list[dg.AssetKey], description: str) -> dg.AssetSpec:
    # The column schema is the table's, not a run's: declared once here (the asset's page shows
    # it) instead of copied into every partition's materialization of every batch.
    return dg.AssetSpec(
        name,
        deps=deps,
        group_name="warehouse",
        kinds={"postgres"},
        description=description,
        metadata={"dagster/column_schema": column_schema(name)},
    )


def build_warehouse_tables(pipeline: Pipeline, raw: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """The warehouse step every source shares, downstream of each source's fetch step (``raw``):
    each stored game decoded by its own source and written to the same tables, checked the
    same way."""

    def warehouse_tables(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
        yield from _warehouse_tables(context, warehouse.engine, pipeline)

    return dg.multi_asset(
        name="warehouse_tables",
        specs=[
            _spec(
                "games",
                raw,
                "One row per game of every source: mission, island, times, winner, sides, "
                "commanders (games.source names the source).",
            ),
            _spec("players", raw, "Who played each game, on which side, slot and squad."),
            _spec("vehicles", raw, "Vehicles available in each game."),
            _spec("frags", raw, "Every death: time, victim, killer, weapon, distance, teamkill."),
        ],
        check_specs=[
            # Not blocking in Dagster's sense (which judges a whole step, every partition of a
            # batch at once): a blocking check holds back only the games that fail it.
            dg.AssetCheckSpec(check.name, asset=check.asset, description=check.description)
            for check in CHECKS
        ],
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(pipeline.knobs.backfill_batch),
    )(warehouse_tables)


def _decode_and_write(
    engine: sa.Engine, source: ReplaySource, rid: int, raw: RawReplay
) -> tuple[ParsedReplay, dict[str, int]]:
    parsed = source.decode(
        raw.page_html, raw.json_body, replay_id=rid, page_url=raw.page_url, body_url=raw.json_url
    )
    replay = parsed.replay
    if source.players_by_name:  # people known by name get their ids in the source
        with engine.begin() as conn:
            names = [p.nickname for p in replay.players]
            replay = with_player_ids(replay, player_ids_for(conn, source.name, names))
    counts = write_replay(engine, replay, raw.page_url, source=source.name)
    return ParsedReplay(replay, parsed.repairs), counts


def _warehouse_tables(
    context: dg.AssetExecutionContext, engine: sa.Engine, pipeline: Pipeline
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Decode the stored raw bodies (never the source) and replace each replay's rows."""
    ids = replay_ids(context)
    sources = pipeline.sources
    origins = sources_of(engine, ids)
    counts = {"games": 0, "players": 0, "vehicles": 0, "frags": 0}
    written: list[int] = []
    not_stored: list[int] = []
    problems = Problems()
    missions: dict[int, str] = {}
    page_urls: dict[int, str] = {}
    previews: dict[int, list[str]] = {}
    for rid in ids:
        source = sources.get(origins[rid][0])
        if source is None:
            problems.reject(rid, f"its source {origins[rid][0]!r} is not configured any more")
            continue
        try:
            raw = load_raw(engine, rid)
        except ValueError as exc:  # the stored body does not match its hash
            problems.reject(rid, str(exc))
            continue
        if raw is None:
            not_stored.append(rid)
            continue
        try:
            parsed, written_counts = _decode_and_write(engine, source, rid, raw)
        except (ReplayParseError, ReplayNotFound, RowRejected) as exc:
            problems.reject(rid, str(exc))
            continue
        except sa.exc.DBAPIError as exc:
            problems.reject(rid, f"{raw.page_url}: {database_error(exc)}")
            continue
        except Exception as exc:  # a body no rule foresaw (or a bug of ours): this game only
            context.log.exception(f"replay {rid}: decoding {raw.json_url} raised")
            problems.reject(rid, f"{raw.json_url}: cannot be decoded: {unforeseen(exc)}")
            continue
        problems.repair(rid, parsed.repairs)
        for table, n in written_counts.items():
            counts[table] += n
        written.append(rid)
        missions[rid] = parsed.replay.game.mission_name
        page_urls[rid] = raw.page_url
        previews[rid] = preview_row(parsed.replay, written_counts)
    if is_new_game_run(context):
        for rid in not_stored:  # named with its reason by the fetch step; failed here too
            problems.reject(rid, "its page or JSON is not stored yet")

    # A game a blocking check holds is named once, here; the later steps leave it out.
    for rid, reason in held_games(engine, written).items():
        problems.reject(rid, reason)
    common: dict[str, Any] = {
        "replays_written": len(written),
        "replays_without_raw": dg.MetadataValue.json(not_stored),
    }
    if len(written) == 1:
        rid = written[0]
        common["mission_name"] = missions[rid]
        common["page_url"] = dg.MetadataValue.url(page_urls[rid])
    for table, n in counts.items():
        # The problems and the preview of what was written (one table for all four) go with
        # the games, once; each partition of a batch carries a copy of its run's metadata.
        extra = (
            {**problems.metadata(), "preview": dg.MetadataValue.md(preview_table(previews))}
            if table == "games"
            else {}
        )
        yield dg.MaterializeResult(
            asset_key=table, metadata={**common, "dagster/row_count": n, **extra}
        )
    for check in CHECKS:
        offending = quality_problems(engine, check, written)
        yield dg.AssetCheckResult(
            asset_key=check.asset,
            check_name=check.name,
            passed=not offending,
            severity=dg.AssetCheckSeverity(check.severity),
            description=_describe_problems(offending),
            metadata={
                "offending_rows": len(offending),
                "sample": dg.MetadataValue.json(_jsonable(offending[:20])),
            },
        )
    finish_step(context, problems, "parsing and writing")


PREVIEW_ROWS = 10
PREVIEW_COLUMNS = ("replay", "mission", "island", "date", "winner", "players", "vehicles", "frags")


def preview_row(replay: Replay, counts: dict[str, int]) -> list[str]:
    g = replay.game
    return [str(replay.replay_id), g.mission_name, g.island, g.date.isoformat(), g.winner or "—",
            str(counts["players"]), str(counts["vehicles"]), str(counts["frags"])]  # fmt: skip


def preview_table(rows: dict[int, list[str]]) -> str:
    """A Markdown table of the first replays written (the UI shows it with the materialization)."""
    if not rows:
        return "_no replay written_"

    def cell(text: str) -> str:  # mission names are user text: keep them from breaking the table
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")[:60]

    lines = ["| " + " | ".join(PREVIEW_COLUMNS) + " |", "|" + " --- |" * len(PREVIEW_COLUMNS)]
    for rid in sorted(rows)[:PREVIEW_ROWS]:
        lines.append("| " + " | ".join(cell(v) for v in rows[rid]) + " |")
    if len(rows) > PREVIEW_ROWS:
        lines.append(f"\n…and {len(rows) - PREVIEW_ROWS} more")
    return "\n".join(lines)


def column_schema(table: str) -> dg.TableSchema:
    """The warehouse table's columns as the UI shows them, from its SQLAlchemy definition."""
    columns = t.metadata.tables[table].columns
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=str(c.type),
                description=c.comment,
                constraints=dg.TableColumnConstraints(nullable=bool(c.nullable)),
            )
            for c in columns
        ]
    )


def _describe_problems(problems: list[dict]) -> str | None:
    if not problems:
        return None
    by_replay: dict[int, int] = {}
    for row in problems:
        by_replay[row["replay_id"]] = by_replay.get(row["replay_id"], 0) + 1
    parts = [f"replay {rid}: {n} row(s)" for rid, n in sorted(by_replay.items())]
    return "; ".join(parts[:20]) + (
        f"; …and {len(parts) - 20} more replays" if len(parts) > 20 else ""
    )


def _jsonable(rows: list[dict]) -> list[dict]:
    return [
        {k: (v if isinstance(v, int | float | str | None) else str(v)) for k, v in r.items()}
        for r in rows
    ]


def build_player_directory(batch: int) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(batch),
        deps=["players"],
        group_name="warehouse",
        kinds={"postgres"},
        description="Site-wide players with their current nickname and nickname history "
        "(player_directory, player_nicknames), recomputed for everyone in these games.",
    )
    def player_directory(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        engine = warehouse.engine
        counts = refresh_player_directory(engine, passing_ids(context, engine))
        yield dg.MaterializeResult(
            metadata={
                "players_refreshed": counts["players"],
                "nicknames_refreshed": counts["nicknames"],
                "directory_size": directory_size(engine),
            }
        )
        finish_step(context, Problems(), "refreshing the player directory")

    return player_directory


def build_defs(pipeline: Pipeline, raw: list[dg.AssetKey]) -> dg.Definitions:
    """The warehouse's replay steps, downstream of every source's fetch step (``raw``)."""
    return dg.Definitions(
        assets=[
            build_warehouse_tables(pipeline, raw),
            build_player_directory(pipeline.knobs.backfill_batch),
        ]
    )
