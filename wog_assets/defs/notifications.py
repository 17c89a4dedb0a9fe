"""The ``notifications`` asset: the Discord message for each replay, stored for the bot.

Downstream of the warehouse tables; a game a blocking check holds (``held_games``) gets no
message, while the other games of its run get theirs. Rows are ``pending`` only for runs of new games (sensor) or explicit
``wog announce``; backfills store ``suppressed`` rows without the chart.
"""

import collections
from collections.abc import Iterator

import dagster as dg

from wog_assets.defs.assets import PARTITIONED, is_new_game_run, passing_ids
from wog_assets.defs.problems import Problems, finish_step
from wog_assets.defs.resources import WarehouseResource
from wog_core import settings
from wog_core.settings import SET_A_TARGET
from wog_report.build import build_message, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_chart
from wog_report.summary import summarize
from wog_warehouse.queue import enqueue
from wog_warehouse.replays import load_replay


@dg.asset(
    **PARTITIONED,
    deps=["games", "players", "vehicles", "frags"],
    group_name="discord",
    kinds={"postgres", "discord"},
    description="The Discord message (content, embeds, battle chart) for each game and target; "
    "pending for new games, suppressed for backfills. The bot delivers pending rows.",
)
def notifications(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> Iterator[dg.MaterializeResult]:
    current = settings.current()
    targets = current.notification_targets
    announce = is_new_game_run(context)
    catalogue = Catalogue(current.pipeline.language)
    statuses: collections.Counter[str] = collections.Counter()
    not_loaded: list[int] = []
    preview: dict[str, object] = {}
    problems = Problems()
    for rid in passing_ids(context, warehouse.engine):
        try:
            loaded = load_replay(warehouse.engine, rid)
            if loaded is None:
                not_loaded.append(rid)
                continue
            replay, page_url = loaded
            summary = summarize(replay)
            message = build_message(summary, page_url, catalogue=catalogue, with_chart=announce)
            chart = render_chart(replay, catalogue) if announce else None
            if targets:
                for status in enqueue(
                    warehouse.engine, rid, targets, to_payload(message), chart, announce=announce
                ).values():
                    statuses[status] += 1
        except Exception as exc:  # one game's message must not hold back the others
            context.log.exception(f"replay {rid}: the message could not be built or stored")
            problems.reject(rid, f"building its message: {type(exc).__name__}: {exc}")
            continue
        if not preview:
            preview = {
                "mission_name": summary.mission_name,
                "top_killer": summary.top_killers[0].nickname if summary.top_killers else "—",
                "embeds": len(message.embeds),
            }
    if not_loaded and announce:
        raise dg.Failure(f"replays not in the warehouse, nothing to announce: {not_loaded}")
    if not targets:
        context.log.warning(f"no notification targets: {SET_A_TARGET}")
    yield dg.MaterializeResult(
        metadata={
            "targets": dg.MetadataValue.json(targets),
            "announced": announce,
            "rows_by_status": dg.MetadataValue.json(dict(statuses)),
            "language": catalogue.lang,
            **preview,
            **problems.metadata(),
        }
    )
    finish_step(context, problems, "building messages")
