"""The ``new_replays`` sensor: finds new games and requests their runs; every game is loaded.

Each tick reads the games list. New games with at least ``WOG_MIN_PLAYERS`` players are
*announced*: one run each (tag ``wog/trigger=new``), the newest first, watched and retried. The
others are loaded *quietly*: batched ranged runs (tag ``wog/trigger=quiet``) whose messages are
stored suppressed. When the new games on the list do not reach back to the cursor (an outage
longer than one list page), the ids in between are probed directly, ``WOG_GAP_PROBES`` per
tick, newest first — ids are sequential and a missing one shows the site's error page — and the
cursor remembers where recovery stands; a recovered game is announced only if it qualifies and
ended less than ``WOG_ANNOUNCE_MAX_AGE`` seconds ago (page times are Moscow time).

Cursor (JSON): ``{"max_id": highest id seen on the list, "watch": {id: {"tries", "next",
"since"}}, "gap": {"next": lowest, "until": highest id still to probe}}``. ``watch`` holds
announced games whose run has not succeeded yet; each tick looks up their latest run and
re-requests failed ones with backoff (the replay JSON may be published late), until they
succeed or ``WOG_RETRY_WINDOW`` passes. A tick that cannot reach the site is skipped with the
reason and leaves the cursor untouched; a list page that no longer matches the parser fails the
tick (it is never "no new games").
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import (
    UnresolvedAssetJobDefinition,
)

from wog_assets.defs.core.alerts import Alerts, parser_key
from wog_assets.defs.core.partitions import REPLAYS, contiguous_batches, replays_partitions
from wog_assets.defs.core.pipeline import Pipeline
from wog_assets.defs.core.processes import heal_dead_runs
from wog_assets.defs.core.resources import StatsSiteResource, WarehouseResource
from wog_assets.defs.core.tags import RANGE_END, RANGE_START, REPLAY_TAG, RUN_KEY_TAG, TRIGGER_TAG
from wog_core.clock import SITE_TIMEZONE
from wog_core.models import GameListing, GamePage
from wog_sources.client import SiteClient
from wog_sources.errors import ReplayNotFound, ReplayParseError, SourceError
from wog_sources.parse import parse_game_page
from wog_sources.site import WOG
from wog_warehouse.queue import announced_games

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


SENSOR_FLOOR_KEY = "wog/new_replays/floor"
"""Games up to this id were loaded another way (``wog migrate-wrtd``): never new to the sensor."""


def sensor_floor(instance: dg.DagsterInstance) -> int:
    value = instance.run_storage.get_cursor_values({SENSOR_FLOOR_KEY}).get(SENSOR_FLOOR_KEY)
    return int(value) if value and value.isdigit() else 0


def raise_sensor_floor(instance: dg.DagsterInstance, replay_id: int) -> int:
    """Move the sensor's floor up to ``replay_id`` (never down); returns the floor."""
    floor = max(sensor_floor(instance), replay_id)
    instance.run_storage.set_cursor_values({SENSOR_FLOOR_KEY: str(floor)})
    return floor


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


def new_games_run_request(keys: list[str], attempt: int) -> dg.RunRequest:
    """One run announcing several new games (ids contiguous in the partitions' order): a burst
    of games costs one run's start-up, not one each (each start-up imports the code location)."""
    if len(keys) == 1:
        return new_replay_run_request(int(keys[0]), attempt)
    first, last = keys[0], keys[-1]
    return dg.RunRequest(
        run_key=f"replays-{first}-{last}-try-{attempt}",
        tags={
            TRIGGER_TAG: "new",
            REPLAY_TAG: f"{first}..{last}",
            RANGE_START: first,
            RANGE_END: last,
        },
    )


def _watched_run(instance: dg.DagsterInstance, key: str, state: dict) -> dg.DagsterRun | None:
    """The latest run for a watched game: by the run key the daemon tags its runs with (a game
    announced with others shares their run), else by the game's own tag (a run started another
    way, or a cursor written before runs were shared)."""
    if "run" in state:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: state["run"]}), limit=1)
        if runs:
            return runs[0]
    tags = {REPLAY_TAG: key, TRIGGER_TAG: "new"}
    runs = instance.get_runs(filters=dg.RunsFilter(tags=tags), limit=1)
    return runs[0] if runs else None


def quiet_run_requests(
    instance: dg.DagsterInstance, new_keys: list[str], quiet: list[str], batch: int
) -> list[dg.RunRequest]:
    """Ranged runs loading ``quiet`` games without announcing them, ``batch`` per run.

    ``new_keys`` are the partitions this tick registers (appended in that order), so ranges are
    computed over the order the partitions will have.
    """
    order = [*instance.get_dynamic_partitions(REPLAYS), *new_keys]
    requests = []
    for keys in contiguous_batches(order, quiet, batch):
        tags = {TRIGGER_TAG: "quiet"}
        if len(keys) == 1:
            requests.append(
                dg.RunRequest(run_key=f"quiet-{keys[0]}", partition_key=keys[0], tags=tags)
            )
            continue
        tags.update({RANGE_START: keys[0], RANGE_END: keys[-1]})
        requests.append(dg.RunRequest(run_key=f"quiet-{keys[0]}-{keys[-1]}", tags=tags))
    return requests


def _ended_long_ago(page: GamePage, max_age_s: int, now: float) -> bool:
    """Whether the game ended more than ``max_age_s`` ago (page times are Moscow time)."""
    ended = page.ended_at.replace(tzinfo=SITE_TIMEZONE)
    return now - ended.timestamp() > max_age_s


@dataclass
class _Probed:
    """What probing a gap found: games to load (parsed pages, and pages that exist but do not
    parse — loaded quietly so the failure is reported), and ids the site does not have."""

    pages: list[GamePage] = field(default_factory=list)
    unparsed: list[int] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)


def _probe_gap(client: SiteClient, gap: dict, probes: int, warn: Callable[[str], None]) -> _Probed:
    """Probe up to ``probes`` ids of ``gap`` ({"next": lowest, "until": highest}), newest
    first, narrowing it in place; stops early when the site fails (the rest waits)."""
    probed = _Probed()
    while probes > 0 and gap["until"] >= gap["next"]:
        rid = gap["until"]
        try:
            fetched = client.fetch_game_page(rid)
            probed.pages.append(parse_game_page(fetched.text, replay_id=rid, url=fetched.url))
        except ReplayNotFound:
            probed.missing.append(rid)
        except ReplayParseError as exc:
            warn(f"gap recovery: {exc}; loading it quietly")
            probed.unparsed.append(rid)
        except SourceError as exc:
            warn(f"gap recovery paused at replay {rid}: {exc}")
            break
        gap["until"] = rid - 1
        probes -= 1
    return probed


def evaluate_new_replays(
    context: dg.SensorEvaluationContext,
    site: StatsSiteResource,
    warehouse: WarehouseResource,
    pipeline: Pipeline,
) -> dg.SensorResult | dg.SkipReason:
    """One tick: read the games list, recover ids a gap hid, register new ids, request their
    runs — announced for qualifying games, quiet (batched) for the others — and retry."""
    policy = pipeline.source(WOG).policy  # who is announced
    knobs = pipeline.knobs
    alerts = pipeline.alerts
    heal_dead_runs(context.instance, context.log.warning)
    cursor = _load_cursor(context.cursor)
    now = time.time()
    # Games up to the floor were loaded another way (wog migrate-wrtd): never new to the sensor,
    # and the first tick after a migration is an ordinary one.
    floor = sensor_floor(context.instance)
    if floor > int(cursor.get("max_id", 0)):
        cursor = {**cursor, "max_id": floor}
    try:
        with site.client(max_retries=1) as client:
            listing = client.list_games()
            gap = _open_gap(cursor, listing)
            probed = (
                _probe_gap(client, gap, knobs.gap_probes_per_tick, context.log.warning)
                if gap
                else _Probed()
            )
    except ReplayParseError as exc:
        # A page that no longer matches the parser is never "no new games".
        message = f"the games list no longer matches the parser: {exc}"
        alerts.send(
            warehouse.engine,
            parser_key("list", exc.detail),
            alerts.text("alert_list_unparsed", error=exc),
        )
        raise dg.Failure(message) from None
    except SourceError as exc:
        return _site_down(context, warehouse, alerts, cursor, now, exc, knobs.site_down_alert_s)
    _site_back(warehouse, alerts, cursor)
    recovered = probed.pages
    if not listing and not recovered and not probed.unparsed:
        return dg.SkipReason("the games list shows no games")

    min_players = policy.min_players
    first_tick = "max_id" not in cursor
    max_id = int(cursor.get("max_id", 0))
    watch: dict[str, dict] = dict(cursor.get("watch", {}))

    known = set(context.instance.get_dynamic_partitions(REPLAYS))
    new_ids = sorted(g.replay_id for g in listing if g.replay_id > max_id)
    qualifying = sorted(
        g.replay_id for g in listing if g.replay_id in set(new_ids) and g.players >= min_players
    )
    if first_tick:
        start = knobs.start_from_replay
        qualifying = [i for i in qualifying if i >= start] if start else qualifying[-1:]
    announce = set(qualifying)
    for page in recovered:
        if page.players_active >= min_players and not _ended_long_ago(page, policy.max_age_s, now):
            announce.add(page.replay_id)
    found_ids = sorted({*new_ids, *(p.replay_id for p in recovered), *probed.unparsed})
    to_register = [str(i) for i in found_ids if str(i) not in known]
    for rid in sorted(announce):
        watch.setdefault(str(rid), {"tries": 0, "next": 0, "since": now})
    quiet = [str(i) for i in found_ids if i not in announce]

    run_requests: list[dg.RunRequest] = []
    budget = knobs.sensor_max_runs
    first_tries: list[str] = []
    queued: set[int] | None = None  # games whose message is queued, looked up once if needed
    for key in sorted(watch, key=int, reverse=True):  # the newest game runs first
        state = watch[key]
        if state["tries"]:
            run = _watched_run(context.instance, key, state)
            status = run.status if run else None
            if status == SUCCESS:
                del watch[key]
                continue
            if status in UNFINISHED or now < state["next"]:
                continue
            if queued is None:  # a run of several games can fail for one: the others are done
                queued = announced_games(warehouse.engine, [int(k) for k in watch])
            if int(key) in queued:
                del watch[key]
                continue
            if now - state["since"] > knobs.retry_window_s:
                message = (
                    f"replay {key}: giving up after {state['tries']} tries; "
                    "re-run it from the UI or `wog announce " + key + "`"
                )
                context.log.warning(message)
                text = alerts.text("alert_gave_up", replay=key, tries=state["tries"])
                alerts.send(warehouse.engine, f"gave-up:{key}", text)
                del watch[key]
                continue
        if not state["tries"]:  # first tries: one run for the tick's new games (below)
            first_tries.append(key)
            continue
        if budget == 0:
            break
        budget -= 1
        state["tries"] += 1
        state["next"] = now + min(RETRY_BACKOFF_CAP_S, 60 * 2 ** (state["tries"] - 1))
        request = new_replay_run_request(int(key), state["tries"])  # a retry runs on its own
        state["run"] = request.run_key
        run_requests.append(request)
    order = [*context.instance.get_dynamic_partitions(REPLAYS), *to_register]
    for keys in contiguous_batches(order, first_tries, knobs.backfill_batch)[::-1]:
        if budget == 0:
            break
        budget -= 1
        request = new_games_run_request(keys, 1)
        for key in keys:
            watch[key].update(tries=1, next=now + 60, run=request.run_key)
        run_requests.append(request)
    run_requests += quiet_run_requests(context.instance, to_register, quiet, knobs.backfill_batch)

    listed_max = max((g.replay_id for g in listing), default=max_id)
    new_cursor: dict = {"max_id": max(max_id, listed_max), "watch": watch}
    if gap and gap["until"] >= gap["next"]:
        new_cursor["gap"] = gap
    if probed.missing:
        missing = ", ".join(map(str, sorted(probed.missing)))
        context.log.info(f"gap recovery: not on the site: {missing}")
    dumped = json.dumps(new_cursor, sort_keys=True)
    if not run_requests and not to_register:
        waiting = f"; waiting on {', '.join(sorted(watch, key=int))}" if watch else ""
        newest = listing[0].replay_id if listing else max_id
        return dg.SensorResult(
            skip_reason=f"no new games (newest listed: {newest}){waiting}", cursor=dumped
        )
    return dg.SensorResult(
        run_requests=run_requests,
        dynamic_partitions_requests=[replays_partitions.build_add_request(to_register)]
        if to_register
        else [],
        cursor=dumped,
    )


def _site_down(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    alerts: Alerts,
    cursor: dict,
    now: float,
    exc: SourceError,
    alert_after_s: int,
) -> dg.SensorResult:
    """Skip the tick; remember since when the site is down and tell the admin once it is long."""
    since = float(cursor.get("down_since") or now)
    cursor = {**cursor, "down_since": since}
    if now - since >= alert_after_s and not cursor.get("down_alerted"):
        minutes = (now - since) / 60
        alerts.send(
            warehouse.engine,
            f"site-down:{int(since)}",
            alerts.text("alert_site_down", minutes=f"{minutes:.0f}", error=exc),
        )
        cursor["down_alerted"] = True
    return dg.SensorResult(
        skip_reason=f"stats site unreachable, will try again next tick: {exc}",
        cursor=json.dumps(cursor, sort_keys=True),
    )


def _site_back(warehouse: WarehouseResource, alerts: Alerts, cursor: dict) -> None:
    """The site answers again: if the admin was told it was down, tell them it is back."""
    since = cursor.pop("down_since", None)
    if cursor.pop("down_alerted", False) and since is not None:
        alerts.send(warehouse.engine, f"site-up:{int(since)}", alerts.text("alert_site_up"))


def _open_gap(cursor: dict, listing: list[GameListing]) -> dict | None:
    """The ids between the cursor and the oldest new game on the list, which the list no
    longer shows (it has only room for the newest games).

    Remembered in the cursor (``{"next": lowest, "until": highest}``) until every id in it was
    probed, so an outage longer than one list page loses no game.
    """
    gap = dict(cursor["gap"]) if isinstance(cursor.get("gap"), dict) else None
    if "max_id" not in cursor or not listing:
        return gap
    max_id = int(cursor["max_id"])
    new_ids = [g.replay_id for g in listing if g.replay_id > max_id]
    if new_ids and min(new_ids) > max_id + 1:
        oldest_new = min(new_ids)
        if gap is None:
            gap = {"next": max_id + 1, "until": oldest_new - 1}
        else:
            gap = {
                "next": min(gap["next"], max_id + 1),
                "until": max(gap["until"], oldest_new - 1),
            }
    return gap


def build_new_replays_sensor(
    pipeline: Pipeline, job: UnresolvedAssetJobDefinition
) -> dg.SensorDefinition:
    """The ``new_replays`` sensor ticking every ``WOG_SENSOR_INTERVAL`` seconds, running ``job``
    (``ingest_replays``)."""

    @dg.sensor(
        name="new_replays",
        job=job,
        minimum_interval_seconds=pipeline.knobs.sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Watches the games list for new replays with at least WOG_MIN_PLAYERS "
        "players and materializes them (tagged as new games, so they are announced).",
    )
    def new_replays(
        context: dg.SensorEvaluationContext, site: StatsSiteResource, warehouse: WarehouseResource
    ) -> dg.SensorResult | dg.SkipReason:
        return evaluate_new_replays(context, site, warehouse, pipeline)

    return new_replays
