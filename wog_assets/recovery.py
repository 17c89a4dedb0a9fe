"""Healing after hard crashes, with or without a Dagster daemon.

A ``wog`` process that runs Dagster runs in-process (``wog backfill``, ``wog announce``) tags each
run with its host, pid and process start time. If that process dies hard (``kill -9``, the
machine or the embedded Postgres going away mid-run), its run stays ``STARTED`` and keeps its
``wog_site`` pool slot, and every later run would wait for that slot forever. Before it runs
anything, the next ``wog`` process calls :func:`heal_dead_runs`: a run whose process is gone is
marked failed (saying why) and its slots are freed; slots still held by finished runs are freed
too. :func:`wait_for_pool` then waits for a free slot visibly, and gives up after a timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from wog_assets.tags import HOST_TAG, PID_TAG, STARTED_TAG

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


class PoolBusy(RuntimeError):
    """A pool stayed full for longer than the timeout; the message names who holds it."""


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None if unknown/gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def _host() -> str:
    """This machine *and* process namespace: containers sharing the host's network (and so
    its host name) each have their own pid namespace, where a pid means another process."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns:{namespace}"


def process_tags() -> dict[str, str]:
    """Tags naming this process, for every run it executes in-process."""
    tags = {HOST_TAG: _host(), PID_TAG: str(os.getpid())}
    started = _process_start(os.getpid())
    if started:
        tags[STARTED_TAG] = started
    return tags


def _alive(tags: dict[str, str]) -> bool:
    """Whether the process named by a run's tags still runs (unknown → assumed alive)."""
    if tags.get(HOST_TAG) != _host() or not tags.get(PID_TAG, "").isdigit():
        return True  # not ours to judge: another host, or not started by `wog`
    pid = int(tags[PID_TAG])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    expected = tags.get(STARTED_TAG)
    return expected is None or _process_start(pid) in (None, expected)


def _in_session(tags: dict[str, str], session: int) -> bool:
    """Whether the process named by a run's tags belongs to ``session`` (untagged: yes)."""
    if PID_TAG not in tags:
        return True
    if tags.get(HOST_TAG) != _host() or not tags[PID_TAG].isdigit():
        return False
    try:
        return os.getsid(int(tags[PID_TAG])) == session
    except OSError:  # gone: nothing to stop
        return False


def heal_dead_runs(
    instance: dg.DagsterInstance, say: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Fail the unfinished runs whose ``wog`` process is gone, free every slot no live run
    holds; returns the ids of the runs marked failed."""
    healed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=UNFINISHED)):
        if _alive(dict(run.tags)):
            continue
        message = (
            f"the process that ran it ({run.tags.get(PID_TAG)} on {run.tags.get(HOST_TAG)}) is "
            "gone (killed or crashed); marked failed by the next wog command"
        )
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        say(f"run {run.run_id[:8]} was left running by a process that is gone: marked failed")
        healed.append(run.run_id)
    _free_slots_of_finished_runs(instance, say)
    return healed


def _free_slots_of_finished_runs(instance: dg.DagsterInstance, say: Callable[[str], None]) -> None:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    for pool in storage.get_concurrency_keys():
        for run_id in storage.get_concurrency_info(pool).active_run_ids:
            run = instance.get_run_by_id(run_id)
            if run is None or run.is_finished:
                storage.free_concurrency_slots_for_run(run_id)
                say(f"freed the '{pool}' slot held by finished run {run_id[:8]}")


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
