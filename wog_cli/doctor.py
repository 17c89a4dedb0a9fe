"""``wog doctor``: the first command an admin runs, and the one they paste into a bug report.

One line per item — ``✓`` works, ``✗`` broken (with the exact fix), ``–`` not configured (with
what it would enable). Exit 1 on any ``✗``. Secrets are never printed; every line is redacted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import click
import httpx

from wog_cli.common import settings
from wog_core.settings import SET_A_TARGET, SourceSettings

OK, BROKEN, OFF = "✓", "✗", "–"
# Discord permission bits the bot needs in a game channel, with their names in the client.
NEEDED = {
    1 << 10: "View Channel",
    1 << 11: "Send Messages",
    1 << 14: "Embed Links",
    1 << 15: "Attach Files",
}
ADMINISTRATOR = 1 << 3


@dataclass
class Line:
    mark: str
    item: str
    detail: str


def _check(item: str, run: Callable[[], str]) -> Line:
    """Run one check: its return is the ✓ detail; an exception is the ✗ detail."""
    try:
        return Line(OK, item, run())
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Line(
            BROKEN,
            item,
            f"the answer was incomplete or unexpected ({type(exc).__name__}: {exc}); could not check",
        )
    except Exception as exc:
        return Line(
            BROKEN,
            item,
            str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__,
        )


# --- database ---------------------------------------------------------------------------------


def check_database() -> str:
    from dbschema.connection import create_engine, redact_url
    from dbschema.migrate import current_revision, head_revision
    from wog_cli.common import warehouse_url

    engine = create_engine(warehouse_url())
    try:
        current, head = current_revision(engine), head_revision()
    finally:
        engine.dispose()
    if current != head:
        raise RuntimeError(
            f"{redact_url(engine.url)} is at revision {current or 'none'}, not {head}: "
            "run 'wog db upgrade'"
        )
    return f"{redact_url(engine.url)} reachable, migrated ({head})"


# --- Discord ----------------------------------------------------------------------------------


def _discord(api: str, token: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bot {token}"} if token else {}
    return httpx.Client(base_url=api.rstrip("/"), headers=headers, timeout=15.0)


def _json(response: httpx.Response, what: str) -> Any:  # JSON, as Discord sent it
    if response.status_code == 401:
        raise RuntimeError(f"{what}: 401 Unauthorized — the token is wrong or was reset")
    if response.status_code >= 400:
        try:
            message = response.json().get("message", "")
        except ValueError:
            message = response.text[:100]
        raise RuntimeError(f"{what}: {response.status_code} {message}".strip())
    return response.json()


def check_token(api: str, token: str) -> str:
    with _discord(api, token) as client:
        me = _json(client.get("/users/@me"), "DISCORD_TOKEN")
    return f"bot user {me.get('username', '?')} ({me.get('id', '?')})"


def check_webhook(api: str, webhook_id: int, webhook_token: str, variable: str) -> str:
    with _discord(api, None) as client:
        hook = _json(client.get(f"/webhooks/{webhook_id}/{webhook_token}"), variable)
    return f"webhook {hook.get('name', '?')} posts to channel {hook.get('channel_id', '?')}"


def channel_permissions(api: str, token: str, channel_id: int) -> int:
    """The bot's permissions in a channel: guild roles, then the channel's overwrites."""
    with _discord(api, token) as client:
        me = _json(client.get("/users/@me"), "DISCORD_TOKEN")
        channel = _json(client.get(f"/channels/{channel_id}"), f"channel {channel_id}")
        guild = channel.get("guild_id")
        if not guild:
            raise RuntimeError(f"channel {channel_id} is not a server channel")
        roles = {r["id"]: int(r.get("permissions", 0)) for r in _json(
            client.get(f"/guilds/{guild}/roles"), f"roles of server {guild}")}  # fmt: skip
        member = _json(client.get(f"/guilds/{guild}/members/{me['id']}"), "the bot's membership")
    mine = {guild, *member.get("roles", [])}  # @everyone's role id is the guild id
    allowed = 0
    for role in mine:
        allowed |= roles.get(role, 0)
    if allowed & ADMINISTRATOR:
        return ~0
    overwrites = {o["id"]: o for o in channel.get("permission_overwrites", [])}

    def apply(allowed: int, ows: list[dict]) -> int:
        deny = allow = 0
        for o in ows:
            deny |= int(o.get("deny", 0))
            allow |= int(o.get("allow", 0))
        return (allowed & ~deny) | allow

    allowed = apply(allowed, [overwrites[guild]] if guild in overwrites else [])
    allowed = apply(allowed, [o for rid, o in overwrites.items() if rid in mine and rid != guild])
    return apply(allowed, [overwrites[me["id"]]] if me["id"] in overwrites else [])


def check_channel(api: str, token: str, channel_id: int) -> str:
    allowed = channel_permissions(api, token, channel_id)
    missing = [name for bit, name in NEEDED.items() if not allowed & bit]
    if missing:
        raise RuntimeError(
            f"the bot lacks {', '.join(missing)}: in Discord, Edit Channel → Permissions → "
            f"add the bot's role and allow {', '.join(missing)}"
        )
    return "View Channel, Send Messages, Embed Links, Attach Files"


# --- Twitch -----------------------------------------------------------------------------------


def check_twitch(bot_settings: object) -> str:
    from wog_bot.twitch import HelixClient

    async def resolve() -> dict[str, str]:
        helix = HelixClient(bot_settings)  # type: ignore[arg-type]
        try:
            return await helix.user_ids(list(bot_settings.twitch_logins))  # type: ignore[attr-defined]
        finally:
            await helix.close()

    found = asyncio.run(resolve())
    unknown = [x for x in bot_settings.twitch_logins if x not in found]  # type: ignore[attr-defined]
    if unknown:
        raise RuntimeError(f"no Twitch user {', '.join(unknown)} (WOG_TWITCH_STREAMERS)")
    return f"credentials work; {', '.join(found)} found"


# --- the site ---------------------------------------------------------------------------------


def check_site(source: SourceSettings) -> str:
    """The live list page, the newest game's page and its JSON, through the real parsers (a
    missing row is named verbatim, e.g. ``row 'Остров' not found``)."""
    from wog_sources.client import SiteClient
    from wog_sources.replay import parse_replay

    with SiteClient(source) as client:
        listing = client.list_games()
        if not listing:
            raise RuntimeError("the games list shows no games")
        newest = listing[0].replay_id
        page = client.fetch_game_page(newest)
        body = client.fetch_replay_json(newest)
    parsed = parse_replay(
        page.text, bytes(body.body), replay_id=newest, page_url=page.url, json_url=body.url
    )
    return (
        f"list page ({len(listing)} games), game {newest} page and JSON parse "
        f"({len(parsed.replay.players)} players, {len(parsed.replay.frags)} frags)"
    )


# --- the command ------------------------------------------------------------------------------


def run_checks() -> list[Line]:
    current = settings()
    bot = current.bot
    api = bot.discord_api_url
    lines = [_check("database", check_database)]
    if bot.discord_token:
        lines.append(_check("Discord token", lambda: check_token(api, bot.discord_token or "")))
        for kind, channel in (
            [("game channel", c) for c in bot.channel_ids]
            + [("admin channel", c) for c in filter(None, [bot.admin_channel_id])]
            + [("Twitch channel", c) for c in filter(None, [bot.twitch_alert_channel_id])]
        ):
            lines.append(
                _check(
                    f"{kind} {channel}",
                    partial(check_channel, api, bot.discord_token or "", channel),
                )
            )
    else:
        lines.append(
            Line(OFF, "Discord token", "no DISCORD_TOKEN: bot mode (channels, slash commands) off")
        )
    for variable, hook in (
        ("WOG_DISCORD_WEBHOOK_URL", bot.webhook),
        ("WOG_ADMIN_WEBHOOK_URL", bot.admin_webhook),
    ):
        if hook:
            lines.append(
                _check(variable, partial(check_webhook, api, hook.id, hook.token, variable))
            )
    if not current.notification_targets:
        lines.append(
            Line(
                BROKEN,
                "game messages",
                f"no target: {SET_A_TARGET}",
            )
        )
    if not bot.admin_targets:
        lines.append(
            Line(
                OFF,
                "operator alerts",
                "no WOG_DISCORD_ADMIN_CHANNEL_ID / WOG_ADMIN_WEBHOOK_URL: alerts are only logged",
            )
        )
    if bot.twitch_enabled:
        lines.append(_check("Twitch", lambda: check_twitch(bot)))
        if bot.discord_token and not bot.twitch_alert_channel_id:
            lines.append(
                Line(
                    BROKEN,
                    "Twitch channel",
                    "WOG_TWITCH_ALERT_CHANNEL_ID is not set: in bot mode Twitch alerts are off",
                )
            )
    else:
        lines.append(Line(OFF, "Twitch", "not configured: live and clip alerts off"))
    lines.append(
        _check(f"stats site {current.source.base_url}", lambda: check_site(current.source))
    )
    return lines


@click.command("doctor")
def doctor_cmd() -> None:
    """Check every part of the setup: database, Discord, channels, Twitch, the live site.

    One line per item: ✓ works, ✗ broken (with the fix), – not configured. Exits 1 on any ✗.
    Paste its output into bug reports: it never prints a secret.

    Example: docker compose exec bot wog doctor
    """
    import importlib.metadata
    import platform

    from wog_core.logs import redact_text

    version = importlib.metadata.version("wog-platform")
    click.echo(
        f"wog {version} (Python {platform.python_version()}, {platform.platform(terse=True)})"
    )
    lines = run_checks()
    width = max(len(line.item) for line in lines)
    for line in lines:
        click.echo(redact_text(f"{line.mark} {line.item.ljust(width)}  {line.detail}"))
    if any(line.mark == BROKEN for line in lines):
        raise SystemExit(1)


COMMANDS = [doctor_cmd]
