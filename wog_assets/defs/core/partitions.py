"""One partition per replay; the sensors and ``wog backfill`` register them.

Dynamic partitions are ordered by registration, so a ranged run must cover keys that are
contiguous in that order (:func:`contiguous_batches`).
"""

from collections.abc import Sequence

import dagster as dg

REPLAYS = "replays"
replays_partitions = dg.DynamicPartitionsDefinition(name=REPLAYS)


def contiguous_batches(order: Sequence[str], keys: Sequence[str], batch: int) -> list[list[str]]:
    """``keys`` split into runs of at most ``batch`` that are contiguous in ``order``."""
    wanted = set(keys)
    batches: list[list[str]] = []
    current: list[str] = []
    for key in order:
        if key in wanted and len(current) < batch:
            current.append(key)
            continue
        if current:
            batches.append(current)
        current = [key] if key in wanted else []
    if current:
        batches.append(current)
    return batches
