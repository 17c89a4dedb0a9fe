"""Waiting for the site pool and stopping a session's runs (``wog dev``, ``wog backfill``).

:func:`wait_for_pool` waits for a free slot visibly, healing dead holders on every poll
(:mod:`wog_assets.defs.core.processes`), and gives up after a timeout;
:func:`cancel_runs_in_progress` stops the runs a ``wog dev`` session started.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable

import dagster as dg

from wog_assets.defs.core.processes import UNFINISHED, heal_dead_runs, host
from wog_assets.defs.core.tags import HOST_TAG, PID_TAG


class PoolBusy(RuntimeError):
    """A pool stayed full for longer than the timeout; the message names who holds it."""


def _in_session(tags: dict[str, str], session: int) -> bool:
    """Whether the process named by a run's tags belongs to ``session`` (untagged: yes)."""
    if PID_TAG not in tags:
        return True
    if tags.get(HOST_TAG) != host() or not tags[PID_TAG].isdigit():
        return False
    try:
        return os.getsid(int(tags[PID_TAG])) == session
    except OSError:  # gone: nothing to stop
        return False


def wait_for_pool(
    instance: dg.DagsterInstance,
    pool: str,
    *,
    timeout_s: float,
    say: Callable[[str], None] = lambda _: None,
    poll_s: float = 2.0,
) -> None:
    """Return once ``pool`` has a free slot; say what holds it while waiting.

    Dead holders are healed on every poll. Raises :class:`PoolBusy` after ``timeout_s``.
    """
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    deadline = time.monotonic() + timeout_s
    announced: set[str] = set()
    while True:
        info = storage.get_concurrency_info(pool)
        limit = info.limit
        if limit is None or info.active_slot_count < limit:
            return
        holders = sorted(info.active_run_ids)
        for run_id in holders:
            if run_id not in announced:
                run = instance.get_run_by_id(run_id)
                state = run.status.value if run else "unknown"
                say(f"waiting for pool '{pool}': held by run {run_id[:8]} ({state})")
                announced.add(run_id)
        if time.monotonic() >= deadline:
            raise PoolBusy(
                f"pool '{pool}' is still held by run(s) {', '.join(r[:8] for r in holders)} "
                f"after {timeout_s:.0f} s; let them finish, or cancel them in the Dagster UI"
            )
        heal_dead_runs(instance, say)
        time.sleep(min(poll_s, max(0.05, deadline - time.monotonic())))


def cancel_runs_in_progress(
    instance: dg.DagsterInstance,
    *,
    session: int,
    reason: str,
    timeout_s: float = 5.0,
    say: Callable[[str], None] = lambda _: None,
) -> list[str]:
    """Cancel the runs executing in process session ``session``; returns the canceled ids.

    Executing runs are asked to stop through the run launcher (their steps are interrupted and
    the run ends *canceled*, which raises no failure alert; the new-game sensor retries a
    canceled game as it retries a failed one). A run that has not ended within ``timeout_s`` —
    its process gone or stuck — is marked canceled here and its pool slots are freed, so
    nothing is left ``STARTED``. Queued runs stay queued: the daemon starts them next time.
    Runs executing elsewhere (a ``wog backfill`` in another terminal runs them in its own
    process) are left alone; a run that has not reached its process yet counts as ours.
    """
    runs = [
        run
        for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED))
        if _in_session(dict(run.tags), session)
    ]
    for run in runs:
        say(f"canceling run {run.run_id[:8]} ({run.job_name})")
        # Its code server may already be gone: then it is marked canceled below.
        with contextlib.suppress(Exception):
            instance.run_launcher.terminate(run.run_id)
    deadline = time.monotonic() + timeout_s
    ids = [run.run_id for run in runs]
    while True:
        left = [r for r in (instance.get_run_by_id(i) for i in ids) if r and not r.is_finished]
        if not left or time.monotonic() >= deadline:
            break
        time.sleep(0.2)
    for run in left:
        instance.report_run_canceled(run, message=reason)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
    # A run that finished on its own meanwhile was not canceled: only the canceled are named.
    final = (instance.get_run_by_id(i) for i in ids)
    return [r.run_id for r in final if r and r.status == dg.DagsterRunStatus.CANCELED]
