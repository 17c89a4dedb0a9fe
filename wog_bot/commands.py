"""Slash commands: /replay id, /last, /top games period metric, /player name, /rivals name,
/commanders period, /ping — a table of typed handlers.

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

from wog_bot import store
from wog_bot.store import top_killers
from wog_core.ids import MAX_ID, without_controls
from wog_core.settings import BotSettings
from wog_report import limits
from wog_report.build import COLOUR, build_message, embeds_from_payload, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import CHART_FILENAME, render_career, render_chart
from wog_report.digest import board_text, period_label
from wog_report.escape import escape_markdown
from wog_report.summary import summarize
from wog_warehouse.replays import load_replay
from wog_warehouse.stats import BOARDS

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


@dataclass(frozen=True)
class TextOption:
    """A text option (a nickname or id, a period); ``invalid`` is the catalogue key for a
    missing or bad value; ``choices`` the only values allowed (Discord offers them),
    ``autocomplete`` asks the bot for suggestions while the user types."""

    name: str
    description: str
    invalid: str
    required: bool = False
    max_length: int = 100
    choices: tuple[str, ...] = ()
    autocomplete: bool = False

    def read(self, given: dict[str, object]) -> str | None:
        value = given.get(self.name)
        if not isinstance(value, str):
            return None
        value = without_controls(value).strip()[: self.max_length]
        if not value:
            return None
        if self.choices and value not in self.choices:
            return None
        return value


Handler = Callable[..., Reply]  # handler(engine, catalogue, **options)


@dataclass(frozen=True)
class Command:
    name: str
    description: str  # catalogue key
    handler: Handler
    options: tuple[IntOption | TextOption, ...] = ()


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


def _board(engine: Engine, t: Catalogue, metric: str, period: str | None) -> Reply:
    """A stored table (a period's, or the careers'), never recomputed here."""
    try:
        rows = store.top(engine, metric=metric, period=period, limit=store.TOP_ROWS)
    except ValueError:
        return Reply(content=t("cmd_period_invalid"), ephemeral=True)
    label = period_label(period, t)
    if not rows:
        return Reply(content=t("cmd_top_empty", period=label), ephemeral=True)
    embed = hikari.Embed(
        title=t("cmd_top_board_title", board=t(f"board_{metric}"), period=label),
        description=board_text(metric, rows, t, limits.DESCRIPTION),
        color=COLOUR,
    )
    return Reply(embeds=[embed])


def top_command(
    engine: Engine, t: Catalogue, games: int, period: str | None = None, metric: str | None = None
) -> Reply:
    """With ``period`` or ``metric``: that table from the statistics; else the top killers of
    the last ``games`` games."""
    if period is not None or metric is not None:
        return _board(engine, t, metric or "score", period)
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


def _who(engine: Engine, t: Catalogue, name: str) -> int | Reply:
    """The player a name or id means, or the ephemeral reply saying why there is none."""
    shown = limits.shorten(name, 64)
    try:
        return store.find_player(engine, name)
    except store.UnknownPlayer as exc:
        key = (
            "cmd_player_ambiguous"
            if "players have been called" in str(exc)
            else "cmd_player_unknown"
        )
        return Reply(content=t(key, name=shown), ephemeral=True)


def player_command(engine: Engine, t: Catalogue, name: str) -> Reply:
    """A player's career card (from the career statistics, never recomputed here)."""
    who = _who(engine, t, name)
    if isinstance(who, Reply):
        return who
    record = store.career(engine, who)
    if record is None:
        return Reply(content=t("cmd_player_unknown", name=limits.shorten(name, 64)), ephemeral=True)
    nick = escape_markdown(limits.shorten(record["nickname"], 64))
    embed = hikari.Embed(title=t("career_title", name=nick), color=COLOUR)
    longest = record["longest_kill_m"]
    rows = [
        ("career_games", str(record["games"])),
        ("career_kills", f"{record['kills']} / {record['deaths']} / {record['teamkills']}"),
        ("career_kd", f"{record['kd']:.2f}"),
        ("career_vitality", f"{record['vitality']:.0%}"),
        ("career_score", f"{record['score']:.2f}"),
        ("career_longest", f"{longest:.0f} m" if longest is not None else "—"),
        ("career_weapon", escape_markdown(limits.shorten(record["favourite_weapon"] or "—", 64))),
        ("career_command", f"{record['commander_games']} / {record['commander_wins']}"),
    ]
    for key, value in rows:
        embed.add_field(t(key), value, inline=True)
    kills, deaths = store.career_series(engine, who)
    chart = render_career(kills, deaths, t)
    embed.set_image(hikari.Bytes(chart, CHART_FILENAME))
    return Reply(embeds=[embed], attachment=chart)


def rivals_command(engine: Engine, t: Catalogue, name: str) -> Reply:
    """Who killed the player most and whom they killed most."""
    who = _who(engine, t, name)
    if isinstance(who, Reply):
        return who
    found = store.rivals_of(engine, who)
    record = store.career(engine, who)
    nick = escape_markdown(limits.shorten(record["nickname"] if record else name, 64))
    embed = hikari.Embed(title=t("rivals_title", name=nick), color=COLOUR)
    for key, field_key in (("nemesis", "rivals_nemesis"), ("favourite_victim", "rivals_victim")):
        rival = found[key]
        value = (
            t("rivals_line", name=escape_markdown(limits.shorten(rival["nickname"] or "?", 64)),
              kills=rival["kills"])
            if rival
            else t("rivals_nobody")
        )  # fmt: skip
        embed.add_field(t(field_key), value, inline=True)
    return Reply(embeds=[embed])


def commanders_command(engine: Engine, t: Catalogue, period: str | None = None) -> Reply:
    """Commanders by wins (of games commanded), over a period or all time."""
    return _board(engine, t, "commanders", period)


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
                    "id",
                    "cmd_replay_id",
                    "cmd_replay_id_invalid",
                    required=True,
                    min_value=1,
                    max_value=MAX_ID,
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
                TextOption("period", "cmd_top_period", "cmd_period_invalid", max_length=8),
                TextOption("metric", "cmd_top_metric", "cmd_metric_invalid", choices=BOARDS),
            ),
        ),
        Command(
            "player",
            "cmd_player",
            player_command,
            (TextOption("name", "cmd_name", "cmd_name_invalid", required=True, autocomplete=True),),
        ),
        Command(
            "rivals",
            "cmd_rivals",
            rivals_command,
            (TextOption("name", "cmd_name", "cmd_name_invalid", required=True, autocomplete=True),),
        ),
        Command(
            "commanders",
            "cmd_commanders",
            commanders_command,
            (TextOption("period", "cmd_top_period", "cmd_period_invalid", max_length=8),),
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
    values: dict[str, int | str] = {}
    for option in command.options:
        if isinstance(option, TextOption) and not option.required and option.name not in options:
            continue  # an optional text the user left out: the handler's default
        value = option.read(options)
        if value is None:
            bounds = (
                {"low": option.min_value, "high": option.max_value}
                if isinstance(option, IntOption)
                else {}
            )
            return Reply(content=t(option.invalid, **bounds), ephemeral=True)
        values[option.name] = value
    return command.handler(engine, t, **values)


def _localized(key: str) -> tuple[str, dict[hikari.Locale | str, str]]:
    """A description in the default language plus its translation for each locale."""
    default = Catalogue("ru")(key)
    translated: dict[hikari.Locale | str, str] = {
        locale: Catalogue(lang)(key) for lang, locale in _LOCALES.items()
    }
    return default, translated


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
            if isinstance(option, TextOption):
                typed = hikari.CommandOption(
                    type=hikari.OptionType.STRING,
                    name=option.name,
                    description=option_description,
                    description_localizations=option_localizations,
                    is_required=option.required,
                    max_length=option.max_length,
                    autocomplete=option.autocomplete,
                    choices=[hikari.CommandChoice(name=c, value=c) for c in option.choices] or None,
                )
            else:
                typed = hikari.CommandOption(
                    type=hikari.OptionType.INTEGER,
                    name=option.name,
                    description=option_description,
                    description_localizations=option_localizations,
                    is_required=option.required,
                    min_value=option.min_value,
                    max_value=option.max_value,
                )
            builder.add_option(typed)
        builders.append(builder)
    await rest.set_application_commands(
        application.id, builders, settings.guild_id or hikari.UNDEFINED
    )
    log.info("registered %d slash commands", len(builders))


DEFER_AFTER_S = 1.0  # an answer not ready by then is deferred ("thinking…"), then edited in


async def respond(
    interaction: hikari.CommandInteraction, engine: Engine, catalogue: Catalogue | None = None
) -> None:
    """Answer one slash command interaction (errors become an ephemeral apology).

    Discord drops an interaction not acknowledged within 3 s. The answer is built in a thread;
    if it is not ready within :data:`DEFER_AFTER_S` (a chart on a cold process, a slow
    database), the interaction is acknowledged as deferred and the answer edited in when ready.
    """
    t = catalogue or Catalogue()
    options: dict[str, object] = {o.name: o.value for o in interaction.options or []}
    building = asyncio.ensure_future(
        asyncio.to_thread(build_reply, interaction.command_name, options, engine, t)
    )
    done, _ = await asyncio.wait({building}, timeout=DEFER_AFTER_S)
    if building in done:
        await _send_reply(interaction, _result(building, interaction, t), deferred=False)
        return
    await interaction.create_initial_response(hikari.ResponseType.DEFERRED_MESSAGE_CREATE)
    await asyncio.wait({building})
    await _send_reply(interaction, _result(building, interaction, t), deferred=True)


def _result(
    building: asyncio.Future[Reply], interaction: hikari.CommandInteraction, t: Catalogue
) -> Reply:
    try:
        return building.result()
    except Exception:
        log.exception("/%s failed", interaction.command_name)
        return Reply(content=t("cmd_failed"), ephemeral=True)


async def _send_reply(
    interaction: hikari.CommandInteraction, reply: Reply, *, deferred: bool
) -> None:
    in_embed = any(e.image and isinstance(e.image.resource, hikari.Bytes) for e in reply.embeds)
    attachment = (
        hikari.Bytes(reply.attachment, CHART_FILENAME)
        if reply.attachment and not in_embed
        else hikari.UNDEFINED
    )
    body: dict = {
        "embeds": reply.embeds or hikari.UNDEFINED,
        "attachment": attachment,
        "mentions_everyone": False,
        "user_mentions": False,
        "role_mentions": False,
    }
    content = reply.content or hikari.UNDEFINED
    if not deferred:
        flags = hikari.MessageFlag.EPHEMERAL if reply.ephemeral else hikari.MessageFlag.NONE
        await interaction.create_initial_response(
            hikari.ResponseType.MESSAGE_CREATE, content, flags=flags, **body
        )
    elif reply.ephemeral:  # a deferred answer is public: an apology goes in a private follow-up
        await interaction.delete_initial_response()
        await interaction.execute(content, flags=hikari.MessageFlag.EPHEMERAL, **body)
    else:
        await interaction.edit_initial_response(content, **body)


AUTOCOMPLETE_CHOICES = 25  # Discord's limit


def suggestions(engine: Engine, typed: str) -> list[tuple[str, str]]:
    """(shown name, value) pairs for a nickname being typed: current and past nicknames; the
    value is the player's id, so a pick is never ambiguous."""
    return [
        (limits.shorten(nickname, 100), str(player_id))
        for nickname, player_id in store.nickname_choices(engine, typed, AUTOCOMPLETE_CHOICES)
    ]


async def autocomplete(interaction: hikari.AutocompleteInteraction, engine: Engine) -> None:
    """Answer a nickname autocomplete (``/player``, ``/rivals``); a failure answers nothing."""
    focused = next((o for o in interaction.options or [] if o.is_focused), None)
    typed = str(focused.value) if focused and focused.value is not None else ""
    try:
        found = await asyncio.to_thread(suggestions, engine, typed)
    except Exception:
        log.exception("autocomplete for /%s failed", interaction.command_name)
        found = []
    await interaction.create_response(
        [hikari.impl.AutocompleteChoiceBuilder(name=name, value=value) for name, value in found]
    )
