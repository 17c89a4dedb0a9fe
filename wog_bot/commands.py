"""Slash commands: /replay id, /last, /top games, /ping — a table of typed handlers.

Each :class:`Command` names its handler and its typed options; :func:`build_reply` validates the
options a user gave against that table and calls the handler (database in, reply out), and
:func:`register_commands` registers the same table with Discord. Every string comes from the
message catalogue, every query from :mod:`wog_bot.store`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import hikari
from sqlalchemy.engine import Engine

from wog_assets.message import limits
from wog_assets.message.build import COLOUR, build_message, embeds_from_payload, to_payload
from wog_assets.message.catalogue import Catalogue
from wog_assets.message.chart import CHART_FILENAME, render_chart
from wog_assets.message.escape import escape_markdown
from wog_assets.summary import summarize
from wog_bot import store
from wog_bot.store import top_killers
from wog_core.settings import BotSettings
from wog_warehouse.replays import load_replay

__all__ = ["COMMANDS", "Reply", "build_reply", "register_commands", "respond", "top_killers"]

log = logging.getLogger("wog_bot.commands")
TOP_DEFAULT_GAMES = 10
TOP_MAX_GAMES = 500
# Discord shows a command in the user's language when it has a localization for it.
_LOCALES = {"ru": hikari.Locale.RU, "en": hikari.Locale.EN_US}


@dataclass
class Reply:
    content: str | None = None
    embeds: list[hikari.Embed] = field(default_factory=list)
    attachment: bytes | None = None
    ephemeral: bool = False


@dataclass(frozen=True)
class IntOption:
    """An integer option; ``invalid`` is the catalogue key of the error for a bad value."""

    name: str
    description: str
    invalid: str
    required: bool = False
    default: int | None = None
    min_value: int | None = None
    max_value: int | None = None

    def read(self, given: dict[str, object]) -> int | None:
        """The option's value from what the user gave, or None when it is missing or bad."""
        value = given.get(self.name, self.default)
        if isinstance(value, bool) or not isinstance(value, int):
            return None
        if self.min_value is not None and value < self.min_value:
            return None
        if self.max_value is not None and value > self.max_value:
            return None
        return value


Handler = Callable[..., Reply]  # handler(engine, catalogue, **options)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # catalogue key
    handler: Handler
    options: tuple[IntOption, ...] = ()


def _replay(engine: Engine, t: Catalogue, *, replay_id: int) -> Reply:
    loaded = load_replay(engine, replay_id)
    if loaded is None:
        return Reply(content=t("cmd_replay_missing", replay_id=replay_id), ephemeral=True)
    replay, page_url = loaded
    message = build_message(summarize(replay), page_url, catalogue=t)
    chart = render_chart(replay, t)
    # The embed's attachment:// image becomes the chart itself, uploaded with the answer.
    return Reply(embeds=embeds_from_payload(to_payload(message), chart), attachment=chart)


def replay_command(engine: Engine, t: Catalogue, id: int) -> Reply:
    return _replay(engine, t, replay_id=id)


def last_command(engine: Engine, t: Catalogue) -> Reply:
    latest = store.latest_replay_id(engine)
    if latest is None:
        return Reply(content=t("cmd_no_games"), ephemeral=True)
    return _replay(engine, t, replay_id=int(latest))


def top_command(engine: Engine, t: Catalogue, games: int) -> Reply:
    counted, ranked = top_killers(engine, games)
    if not ranked:
        return Reply(content=t("cmd_no_frags"), ephemeral=True)
    lines = [
        t("rank_line", rank=row.rank, nickname=escape_markdown(limits.shorten(row.nickname, 64)),
          count=row.kills)
        for row in ranked
    ]  # fmt: skip
    embed = hikari.Embed(
        title=t("cmd_top_title", games=counted),
        description=limits.fit_lines(lines, limits.DESCRIPTION, t("more", n="{n}")),
        color=COLOUR,
    )
    return Reply(embeds=[embed])


def ping_command(engine: Engine, t: Catalogue) -> Reply:
    return Reply(content=t("cmd_pong"), ephemeral=True)


COMMANDS: dict[str, Command] = {
    c.name: c
    for c in (
        Command(
            "replay",
            "cmd_replay",
            replay_command,
            (
                IntOption(
                    "id", "cmd_replay_id", "cmd_replay_id_invalid", required=True, min_value=1
                ),
            ),
        ),
        Command("last", "cmd_last", last_command),
        Command(
            "top",
            "cmd_top",
            top_command,
            (
                IntOption(
                    "games",
                    "cmd_top_games",
                    "cmd_top_games_invalid",
                    default=TOP_DEFAULT_GAMES,
                    min_value=1,
                    max_value=TOP_MAX_GAMES,
                ),
            ),
        ),
        Command("ping", "cmd_ping", ping_command),
    )
}


def build_reply(
    name: str, options: dict[str, object], engine: Engine, catalogue: Catalogue | None = None
) -> Reply:
    """The reply to ``/name`` with ``options`` (as Discord sent them)."""
    t = catalogue or Catalogue()
    command = COMMANDS.get(name)
    if command is None:
        return Reply(content=t("cmd_unknown", name=name), ephemeral=True)
    values: dict[str, int] = {}
    for option in command.options:
        value = option.read(options)
        if value is None:
            text = t(option.invalid, low=option.min_value, high=option.max_value)
            return Reply(content=text, ephemeral=True)
        values[option.name] = value
    return command.handler(engine, t, **values)


def _localized(key: str) -> tuple[str, dict[hikari.Locale, str]]:
    """A description in the default language plus its translation for each locale."""
    default = Catalogue("ru")(key)
    return default, {locale: Catalogue(lang)(key) for lang, locale in _LOCALES.items()}


async def register_commands(rest: hikari.api.RESTClient, settings: BotSettings) -> None:
    """Register :data:`COMMANDS` (globally, or in ``settings.guild_id`` for instant updates)."""
    application = await rest.fetch_application()
    builders = []
    for command in COMMANDS.values():
        description, localizations = _localized(command.description)
        builder = rest.slash_command_builder(command.name, description)
        builder.set_description_localizations(localizations)
        for option in command.options:
            option_description, option_localizations = _localized(option.description)
            builder.add_option(
                hikari.CommandOption(
                    type=hikari.OptionType.INTEGER,
                    name=option.name,
                    description=option_description,
                    description_localizations=option_localizations,
                    is_required=option.required,
                    min_value=option.min_value,
                    max_value=option.max_value,
                )
            )
        builders.append(builder)
    await rest.set_application_commands(
        application.id, builders, settings.guild_id or hikari.UNDEFINED
    )
    log.info("registered %d slash commands", len(builders))


async def respond(
    interaction: hikari.CommandInteraction, engine: Engine, catalogue: Catalogue | None = None
) -> None:
    """Answer one slash command interaction (errors become an ephemeral apology)."""
    t = catalogue or Catalogue()
    options = {o.name: o.value for o in interaction.options or []}
    try:
        reply = await asyncio.to_thread(build_reply, interaction.command_name, options, engine, t)
    except Exception:
        log.exception("/%s failed", interaction.command_name)
        reply = Reply(content=t("cmd_failed"), ephemeral=True)
    flags = hikari.MessageFlag.EPHEMERAL if reply.ephemeral else hikari.MessageFlag.NONE
    in_embed = any(e.image and isinstance(e.image.resource, hikari.Bytes) for e in reply.embeds)
    await interaction.create_initial_response(
        hikari.ResponseType.MESSAGE_CREATE,
        reply.content or hikari.UNDEFINED,
        embeds=reply.embeds or hikari.UNDEFINED,
        attachment=hikari.Bytes(reply.attachment, CHART_FILENAME)
        if reply.attachment and not in_embed
        else hikari.UNDEFINED,
        flags=flags,
        mentions_everyone=False,
        user_mentions=False,
        role_mentions=False,
    )
