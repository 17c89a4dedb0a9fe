"""One partition per replay; the sensor and ``wog backfill`` register them."""

import dagster as dg

replays_partitions = dg.DynamicPartitionsDefinition(name="replays")
