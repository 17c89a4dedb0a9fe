"""Running the bot: gateway mode (a bot user, slash commands), webhook mode, one-shot mode.

Lifecycle in gateway mode: the database engine is created on ``StartingEvent``; the delivery
loop and the Twitch watcher start on ``StartedEvent``; they are stopped and awaited on
``StoppingEvent`` (REST still works then, so an in-flight post completes); the engine is
disposed on ``StoppedEvent``. hikari turns SIGTERM (``docker stop``) and SIGINT into a clean
close.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal

import hikari
from sqlalchemy.engine import Engine

from wog_bot.delivery import (
    ChannelSender,
    Dispatcher,
    Senders,
    WebhookSender,
    delivery_rest_app,
)
from wog_core.settings import SET_A_TARGET, BotSettings
from wog_warehouse import queue

log = logging.getLogger("wog_bot")


def _engine(settings: BotSettings) -> tuple[Engine, str]:
    from dbschema.connection import create_engine, database_url

    url = database_url(settings.database_url, settings.data_dir)
    return create_engine(url), url


def _rest_app(settings: BotSettings) -> hikari.RESTApp:
    return hikari.RESTApp(url=settings.discord_api_url)


def _senders(
    settings: BotSettings, rest: hikari.api.RESTClient, webhook_rest: hikari.api.RESTClient | None
) -> Senders:
    senders: list = []
    channels = [*settings.channel_ids, *filter(None, [settings.admin_channel_id])]
    if channels and settings.discord_token:
        senders.append(ChannelSender(rest, channels))
    for webhook in (settings.webhook, settings.admin_webhook):
        if webhook:
            senders.append(WebhookSender(webhook_rest or rest, webhook))
    if not senders:
        raise SystemExit(f"nothing to deliver to: {SET_A_TARGET}")
    return Senders(*senders)


ONCE_WAIT_S = 10.0  # `wog bot --once` waits out rate limits and back-offs this short


class DeliveryRefused(RuntimeError):
    """Discord refused the bot's credentials; the message says which and what it answered."""


async def run_once(settings: BotSettings, given_up: list[str] | None = None) -> int:
    """Deliver everything pending (same guarantees) and return the number handled; a row due
    again within :data:`ONCE_WAIT_S` (a rate limit) is waited for, a later one left pending.

    Rows that failed for good (or ended unknown) and targets paused in this pass are appended to
    ``given_up``, one line each. Raises :class:`DeliveryRefused` when Discord refuses DISCORD_TOKEN, whether or
    not anything was pending (so cron sees a revoked token at once)."""
    engine, _ = _engine(settings)
    app = delivery_rest_app(settings.discord_api_url)
    await app.start()
    try:
        async with contextlib.AsyncExitStack() as stack:
            rest = webhook_rest = None
            if settings.discord_token:
                rest = await stack.enter_async_context(
                    app.acquire(settings.discord_token, hikari.TokenType.BOT)
                )
                try:
                    await rest.fetch_my_user()
                except (hikari.UnauthorizedError, hikari.ForbiddenError) as exc:
                    raise DeliveryRefused(
                        f"Discord refused DISCORD_TOKEN ({int(exc.status)} {exc.message}): "
                        "copy the token again from the Bot page of the Developer Portal"
                    ) from None
            if settings.webhook_url:
                webhook_rest = await stack.enter_async_context(app.acquire(None))
            dispatcher = Dispatcher(engine, _senders(settings, rest, webhook_rest), settings)  # type: ignore[arg-type]
            await dispatcher.starting()
            handled = await dispatcher.deliver_due()
            targets = dispatcher.sender.targets
            while True:
                # A paused target is not waited for: its re-check is the running bot's.
                due = await asyncio.to_thread(
                    functools.partial(queue.next_due_in, engine, targets, paused_too=False)
                )
                if due is None or due > ONCE_WAIT_S:
                    break
                await asyncio.sleep(due)
                handled += await dispatcher.deliver_due()
            if given_up is not None:
                given_up.extend(dispatcher.given_up)
    finally:
        await app.close()
        engine.dispose()
    return handled


async def run_rest_only(settings: BotSettings) -> None:
    """Webhook mode: no gateway, no bot user; deliver notifications and Twitch alerts until SIGTERM."""
    from wog_bot.twitch import TwitchWatcher, WebhookAlertPoster, open_state

    engine, url = _engine(settings)
    app = _rest_app(settings)
    await app.start()
    delivery = delivery_rest_app(settings.discord_api_url)
    await delivery.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        async with app.acquire(None) as webhook_rest, delivery.acquire(None) as delivery_rest:
            webhooks = filter(None, (settings.webhook, settings.admin_webhook))
            senders = Senders(*(WebhookSender(delivery_rest, w) for w in webhooks))
            tasks = [asyncio.create_task(Dispatcher(engine, senders, settings).run(stop, url))]
            if settings.twitch_enabled:
                poster = WebhookAlertPoster(webhook_rest, settings.webhook)  # type: ignore[arg-type]
                watcher = TwitchWatcher(settings, open_state(settings, engine), poster)
                tasks.append(asyncio.create_task(watcher.run(stop)))
            await stop.wait()
            log.info("stopping: finishing the delivery in progress")
            await _stop(stop, tasks)
    finally:
        await delivery.close()
        await app.close()
        engine.dispose()


NO_ALERT_CHANNEL_FOR_TWITCH = (
    "Twitch is configured but WOG_TWITCH_ALERT_CHANNEL_ID is not set: live and clip alerts are "
    "off; set it to the channel that should get them"
)


def twitch_warning(settings: BotSettings, *, gateway: bool) -> str | None:
    """Why Twitch alerts would silently not be posted with these settings, or None."""
    if settings.twitch_enabled and gateway and not settings.twitch_alert_channel_id:
        return NO_ALERT_CHANNEL_FOR_TWITCH
    half = bool(settings.twitch_client_id) != bool(settings.twitch_client_secret)
    if half or (settings.twitch_client_id and not settings.twitch_logins):
        return (
            "Twitch is half configured: set TWITCH_CLIENT_ID, TWITCH_CLIENT_SECRET and "
            "WOG_TWITCH_STREAMERS together; Twitch alerts are off"
        )
    return None


SHUTDOWN_GRACE_S = 20.0  # below compose's stop_grace_period (30 s)


async def _stop(stop: asyncio.Event, tasks: list[asyncio.Task]) -> None:
    """Ask the loops to stop after their current delivery; cancel what outlives the grace."""
    stop.set()
    if not tasks:
        return
    _, pending = await asyncio.wait(tasks, timeout=SHUTDOWN_GRACE_S)
    for task in pending:
        log.warning(
            "%s did not stop within %.0fs; cancelling it", task.get_name(), SHUTDOWN_GRACE_S
        )
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_gateway(settings: BotSettings) -> None:
    """Gateway mode: a bot user with slash commands; blocks until the bot is closed.

    The warehouse is reached before connecting to Discord: a bot that cannot read its queue
    stops with the reason instead of answering commands it cannot serve."""
    engine, url = _engine(settings)
    build_gateway_bot(settings, engine=engine, url=url).run(close_passed_executor=True)


def build_gateway_bot(
    settings: BotSettings, *, engine: Engine | None = None, url: str | None = None
) -> hikari.GatewayBot:
    """The gateway bot with its lifecycle listeners and command handler (not started); it
    connects to the warehouse when starting unless ``engine`` is given."""
    from wog_bot.commands import autocomplete, register_commands, respond
    from wog_bot.twitch import ChannelAlertPoster, TwitchWatcher, open_state
    from wog_report.catalogue import Catalogue

    if not settings.discord_token:
        raise SystemExit("DISCORD_TOKEN is not set (or use --webhook URL for webhook mode)")
    try:
        bot = hikari.GatewayBot(
            settings.discord_token,
            rest_url=settings.discord_api_url,
            intents=hikari.Intents.GUILDS,
        )
    except ValueError:  # hikari reads the bot id from the token's first part
        raise SystemExit("DISCORD_TOKEN is not a bot token (copy it from the Bot page)") from None
    state: dict = {"tasks": [], "stop": None}
    if engine is not None:
        state["engine"], state["url"] = engine, url
    catalogue = Catalogue(settings.language)

    @bot.listen(hikari.StartingEvent)
    async def on_starting(_: hikari.StartingEvent) -> None:
        if "engine" not in state:
            state["engine"], state["url"] = await asyncio.to_thread(_engine, settings)

    @bot.listen(hikari.StartedEvent)
    async def on_started(_: hikari.StartedEvent) -> None:
        from wog_report.chart import warm_up

        # Charts for slash commands: pay matplotlib's first import now, not on a user's command.
        state["tasks"].append(asyncio.create_task(asyncio.to_thread(warm_up), name="warm-up"))
        stop = state["stop"] = asyncio.Event()
        engine = state["engine"]
        # Notifications go through a REST client of their own that never waits with a row
        # in flight (commands and Twitch alerts keep the bot's, which waits out rate limits).
        delivery = state["delivery"] = delivery_rest_app(settings.discord_api_url)
        await delivery.start()
        rest = delivery.acquire(settings.discord_token or "", hikari.TokenType.BOT)
        rest.start()
        state["delivery_clients"] = [rest]
        webhook_rest = None
        if settings.webhook_url:
            webhook_rest = rest  # webhook calls carry their own token
        senders = _senders(settings, rest, webhook_rest)
        state["tasks"].append(
            asyncio.create_task(Dispatcher(engine, senders, settings).run(stop, state["url"]))
        )
        if settings.twitch_enabled and settings.twitch_alert_channel_id:
            poster = ChannelAlertPoster(bot.rest, settings.twitch_alert_channel_id)
            watcher = TwitchWatcher(settings, open_state(settings, engine), poster)
            state["tasks"].append(asyncio.create_task(watcher.run(stop)))
        elif warning := twitch_warning(settings, gateway=True):
            log.warning(warning)
        await register_commands(bot.rest, settings)

    @bot.listen(hikari.StoppingEvent)
    async def on_stopping(_: hikari.StoppingEvent) -> None:
        if state["stop"] is not None:
            await _stop(state["stop"], state["tasks"])

    @bot.listen(hikari.StoppedEvent)
    async def on_stopped(_: hikari.StoppedEvent) -> None:
        for client in state.get("delivery_clients", []):
            await client.close()
        if "delivery" in state:
            await state["delivery"].close()
        if "engine" in state:
            state["engine"].dispose()

    @bot.listen(hikari.InteractionCreateEvent)
    async def on_interaction(event: hikari.InteractionCreateEvent) -> None:
        if isinstance(event.interaction, hikari.CommandInteraction):
            await respond(event.interaction, state["engine"], catalogue)
        elif isinstance(event.interaction, hikari.AutocompleteInteraction):
            await autocomplete(event.interaction, state["engine"])

    return bot
