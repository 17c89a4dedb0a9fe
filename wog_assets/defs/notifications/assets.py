"""The ``notifications`` asset: the Discord message for each replay, stored for the bot.

Downstream of the warehouse tables, for every source: each game's message goes to its source's
targets in its language (:class:`~wog_sources.base.AnnouncePolicy`). A game a blocking check
holds (``held_games``) gets no message, while the other games of its run get theirs. Rows are
``pending`` only for new games (sensor) with at least the source's ``min_players``, or an
explicit ``wog announce``; backfills store ``suppressed`` rows without the chart.
"""

import collections
from collections.abc import Iterator
from typing import Any

import dagster as dg

from wog_assets.defs.core.partitions import replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.problems import Problems, finish_step
from wog_assets.defs.core.resources import WarehouseResource
from wog_assets.defs.core.steps import backfill_policy, is_new_game_run, passing_ids
from wog_assets.defs.core.tags import TRIGGER_TAG
from wog_core.settings import SET_A_TARGET
from wog_report.build import build_message, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_chart
from wog_report.summary import summarize
from wog_warehouse.queue import enqueue
from wog_warehouse.replays import load_replay
from wog_warehouse.sources import sources_of

KEYS = ("notifications",)
"""The messages' replay step, the last of the chain every source's job runs."""


def build_notifications(pipeline: Pipeline) -> dg.AssetsDefinition:
    @dg.asset(
        partitions_def=replays_partitions,
        backfill_policy=backfill_policy(pipeline.knobs.backfill_batch),
        deps=["games", "players", "vehicles", "frags"],
        group_name="discord",
        kinds={"postgres", "discord"},
        description="The Discord message (content, embeds, battle chart) for each game of every "
        "source and its targets; pending for new games with the source's min_players, suppressed "
        "otherwise. The bot delivers pending rows.",
    )
    def notifications(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> Iterator[dg.MaterializeResult]:
        engine = warehouse.engine
        sources = pipeline.sources
        new_game = is_new_game_run(context)
        asked = context.run.tags.get(TRIGGER_TAG) == "announce"  # min_players aside
        statuses: collections.Counter[str] = collections.Counter()
        not_loaded: list[int] = []
        preview: dict[str, Any] = {}
        problems = Problems()
        without_targets: set[str] = set()
        ids = passing_ids(context, engine)
        origins = sources_of(engine, ids)
        for rid in ids:
            source = sources.get(origins[rid][0])
            if source is None:
                problems.reject(rid, f"its source {origins[rid][0]!r} is not configured any more")
                continue
            policy = source.policy
            catalogue = Catalogue(policy.language)
            try:
                loaded = load_replay(engine, rid)
                if loaded is None:
                    not_loaded.append(rid)
                    continue
                replay, page_url = loaded
                announce = new_game and policy.announces(replay.game.players_active, asked=asked)
                summary = summarize(replay)
                message = build_message(summary, page_url, catalogue=catalogue, with_chart=announce)
                chart = render_chart(replay, catalogue) if announce else None
                targets = list(policy.targets)
                if not targets:
                    without_targets.add(source.name)
                for status in enqueue(
                    engine, rid, targets, to_payload(message), chart, announce=announce, asked=asked
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
                    "language": catalogue.lang,
                    "announced": announce,
                }
        if new_game:  # the run fails for them (named by the step that lost them), not the others
            for rid in not_loaded:
                problems.reject(rid, "not in the warehouse, nothing to announce")
        for name in sorted(without_targets):
            context.log.warning(f"{name}: no notification targets: {SET_A_TARGET}")
        yield dg.MaterializeResult(
            metadata={
                "targets": dg.MetadataValue.json(
                    {
                        name: list(sources[name].policy.targets)
                        for name in sorted(set(o for o, _ in origins.values()) & set(sources))
                    }
                ),
                "rows_by_status": dg.MetadataValue.json(dict(statuses)),
                **preview,
                **problems.metadata(),
            }
        )
        finish_step(context, problems, "building messages")

    return notifications
