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
    the README and .env.example.

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
        if given_up:  # cron sees it: exit 1, one line per notification given up
            for line in given_up:
                click.echo(f"failed: {line}", err=True)
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
    """List notifications, newest first.

    Example: wog notifications list --status failed --limit 20
    """
    from wog_warehouse.queue import list_notifications

    rows = list_notifications(engine(), status, limit)
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
        click.echo(
            f"{r['id']:>6} {r['replay_id']:>7} {r['target']:<26} {r['status']:<10} "
            f"{r['attempts']:>5}  {detail}"
        )


@notifications.command("retry")
@click.argument("notification_id", type=int)
def notifications_retry(notification_id: int) -> None:
    """Queue a failed (or suppressed) notification for delivery again.

    Example: wog notifications retry 42
    """
    from wog_warehouse.queue import IN_FLIGHT_OR_DONE, retry

    previous = retry(engine(), notification_id)
    if previous is None:
        raise click.ClickException(f"no notification {notification_id}")
    if previous in IN_FLIGHT_OR_DONE:
        raise click.ClickException(f"notification {notification_id} is {previous}; not retried")
    click.echo(f"notification {notification_id}: {previous} -> pending")


COMMANDS = [bot_cmd, notifications]
