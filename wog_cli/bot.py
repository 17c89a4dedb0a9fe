"""``wog bot`` and ``wog notifications …``: the Discord side."""

from __future__ import annotations

import click

from wog_cli.common import engine, settings


@click.command("bot")
@click.option(
    "--webhook",
    "webhook_url",
    help="Deliver through this Discord webhook URL (no bot user, no gateway).",
)
@click.option(
    "--once", is_flag=True, help="Deliver everything pending, then exit (for cron and tests)."
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging.")
def bot_cmd(webhook_url: str | None, once: bool, verbose: bool) -> None:
    """Run the Discord bot: deliver notifications, Twitch alerts, slash commands.

    With --once it exits 1 when Discord refuses the token or a notification failed for good
    (one line each), so cron notices.

    Gateway mode needs DISCORD_TOKEN and WOG_DISCORD_CHANNEL_IDS. With --webhook (or
    WOG_DISCORD_WEBHOOK_URL and no token) it posts through a webhook only. Every setting is in
    docs/admin.md and .env.example.

    Example: wog bot --once
    """
    import asyncio
    import dataclasses
    import logging

    from wog_core.logs import install_log_redaction
    from wog_core.settings import SettingsError, Webhook

    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    bot_settings = settings().bot
    if webhook_url:
        try:
            Webhook.parse(webhook_url, "--webhook")
        except SettingsError as exc:
            raise click.ClickException(str(exc)) from None
        bot_settings = dataclasses.replace(bot_settings, webhook_url=webhook_url)
        install_log_redaction(bot_settings.secrets)
    mismatch = bot_settings.webhook_host_mismatch()
    if mismatch:
        raise click.ClickException(mismatch)
    from wog_bot import app

    if once:
        given_up: list[str] = []
        try:
            handled = asyncio.run(app.run_once(bot_settings, given_up))
        except app.DeliveryRefused as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"handled {handled} notification(s)")
        if given_up:  # cron sees it: exit 1, one line per notification given up or target paused
            for line in given_up:
                click.echo(line, err=True)
            raise SystemExit(1)
    elif bot_settings.discord_token and not webhook_url:
        app.run_gateway(bot_settings)
    elif bot_settings.webhook_url:
        asyncio.run(app.run_rest_only(bot_settings))
    else:
        raise click.ClickException("set DISCORD_TOKEN (gateway mode) or pass --webhook URL")


@click.group()
def notifications() -> None:
    """Inspect and retry Discord notifications.

    Example: wog notifications list --status failed
    """


def _statuses() -> list[str]:
    from dbschema.tables import NOTIFICATION_STATUSES

    return list(NOTIFICATION_STATUSES)


@notifications.command("list")
@click.option("--status", type=click.Choice(_statuses()), help="Only rows with this status.")
@click.option("--limit", default=50, show_default=True)
def notifications_list(status: str | None, limit: int) -> None:
    """List paused targets, then notifications, newest first.

    A target Discord refuses for good (deleted webhook or channel, no access) is paused: its
    rows wait pending ("held") and the bot tries it again with one message on its start and
    every WOG_PAUSED_RECHECK seconds.

    Example: wog notifications list --status failed --limit 20
    """
    from wog_warehouse.queue import list_notifications, paused_targets

    db = engine()
    for p in paused_targets(db):
        click.echo(
            f"paused: {p.target} since {p.paused_at:%Y-%m-%d %H:%M} UTC, {p.held} held, next "
            f"check {p.next_check_at:%H:%M} UTC — {p.reason}"
        )
    rows = list_notifications(db, status, limit)
    if not rows:
        click.echo("no notifications")
        return
    click.echo(
        f"{'id':>6} {'replay':>7} {'target':<26} {'status':<10} {'tries':>5}  message / error"
    )
    for r in rows:
        detail = r["last_error"] or (
            str(r["discord_message_id"]) if r["discord_message_id"] else ""
        )
        replay = r["replay_id"] if r["replay_id"] is not None else "-"
        click.echo(
            f"{r['id']:>6} {replay:>7} {r['target']:<26} {r['status']:<10} "
            f"{r['attempts']:>5}  {detail}"
        )


@notifications.command("retry")
@click.argument("notification_id", type=int, required=False)
@click.option(
    "--target",
    metavar="TARGET",
    help="Everything for one target (channel:<id> or webhook:<id>): re-check it now if it is "
    "paused, and retry its failed rows.",
)
@click.option("--failed", "all_failed", is_flag=True, help="Every failed and unknown row.")
def notifications_retry(notification_id: int | None, target: str | None, all_failed: bool) -> None:
    """Queue notifications for delivery again: one row, one target's, or every failed one.

    A running bot posts them at once; a target still refused is paused again by its first
    message, not hammered.

    Example: wog notifications retry 42 (or --target webhook:123, or --failed)
    """
    from wog_warehouse.queue import IN_FLIGHT_OR_DONE, retry, retry_failed, retry_target

    if sum(x is not None and x is not False for x in (notification_id, target, all_failed)) != 1:
        raise click.UsageError("give one of: a notification id, --target TARGET, --failed")
    db = engine()
    if target is not None:
        _check_target(target, "--target")
        pause, count = retry_target(db, target)
        paused = f"paused, re-checked now with {pause.held} held row(s); " if pause else ""
        click.echo(f"{target}: {paused}{count} failed/unknown row(s) -> pending")
        return
    if all_failed:
        click.echo(f"{retry_failed(db)} failed/unknown notification(s) -> pending")
        return
    assert notification_id is not None
    previous = retry(db, notification_id)
    if previous is None:
        raise click.ClickException(f"no notification {notification_id}")
    if previous in IN_FLIGHT_OR_DONE:
        raise click.ClickException(f"notification {notification_id} is {previous}; not retried")
    click.echo(f"notification {notification_id}: {previous} -> pending")


def _check_target(target: str, where: str) -> None:
    kind, _, ident = target.partition(":")
    if kind not in ("channel", "webhook") or not ident.isascii() or not ident.isdigit():
        raise click.BadParameter(
            f"{target!r}: a target is channel:<id> or webhook:<id>", param_hint=where
        )


@notifications.command("move")
@click.argument("old")
@click.argument("new")
def notifications_move(old: str, new: str) -> None:
    """Give a target's undelivered messages to another target.

    A deleted webhook created again has a new id (webhook:<new id>): its held messages move
    there and are posted by the bot, once; messages the new target already has stay.

    Example: wog notifications move webhook:111 webhook:222
    """
    from wog_warehouse.queue import move_target

    _check_target(old, "OLD")
    _check_target(new, "NEW")
    if old == new:
        raise click.BadParameter("OLD and NEW are the same target", param_hint="NEW")
    click.echo(f"{move_target(engine(), old, new)} notification(s) moved from {old} to {new}")


COMMANDS = [bot_cmd, notifications]
