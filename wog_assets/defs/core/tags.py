"""Every run tag the platform reads or writes, in one place (no Dagster import).

Tags say why a run exists and who runs it; the sensor, backfills, announcements, recovery and
alerts read them back, and the Dagster UI filters runs by them.
"""

# Why: "new" (the sensor found the game) or "announce" (a user asked); absent for backfills.
TRIGGER_TAG = "wog/trigger"
REPLAY_TAG = "wog/replay"  # the game (or "first..last" games) a new-game or announce run is about
BACKFILL_TAG = "wog/backfill"  # the backfill (one `wog backfill`) a run belongs to
# Who: the process executing a run in-process, so a run whose process died can be told apart.
HOST_TAG = "wog/host"
PID_TAG = "wog/pid"
STARTED_TAG = "wog/process-started"  # the process's start time, so a reused pid is not "alive"
# Dagster's own tags for a run over a range of partitions.
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
RUN_KEY_TAG = "dagster/run_key"  # the sensor's run key, which the watched games remember
SOURCE_TAG = "wog/source"  # the source a job (and so each of its runs) fetches games from
