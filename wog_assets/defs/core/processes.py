"""Which process runs a run, and healing after that process died hard.

A ``wog`` process that runs Dagster runs in-process (``wog backfill``, ``wog announce``) tags each
run with its host, pid and process start time. If that process dies hard (``kill -9``, the
machine or the embedded Postgres going away mid-run), its run stays ``STARTED`` and keeps its
``wog_site`` pool slot, and every later run would wait for that slot forever. Before it runs
anything, the next ``wog`` process (or a sensor tick) calls :func:`heal_dead_runs`: a run whose
process is gone is marked failed (saying why) and its slots are freed; slots still held by
finished runs are freed too.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from wog_assets.defs.core.tags import HOST_TAG, PID_TAG, STARTED_TAG

UNFINISHED = [
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), or None if unknown/gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def host() -> str:
    """This machine *and* process namespace: containers sharing the host's network (and so
    its host name) each have their own pid namespace, where a pid means another process."""
    try:
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return socket.gethostname()
    return f"{socket.gethostname()}/pidns:{namespace}"


def process_tags() -> dict[str, str]:
    """Tags naming this process, for every run it executes in-process."""
    tags = {HOST_TAG: host(), PID_TAG: str(os.getpid())}
    started = _process_start(os.getpid())
    if started:
        tags[STARTED_TAG] = started
    return tags


def _alive(tags: dict[str, str]) -> bool:
    """Whether the process named by a run's tags still runs (unknown → assumed alive)."""
    if tags.get(HOST_TAG) != host() or not tags.get(PID_TAG, "").isdigit():
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
