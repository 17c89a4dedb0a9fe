"""Delivering stored notifications to Discord, exactly once in effect.

A :class:`Dispatcher` claims due rows from the queue (``wog_warehouse.queue``), posts each through a sender — a
bot channel (:class:`ChannelSender`) or a webhook (:class:`WebhookSender`) — and records the
outcome. It wakes on the queue's ``NOTIFY`` and polls as a fallback.

Duplicates and losses after a crash: a row is ``sending`` only while its request is on the
wire. The REST client used for delivery waits out nothing itself (:func:`delivery_rest_app`):
a rate limit or a 5xx comes back at once and the row goes back to ``pending`` with its due time,
so a bot killed while "waiting" leaves nothing in flight and the next bot posts it, once. Each
post carries a ``nonce`` derived from the replay and row id with ``enforce_nonce``, so
re-posting within Discord's window returns the message that was already created instead of a
second one. A row left ``sending`` longer than the stale threshold (killed mid-request) is
checked against the channel's recent messages (a message of ours with that nonce or that game's
link embed) and marked sent if found, else given back to be posted again. Webhooks can neither
list messages nor take a nonce: a stale webhook row is marked ``unknown`` and the admin is
alerted once with the game and the target, never re-posted blindly (``wog notifications retry
N`` after checking).

A refusal of the target itself (:func:`refuses_target`: a deleted webhook or channel, no access,
a revoked token) pauses the target, not the row: one refused request, one admin alert naming
the target and the fix, the rows held pending; the target is tried again with one row when the
bot starts and every ``paused_recheck_s``; the first post that works ends the pause (one more
alert) and everything held is posted, once. Other refusals (400: this message's form) fail the
row alone, with the field Discord named.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, TypedDict

import aiohttp
import hikari
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wog_core.logs import RepeatedWarning
from wog_core.settings import BotSettings, Webhook, redact
from wog_report.build import embeds_from_payload
from wog_report.catalogue import Catalogue
from wog_warehouse import queue

log = logging.getLogger("wog_bot.delivery")
PERMANENT = (
    hikari.BadRequestError,
    hikari.UnauthorizedError,
    hikari.ForbiddenError,
    hikari.NotFoundError,
)


class _Mentions(TypedDict):
    mentions_everyone: bool
    user_mentions: bool
    role_mentions: bool


NO_MENTIONS: _Mentions = {
    "mentions_everyone": False,
    "user_mentions": False,
    "role_mentions": False,
}
"""Every post mentions nobody: user text (nicknames, mission names) never pings."""


class CannotVerify(Exception):
    """The sender has no way to tell whether an interrupted post reached Discord."""


class Sender(Protocol):
    targets: list[str]

    async def send(self, claimed: queue.Claimed, *, with_attachment: bool = True) -> int: ...

    async def find_delivered(self, claimed: queue.Claimed) -> int | None: ...


def _is_ours(message: hikari.Message, claimed: queue.Claimed, me: int | None) -> bool:
    if me is not None and message.author.id != me:
        return False
    if message.nonce == claimed.nonce:
        return True
    marker = f"/games/{claimed.replay_id}/"
    return any((e.url or "").endswith(marker) for e in message.embeds)


class ChannelSender:
    """Posts as the bot user to text channels (``channel:<id>`` targets)."""

    def __init__(self, rest: hikari.api.RESTClient, channel_ids: list[int]):
        self.rest = rest
        self.targets = [f"channel:{c}" for c in channel_ids]
        self._me: int | None = None

    async def send(self, claimed: queue.Claimed, *, with_attachment: bool = True) -> int:
        channel = int(claimed.target.split(":", 1)[1])
        attachment = claimed.attachment if with_attachment else None
        message = await self.rest.create_message(
            channel,
            claimed.payload.get("content") or hikari.UNDEFINED,
            embeds=embeds_from_payload(claimed.payload, attachment),
            nonce=claimed.nonce,
            **NO_MENTIONS,
        )
        return int(message.id)

    async def find_delivered(self, claimed: queue.Claimed) -> int | None:
        if self._me is None:
            self._me = int((await self.rest.fetch_my_user()).id)
        channel = int(claimed.target.split(":", 1)[1])
        for message in await self.rest.fetch_messages(channel).limit(100):
            if _is_ours(message, claimed, self._me):
                return int(message.id)
        return None


class WebhookSender:
    """Posts through one webhook (``webhook:<id>`` target), no bot user needed."""

    def __init__(self, rest: hikari.api.RESTClient, webhook: Webhook):
        self.rest = rest
        self.webhook_id = webhook.id
        self.token = webhook.token
        self.targets = [webhook.target]

    async def send(self, claimed: queue.Claimed, *, with_attachment: bool = True) -> int:
        attachment = claimed.attachment if with_attachment else None
        message = await self.rest.execute_webhook(
            self.webhook_id,
            self.token,
            claimed.payload.get("content") or hikari.UNDEFINED,
            embeds=embeds_from_payload(claimed.payload, attachment),
            **NO_MENTIONS,
        )
        return int(message.id)

    async def find_delivered(self, claimed: queue.Claimed) -> int | None:
        raise CannotVerify("webhooks cannot list messages")


class Senders:
    """Routes each target to the sender that owns it."""

    def __init__(self, *senders: Sender):
        self._by_target = {t: s for s in senders for t in s.targets}
        self.targets = list(self._by_target)

    async def send(self, claimed: queue.Claimed, *, with_attachment: bool = True) -> int:
        return await self._by_target[claimed.target].send(claimed, with_attachment=with_attachment)

    async def find_delivered(self, claimed: queue.Claimed) -> int | None:
        return await self._by_target[claimed.target].find_delivered(claimed)


def describe(exc: BaseException) -> str:
    """A one-line description of a delivery error (status, Discord's message and code)."""
    if isinstance(exc, hikari.HTTPResponseError):
        phrase = getattr(exc.status, "phrase", "")
        code = f" (code {exc.code})" if exc.code else ""
        fields = ""
        if isinstance(exc, hikari.BadRequestError) and exc.errors:
            fields = " — " + "; ".join(form_errors(exc.errors)[:3])
        return f"{int(exc.status)} {phrase}: {exc.message}{code}{fields}".replace(" :", ":")
    return f"{type(exc).__name__}: {exc}".strip()


def form_errors(errors: object, path: str = "") -> list[str]:
    """Discord's "Invalid Form Body" details as ``field.path: message`` lines (the field of a
    400 is what is wrong with that one row)."""
    if not isinstance(errors, dict):
        return []
    lines: list[str] = []
    for key, value in errors.items():
        if key == "_errors" and isinstance(value, list):
            messages = [str(e.get("message", "")) for e in value if isinstance(e, dict)]
            lines.append(f"{path or 'body'}: {', '.join(messages)}")
        else:
            lines += form_errors(value, f"{path}.{key}" if path else str(key))
    return lines


# Discord's answers when a message is refused for its file: Missing Permissions (no Attach
# Files; also no Send Messages, which the retry without the file tells apart), Request entity
# too large, file too large.
_ATTACHMENT_CODES = {50013, 40005, 50045}


def may_be_the_attachment(exc: BaseException) -> bool:
    """Whether a refusal might be caused by the message's file (worth one try without it)."""
    if not isinstance(exc, hikari.HTTPResponseError):
        return False
    return int(exc.status) == 413 or (
        int(exc.status) in (400, 403) and exc.code in _ATTACHMENT_CODES
    )


def delivery_rest_app(api_url: str) -> hikari.RESTApp:
    """A REST app for posting notifications that never waits or retries on its own.

    hikari would otherwise sleep through a 429 (up to 5 minutes) or retry a 5xx inside the
    call, with the row claimed: a crash then would leave it ``sending``. Here both raise at
    once and the dispatcher records the due time instead.
    """
    return hikari.RESTApp(url=api_url, max_rate_limit=0.0, max_retries=0)


_TARGET_REFUSALS = (401, 403, 404)


def refuses_target(exc: BaseException) -> bool:
    """Whether Discord refused the target rather than this one message.

    401 (a webhook's token no longer valid, or the bot's), 403 (no access or no permission to
    post in that channel — a refusal for the chart was already retried without it) and 404 (the
    webhook or channel is gone) answer the same for every message to that target.
    """
    return isinstance(exc, hikari.HTTPResponseError) and int(exc.status) in _TARGET_REFUSALS


def fix_for(exc: BaseException, target: str) -> str:
    """The catalogue key of what an admin does about a target refusal."""
    status = int(exc.status) if isinstance(exc, hikari.HTTPResponseError) else 0
    if target.startswith("webhook:") and status in (401, 404):
        return "fix_gone_webhook"
    if status == 401:
        return "fix_token"
    return "fix_gone_channel" if status == 404 else "fix_no_access"


def is_permanent(exc: BaseException) -> bool:
    if isinstance(exc, PERMANENT):
        return True
    return isinstance(exc, hikari.ClientHTTPResponseError) and int(exc.status) != 429


class Dispatcher:
    def __init__(
        self,
        engine: Engine,
        sender: Senders,
        settings: BotSettings,
        *,
        sleep: Callable = asyncio.sleep,
    ):
        self.engine = engine
        self.sender = sender
        self.settings = settings
        self._sleep = sleep
        self.t = Catalogue(settings.language)  # operator alerts, in the bot's language
        self.delivered = 0
        # One line per row failed for good or unknown, and per target paused, this pass.
        self.given_up: list[str] = []

    def backoff(self, attempts: int) -> float:
        delay = min(
            self.settings.retry_cap_s, self.settings.retry_base_s * 2.0 ** max(0, attempts - 1)
        )
        return delay / 2 + random.uniform(0, delay / 2)

    async def deliver_one(self) -> bool:
        """Claim and deliver one due row; False when none is due."""
        claimed = await asyncio.to_thread(
            queue.claim, self.engine, self.sender.targets, self.settings.paused_recheck_s
        )
        if claimed is None:
            return False
        note = None
        try:
            try:
                message_id = await self.sender.send(claimed)
            except Exception as exc:
                if claimed.attachment is None or not may_be_the_attachment(exc):
                    raise
                # Refused for the chart? Post the message without it rather than lose it.
                message_id = await self.sender.send(claimed, with_attachment=False)
                note = f"posted without the chart: {redact(describe(exc), self.settings)}"
                log.warning("notification %s to %s %s", claimed.id, claimed.target, note)
                await self._alert(
                    f"no-chart:{claimed.target}",
                    self.t("alert_no_chart", target=claimed.target, error=describe(exc)),
                )
        except asyncio.CancelledError:
            raise  # the row stays 'sending'; recovery resolves it
        except hikari.RateLimitTooLongError as exc:
            # Discord asked us to wait: not a failure, and not a wait with the row in flight.
            delay = max(0.05, exc.retry_after)
            log.info(
                "notification %s (%s): rate limited; due in %.1fs", claimed.id, claimed.about, delay
            )
            await asyncio.to_thread(
                queue.mark_retry, self.engine, claimed, "rate limited", delay, attempt=False
            )
            return True
        except Exception as exc:
            error = redact(describe(exc), self.settings)
            if refuses_target(exc):
                await self._pause(claimed, exc, error)
            elif is_permanent(exc):
                log.error(
                    "notification %s (%s → %s) failed: %s",
                    claimed.id,
                    claimed.about,
                    claimed.target,
                    error,
                )
                await asyncio.to_thread(queue.mark_failed, self.engine, claimed, error)
                await self._alert_failed(claimed, error)
            elif claimed.attempts >= self.settings.max_attempts:
                error = f"gave up after {claimed.attempts} attempts; last: {error}"
                log.error("notification %s (%s) %s", claimed.id, claimed.about, error)
                await asyncio.to_thread(queue.mark_failed, self.engine, claimed, error)
                await self._alert_failed(claimed, error)
            else:
                delay = self.backoff(claimed.attempts)
                log.warning(
                    "notification %s (%s): %s; retry in %.0fs",
                    claimed.id,
                    claimed.about,
                    error,
                    delay,
                )
                await asyncio.to_thread(queue.mark_retry, self.engine, claimed, error, delay)
            return True
        # Posted: record it even if we are being cancelled right now (shutdown), so a routine
        # restart never leaves a delivered row behind as 'sending'.
        await asyncio.shield(
            asyncio.to_thread(queue.mark_sent, self.engine, claimed, message_id, note)
        )
        self.delivered += 1
        log.info(
            "notification %s: %s posted to %s (message %s)",
            claimed.id,
            claimed.about,
            claimed.target,
            message_id,
        )
        if claimed.probe:
            await self._resumed(claimed.target)
        return True

    async def _pause(self, claimed: queue.Claimed, exc: BaseException, error: str) -> None:
        """The target refused: hold the row, pause the target, tell the admin once per pause."""
        recheck = self.settings.paused_recheck_s
        started = await asyncio.to_thread(queue.hold, self.engine, claimed, error, recheck)
        if started is None:  # a re-check of a paused target, refused again
            log.warning(
                "%s still refuses posts (%s); next check in %.0fs", claimed.target, error, recheck
            )
            self.given_up.append(f"paused: {claimed.target} still refuses posts ({error})")
            return
        log.error(
            "%s refuses posts: %s; posting there is paused, %d notification(s) held, next "
            "check in %.0fs (wog notifications retry --target %s)",
            claimed.target,
            error,
            started.held,
            recheck,
            claimed.target,
        )
        self.given_up.append(
            f"paused: {claimed.target} refuses posts ({error}); {started.held} notification(s) "
            "held — see 'wog notifications list'"
        )
        text = self.t(
            "alert_paused",
            target=claimed.target,
            error=error,
            fix=self.t(fix_for(exc, claimed.target)),
            held=started.held,
            minutes=max(1, round(recheck / 60)),
        )
        await self._alert(f"paused:{claimed.target}:{started.paused_at.timestamp():.0f}", text)

    async def _resumed(self, target: str) -> None:
        """A re-check worked: end the pause and say so once."""
        ended = await asyncio.to_thread(queue.resume, self.engine, target)
        if ended is None:
            return
        held = ended.held + 1  # the probe just posted, and those still waiting
        log.info("%s accepts posts again; posting its %d held notification(s)", target, held)
        await self._alert(
            f"resumed:{target}:{ended.paused_at.timestamp():.0f}",
            self.t("alert_resumed", target=target, held=held),
        )

    async def _alert(self, key: str, text: str) -> None:
        """Queue an operator alert (once per key) for the admin target; logged if none."""
        targets = self.settings.admin_targets
        await asyncio.to_thread(queue.enqueue_alert, self.engine, key, text, targets)

    async def _alert_failed(
        self, claimed: queue.Claimed, error: str, *, unknown: bool = False
    ) -> None:
        """Note a row given up (failed for good, or unknown) and tell the admin once."""
        status = "unknown: " if unknown else ""
        self.given_up.append(
            f"failed: notification {claimed.id} ({claimed.about} → {claimed.target}): "
            f"{status}{error}"
        )
        if claimed.is_alert:
            return  # an alert that cannot be posted is logged, never alerted about again
        kind = "unknown" if unknown else "failed"
        text = self.t(
            f"alert_{kind}", about=claimed.about, target=claimed.target, error=error, id=claimed.id
        )
        await self._alert(f"{kind}:{claimed.id}", text)

    async def deliver_due(self, stop: asyncio.Event | None = None) -> int:
        """Deliver every row that is due now (until ``stop``); returns how many were handled."""
        handled = 0
        while not (stop and stop.is_set()) and await self.deliver_one():
            handled += 1
        return handled

    async def starting(self) -> None:
        """What a bot does once when it starts: resolve rows left in flight, and try every
        paused target again now (an admin who fixed it restarts the bot)."""
        await self.recover_stale()
        paused = await asyncio.to_thread(queue.recheck_now, self.engine, self.sender.targets)
        if paused:
            log.info("%d paused target(s): trying each again with one message", paused)

    async def recover_stale(self, older_than_s: float | None = None) -> int:
        """Resolve rows left ``sending`` by a dispatcher that died mid-delivery."""
        threshold = self.settings.stale_sending_s if older_than_s is None else older_than_s
        stale = await asyncio.to_thread(
            queue.stale_sending, self.engine, self.sender.targets, threshold
        )
        for claimed in stale:
            try:
                found = await self.sender.find_delivered(claimed)
            except CannotVerify:
                error = (
                    "delivery was interrupted mid-request and a webhook cannot tell whether it "
                    f"was posted; check the channel, then 'wog notifications retry {claimed.id}' "
                    "if it is missing"
                )
                await asyncio.to_thread(queue.mark_unknown, self.engine, claimed, error)
                log.error("notification %s (%s): %s", claimed.id, claimed.about, error)
                await self._alert_failed(claimed, error, unknown=True)
                continue
            except Exception as exc:
                log.warning(
                    "could not check notification %s: %s",
                    claimed.id,
                    redact(describe(exc), self.settings),
                )
                continue
            if found is not None:
                log.info(
                    "notification %s was already posted (message %s); marking it sent",
                    claimed.id,
                    found,
                )
                await asyncio.to_thread(queue.mark_sent, self.engine, claimed, found)
            else:
                await asyncio.to_thread(queue.release, self.engine, claimed)
        return len(stale)

    async def run(self, stop: asyncio.Event, database_url: str) -> None:
        """Deliver until ``stop`` is set: on NOTIFY, and every ``poll_interval_s`` regardless."""
        import psycopg

        from dbschema.connection import libpq_url

        await self.starting()
        lost = RepeatedWarning(log, "the notification listener lost the database; reconnecting")
        while not stop.is_set():
            try:
                async with await psycopg.AsyncConnection.connect(
                    libpq_url(database_url), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {queue.NOTIFY_CHANNEL}")
                    lost.recovered()
                    log.info("listening for notifications on %s", ", ".join(self.sender.targets))
                    while not stop.is_set():
                        heartbeat(self.settings.heartbeat_file)
                        await self.deliver_due(stop)
                        wait = self.settings.poll_interval_s
                        due = await asyncio.to_thread(
                            queue.next_due_in, self.engine, self.sender.targets
                        )
                        if due is not None:
                            wait = min(wait, max(due, 0.05))
                        await _wait_for_notify(conn, stop, wait)
                        await self.recover_stale()
            except (psycopg.OperationalError, OSError, sa.exc.OperationalError) as exc:
                lost.failed(exc)
                await _sleep_or_stop(stop, 2.0)


def heartbeat(path: Path | None) -> None:
    """Touch the heartbeat file on every loop of a running dispatcher (``wog healthcheck``)."""
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    except OSError as exc:  # a read-only disk must not stop delivery
        log.debug("cannot touch %s: %s", path, exc)


async def _wait_for_notify(conn, stop: asyncio.Event, timeout: float) -> None:  # type: ignore[no-untyped-def]
    """Return on a NOTIFY, on ``stop``, or after ``timeout`` seconds.

    The helper tasks are always cancelled and awaited, even when this coroutine is cancelled:
    a ``notifies()`` generator left running would keep the connection's lock and hang its close.
    """
    notifies = asyncio.ensure_future(_first_notify(conn, timeout))
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({notifies, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (notifies, stopped):
            task.cancel()
        results = await asyncio.gather(notifies, stopped, return_exceptions=True)
    for result in results:
        if isinstance(result, Exception):
            raise result


async def _first_notify(conn, timeout: float) -> None:  # type: ignore[no-untyped-def]
    async for _ in conn.notifies(timeout=timeout, stop_after=1):
        pass


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)


_ = aiohttp  # transport errors surface as aiohttp exceptions: transient by design
