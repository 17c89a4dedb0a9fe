"""The ``new_replays`` sensor: finds new games on the games list and requests their runs.

Cursor (JSON): ``{"max_id": highest id seen on the list, "watch": {id: {"tries", "next", "since"}}}``.
``watch`` holds new games whose run has not succeeded yet; each tick looks up their latest run
and re-requests failed ones with backoff (the replay JSON may be published late), until they
succeed or ``WOG_RETRY_WINDOW`` passes. A tick that cannot reach the site is skipped with the
reason and leaves the cursor untouched.
"""

import json
import time

import dagster as dg

from wog_assets.defs.assets import REPLAY_TAG, TRIGGER_TAG
from wog_assets.defs.partitions import replays_partitions
from wog_assets.defs.resources import StatsSiteResource
from wog_assets.defs.selection import replay_assets
from wog_assets.recovery import heal_dead_runs
from wog_assets.source.errors import SourceError
from wog_core import settings
from wog_core.settings import DEFAULT_SENSOR_INTERVAL_S

RETRY_BACKOFF_CAP_S = 30 * 60
SUCCESS = dg.DagsterRunStatus.SUCCESS
UNFINISHED = {
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.MANAGED,
    dg.DagsterRunStatus.CANCELING,
}


def _load_cursor(raw: str | None) -> dict:
    if not raw:
        return {}
    try:
        cursor = json.loads(raw)
    except ValueError:
        return {}
    return cursor if isinstance(cursor, dict) else {}


def new_replay_run_request(replay_id: int, attempt: int) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=f"replay-{replay_id}-try-{attempt}",
        partition_key=str(replay_id),
        tags={TRIGGER_TAG: "new", REPLAY_TAG: str(replay_id)},
    )


def evaluate_new_replays(
    context: dg.SensorEvaluationContext, site: StatsSiteResource
) -> dg.SensorResult | dg.SkipReason:
    """One tick: read the games list, register new ids, request (and retry) their runs."""
    pipeline = settings.current().pipeline
    heal_dead_runs(context.instance, context.log.warning)
    cursor = _load_cursor(context.cursor)
    try:
        with site.client(max_retries=1) as client:
            listing = client.list_games()
    except SourceError as exc:
        return dg.SkipReason(f"stats site unreachable, will try again next tick: {exc}")
    if not listing:
        return dg.SkipReason("the games list shows no games")

    min_players = pipeline.min_players
    now = time.time()
    first_tick = "max_id" not in cursor
    max_id = int(cursor.get("max_id", 0))
    watch: dict[str, dict] = dict(cursor.get("watch", {}))

    known = set(context.instance.get_dynamic_partitions(replays_partitions.name))
    new_ids = sorted(g.replay_id for g in listing if g.replay_id > max_id)
    to_register = [str(i) for i in new_ids if str(i) not in known]
    qualifying = sorted(
        g.replay_id for g in listing if g.replay_id in set(new_ids) and g.players >= min_players
    )

    if first_tick:
        start = pipeline.start_from_replay
        qualifying = [i for i in qualifying if i >= start] if start else qualifying[-1:]
    for rid in qualifying:
        watch.setdefault(str(rid), {"tries": 0, "next": 0, "since": now})

    run_requests: list[dg.RunRequest] = []
    budget = pipeline.sensor_max_runs
    for key in sorted(watch, key=int):
        state = watch[key]
        if state["tries"]:
            runs = context.instance.get_runs(
                filters=dg.RunsFilter(tags={REPLAY_TAG: key, TRIGGER_TAG: "new"}), limit=1
            )
            status = runs[0].status if runs else None
            if status == SUCCESS:
                del watch[key]
                continue
            if status in UNFINISHED or now < state["next"]:
                continue
            if now - state["since"] > pipeline.retry_window_s:
                context.log.warning(
                    f"replay {key}: giving up after {state['tries']} tries; re-run it from the UI"
                )
                del watch[key]
                continue
        if budget == 0:
            break
        budget -= 1
        state["tries"] += 1
        state["next"] = now + min(RETRY_BACKOFF_CAP_S, 60 * 2 ** (state["tries"] - 1))
        run_requests.append(new_replay_run_request(int(key), state["tries"]))

    new_cursor = {"max_id": max(max_id, *(g.replay_id for g in listing)), "watch": watch}
    if not run_requests and not to_register:
        waiting = f"; waiting on {', '.join(sorted(watch, key=int))}" if watch else ""
        return dg.SensorResult(
            skip_reason=f"no new games (newest listed: {listing[0].replay_id}){waiting}",
            cursor=json.dumps(new_cursor, sort_keys=True),
        )
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[replays_partitions.build_add_request(to_register)]
        if to_register
        else [],
        cursor=json.dumps(new_cursor, sort_keys=True),
    )


def build_new_replays_sensor(
    interval_s: int = DEFAULT_SENSOR_INTERVAL_S, assets: list | None = None
) -> dg.SensorDefinition:
    """The ``new_replays`` sensor ticking every ``interval_s`` seconds (``WOG_SENSOR_INTERVAL``),
    materializing ``assets`` (default: every replay asset)."""
    return dg.sensor(
        name="new_replays",
        target=assets or replay_assets,
        minimum_interval_seconds=interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches the games list for new replays with at least WOG_MIN_PLAYERS "
        "players and materializes them (tagged as new games, so they are announced).",
    )(evaluate_new_replays)


new_replays = build_new_replays_sensor()
