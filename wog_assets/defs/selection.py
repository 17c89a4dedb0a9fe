"""Every replay-partitioned asset, in lineage order: what the sensor, backfills and the
code location materialize together.

``shared_chain`` is what every source's games go through after their fetch step; the code
location rebuilds its first step (the warehouse tables) downstream of every configured source's
fetch step. ``replay_assets`` is the WOG site's whole job.
"""

from wog_assets.defs.assets import game_page_html, player_directory, replay_json, warehouse_tables
from wog_assets.defs.notifications import notifications
from wog_assets.defs.stats import player_game_stats

shared_chain = [warehouse_tables, player_directory, player_game_stats, notifications]

replay_assets = [game_page_html, replay_json, *shared_chain]
