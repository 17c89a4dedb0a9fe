"""The ``stats`` asset group: career statistics kept current as games land.

- ``player_game_stats`` (replay-partitioned) is part of every replay run — sensor, backfill,
  announce — right after the warehouse tables: one row per player per game.
- ``player_careers`` and ``rivals`` (not partitioned) are rebuilt set-wise from all of them by
  **declarative automation**: ``AutomationCondition.eager()`` asks for a run whenever an upstream
  partition (a new game, a re-parse, an OCAP source's games) was materialized, evaluated by the
  ``stats_automation`` sensor. ``wog backfill`` rebuilds them itself after its batches, so the
  statistics are current when it returns.

The SQL and the definitions live in :mod:`wog_warehouse.stats`.
"""

import dagster as dg

from wog_assets.defs.assets import PARTITIONED, replay_ids
from wog_assets.defs.problems import Problems, finish_step
from wog_assets.defs.resources import WarehouseResource
from wog_core import settings as wog_settings
from wog_warehouse.stats import refresh_careers, refresh_game_stats

CAREERS_JOB = "refresh_careers"


@dg.asset(
    **PARTITIONED,
    deps=["games", "players", "frags"],
    group_name="stats",
    kinds={"postgres"},
    description="One row per player per game: side, kills, teamkills, suicides, deaths, "
    "survival, longest kill, kills from a vehicle, weapons, command (player_game_stats).",
)
def player_game_stats(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    rows = refresh_game_stats(warehouse.engine, replay_ids(context))
    finish_step(context, Problems(), "computing per-game statistics")
    return dg.MaterializeResult(metadata={"dagster/row_count": rows})


def build_careers_asset(upstream: list[dg.AssetKey]) -> dg.AssetsDefinition:
    """Careers and rivals, rebuilt whenever any of ``upstream`` is materialized."""

    @dg.multi_asset(
        specs=[
            dg.AssetSpec(
                "player_careers",
                deps=upstream,
                group_name="stats",
                kinds={"postgres"},
                automation_condition=dg.AutomationCondition.eager(),
                description="Each player's record over all their games: K/D, vitality, score "
                "(shrunk toward the community mean), favourites, command (player_careers).",
            ),
            dg.AssetSpec(
                "rivals",
                deps=upstream,
                group_name="stats",
                kinds={"postgres"},
                automation_condition=dg.AutomationCondition.eager(),
                description="Who killed each player most, and whom they killed most (rivals).",
            ),
        ],
    )
    def careers(warehouse: WarehouseResource):  # type: ignore[no-untyped-def]
        min_games = wog_settings.current().pipeline.stats_min_games
        counts = refresh_careers(warehouse.engine, min_games=min_games)
        yield dg.MaterializeResult(
            asset_key="player_careers",
            metadata={"dagster/row_count": counts["careers"], "min_games": min_games},
        )
        yield dg.MaterializeResult(
            asset_key="rivals", metadata={"dagster/row_count": counts["rivals"]}
        )

    return careers
