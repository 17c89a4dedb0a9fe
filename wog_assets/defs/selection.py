"""Every replay-partitioned asset, in lineage order: what the sensor, backfills and the
code location materialize together."""

from wog_assets.defs.assets import game_page_html, player_directory, replay_json, warehouse_tables
from wog_assets.defs.notifications import notifications
from wog_assets.defs.stats import player_game_stats

replay_assets = [
    game_page_html,
    replay_json,
    warehouse_tables,
    player_directory,
    player_game_stats,
    notifications,
]
