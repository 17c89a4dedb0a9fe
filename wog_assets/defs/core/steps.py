"""What every replay step does first: its partitions as replay ids, the games a check holds,
why the run exists, and a database's or decoder's error in one line.

Every replay asset processes ``context.partition_keys``, so a backfill runs as a few batched
runs (``BackfillPolicy.multi_run``) rather than one process per replay.
"""

import warnings

import dagster as dg
import sqlalchemy as sa

from wog_assets.defs.core.processes import process_tags
from wog_assets.defs.core.tags import PID_TAG, TRIGGER_TAG
from wog_warehouse.quality import held_games

# backfill_policy is marked beta; we rely on it deliberately (batched backfills).
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)

SITE_POOL = "wog_site"  # fetching assets share this pool (limit in dagster.yaml)


def backfill_policy(batch: int) -> dg.BackfillPolicy:
    """Backfills of replay assets run ``batch`` partitions per run (``WOG_BACKFILL_BATCH``)."""
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=batch)


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
    kinds: dict[type[BaseException], str] = {
        RecursionError: "nested too deeply",
        MemoryError: "too large to decode",
    }
    kind = kinds.get(type(exc), f"unexpected {type(exc).__name__}")
    return f"{kind}: {text[0][:200]}" if text else kind
