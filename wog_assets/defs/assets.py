"""Replay-partitioned assets: raw bodies from the site, then warehouse tables parsed from them.

Every asset processes ``context.partition_keys``, so a backfill runs as a few batched runs
(``BackfillPolicy.multi_run``) rather than one process per replay. Within a batch each replay
is handled on its own — fetched, parsed, checked and written in its own transaction. A replay
that cannot be fetched, parsed or stored does not stop the others: they go on through every
step, and the run's last step fails naming every rejected (and repaired) replay, its URL and
the reason (:mod:`wog_assets.defs.problems`); re-running the batch is idempotent. A replay whose
bodies are stored is parsed even when another replay's fetch failed. A replay the site does not
have (404 / error page) is recorded in ``replay_misses``; in a backfill that is not an error,
but for a new game found by the sensor it fails the run so the sensor tries again later (the
JSON can appear late).
"""

import warnings
from collections.abc import Callable, Iterator

import dagster as dg
import sqlalchemy as sa

from dbschema import tables as t
from wog_assets.defs.partitions import replays_partitions
from wog_assets.defs.problems import Problems, finish_step
from wog_assets.defs.resources import PipelineResource, StatsSiteResource, WarehouseResource
from wog_assets.recovery import process_tags
from wog_assets.tags import PID_TAG, TRIGGER_TAG
from wog_core.models import Fetched, Replay
from wog_core.settings import DEFAULT_BACKFILL_BATCH
from wog_sources.base import ReplaySource, with_player_ids
from wog_sources.client import SiteClient
from wog_sources.errors import ReplayNotFound, ReplayParseError, SourceError
from wog_sources.replay import ParsedReplay
from wog_warehouse.quality import CHECKS, held_games, quality_problems
from wog_warehouse.raw import (
    RawReplay,
    load_raw,
    record_miss,
    store_game_page,
    store_replay_json,
    stored_raw_ids,
)
from wog_warehouse.replays import (
    RowRejected,
    directory_size,
    refresh_player_directory,
    write_replay,
)
from wog_warehouse.sources import player_ids_for, sources_of

# backfill_policy is marked beta; we rely on it deliberately (batched backfills).
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

INGEST_JOB = "ingest_replays"  # the WOG replay assets' job (runs show it as their target)
SITE_POOL = "wog_site"  # fetching assets share this pool (limit in dagster.yaml)


def backfill_policy(batch: int = DEFAULT_BACKFILL_BATCH) -> dg.BackfillPolicy:
    """Backfills of these assets run ``batch`` partitions per run (``WOG_BACKFILL_BATCH``)."""
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=batch)


PARTITIONED = {"partitions_def": replays_partitions, "backfill_policy": backfill_policy()}


class RawFetchConfig(dg.Config):
    refetch: bool = False
    """Fetch again even if a copy is stored (games do not change once published)."""


def replay_ids(context: dg.AssetExecutionContext) -> list[int]:
    """The replay ids of this run's partitions, ascending.

    Also tags the run with the process running it, so that if the process dies hard the next
    ``wog`` command or sensor tick can tell, fail the run and free its pool slot.
    """
    if PID_TAG not in context.run.tags:
        context.instance.add_run_tags(context.run.run_id, process_tags())
    try:
        return sorted(int(k) for k in context.partition_keys)
    except ValueError as exc:
        raise dg.Failure(f"partition keys must be replay ids (integers): {exc}") from None


def passing_ids(context: dg.AssetExecutionContext, engine: sa.Engine) -> list[int]:
    """This run's replay ids without the games a blocking check holds (a later step's input).

    The warehouse step names the held games once (in its metadata and the run's failure); the
    later steps only leave them out, so one bad game never strips its batch.
    """
    ids = replay_ids(context)
    held = held_games(engine, ids)
    if held:
        context.log.info(f"leaving out held game(s): {', '.join(map(str, sorted(held)))}")
    return [rid for rid in ids if rid not in held]


def is_new_game_run(context: dg.AssetExecutionContext) -> bool:
    return context.run.tags.get(TRIGGER_TAG) in ("new", "announce")


def database_error(exc: sa.exc.DBAPIError) -> str:
    """The first line of what the database said (the statement and its parameters left out)."""
    text = str(exc.orig).strip() if exc.orig is not None else type(exc).__name__
    return f"the database refused it: {text.splitlines()[0] if text else type(exc).__name__}"


def unforeseen(exc: BaseException) -> str:
    """An error no rule names, in one line: its kind and its first line of text."""
    text = str(exc).strip().splitlines()
    kind = {RecursionError: "nested too deeply", MemoryError: "too large to decode"}.get(
        type(exc), f"unexpected {type(exc).__name__}"
    )
    return f"{kind}: {text[0][:200]}" if text else kind


def _fetch_raw(
    context: dg.AssetExecutionContext,
    *,
    what: str,
    table: sa.Table,
    warehouse: WarehouseResource,
    site: StatsSiteResource,
    refetch: bool,
    fetch: Callable[[SiteClient, int], Fetched],
    store: Callable[[Fetched], int],
    url_for: Callable[[SiteClient, int], str],
) -> dg.MaterializeResult:
    ids = replay_ids(context)
    kept = set() if refetch else stored_raw_ids(warehouse.engine, table, ids)
    fetched: list[int] = []
    missing: dict[int, str] = {}
    problems = Problems()
    total_bytes = 0
    stored_bytes = 0
    with site.client() as client:
        for rid in ids:
            if rid in kept:
                continue
            try:
                body = fetch(client, rid)
            except ReplayNotFound as exc:
                record_miss(
                    warehouse.engine, rid, what, exc.url or url_for(client, rid), exc.detail
                )
                missing[rid] = str(exc)
                continue
            except SourceError as exc:
                problems.reject(rid, f"fetching {what}: {exc}")
                continue
            try:
                stored_bytes += store(body)
            except sa.exc.DBAPIError as exc:
                problems.reject(rid, f"storing {what} from {body.url}: {database_error(exc)}")
                continue
            total_bytes += len(body.body)
            fetched.append(rid)
        first_url = url_for(client, ids[0])
    context.log.info(
        f"{what}: fetched {len(fetched)}, kept {len(kept)} stored, missing {len(missing)}, "
        f"rejected {len(problems.rejected)}"
    )
    if is_new_game_run(context):
        # A new game the site does not serve yet (its JSON can appear late) fails the run, so
        # the sensor tries again; the other new games of the run go on to their messages.
        for rid, reason in missing.items():
            problems.reject(rid, f"{what} not available yet, the sensor will retry: {reason}")
    finish_step(context, problems, f"fetching {what}")
    metadata: dict[str, object] = {
        "fetched": len(fetched),
        "kept_stored_copy": len(kept),
        "missing": dg.MetadataValue.json(sorted(missing)),
        "body_bytes": total_bytes,
        "stored_bytes": stored_bytes,
        "url": dg.MetadataValue.url(first_url) if len(ids) == 1 else first_url,
        **problems.metadata(),
    }
    return dg.MaterializeResult(metadata=metadata)


@dg.asset(
    **PARTITIONED,
    group_name="raw",
    kinds={"postgres", "html"},
    pool=SITE_POOL,
    description="Each game page's HTML exactly as fetched from the stats site (raw_game_pages).",
)
def game_page_html(
    context: dg.AssetExecutionContext,
    config: RawFetchConfig,
    site: StatsSiteResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    def store(fetched: Fetched) -> int:
        store_game_page(warehouse.engine, fetched)
        return len(fetched.body)

    return _fetch_raw(
        context,
        what="game_page",
        table=t.raw_game_pages,
        warehouse=warehouse,
        site=site,
        refetch=config.refetch,
        fetch=lambda client, rid: client.fetch_game_page(rid),
        store=store,
        url_for=lambda client, rid: client.game_page_url(rid),
    )


@dg.asset(
    **PARTITIONED,
    group_name="raw",
    kinds={"postgres", "json"},
    pool=SITE_POOL,
    description="Each replay JSON exactly as fetched, zstd-compressed (raw_replay_json).",
)
def replay_json(
    context: dg.AssetExecutionContext,
    config: RawFetchConfig,
    site: StatsSiteResource,
    warehouse: WarehouseResource,
) -> dg.MaterializeResult:
    return _fetch_raw(
        context,
        what="replay_json",
        table=t.raw_replay_json,
        warehouse=warehouse,
        site=site,
        refetch=config.refetch,
        fetch=lambda client, rid: client.fetch_replay_json(rid),
        store=lambda fetched: store_replay_json(warehouse.engine, fetched),
        url_for=lambda client, rid: client.replay_json_url(rid),
    )


def _spec(name: str, deps: list, description: str) -> dg.AssetSpec:
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


def build_warehouse_tables(raw: list[dg.AssetsDefinition]) -> dg.AssetsDefinition:
    """The warehouse step every source shares, downstream of each source's fetch step (``raw``):
    each stored game decoded by its own source and written to the same tables, checked the
    same way."""
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
        **PARTITIONED,
    )(_warehouse_tables)


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
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, pipeline: PipelineResource
) -> Iterator[dg.MaterializeResult | dg.AssetCheckResult]:
    """Decode the stored raw bodies (never the source) and replace each replay's rows."""
    ids = replay_ids(context)
    engine = warehouse.engine
    sources = pipeline.sources()
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
    common = {
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


@dg.asset(
    **PARTITIONED,
    deps=["players"],
    group_name="warehouse",
    kinds={"postgres"},
    description="Site-wide players with their current nickname and nickname history "
    "(player_directory, player_nicknames), recomputed for everyone in these games.",
)
def player_directory(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    counts = refresh_player_directory(warehouse.engine, passing_ids(context, warehouse.engine))
    total = directory_size(warehouse.engine)
    yield dg.MaterializeResult(
        metadata={
            "players_refreshed": counts["players"],
            "nicknames_refreshed": counts["nicknames"],
            "directory_size": total,
        }
    )
    finish_step(context, Problems(), "refreshing the player directory")


warehouse_tables = build_warehouse_tables([game_page_html, replay_json])
