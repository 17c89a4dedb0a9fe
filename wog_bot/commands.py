"""Slash commands: /replay id, /last, /top games, /ping.

``build_reply`` is the whole behaviour (database in, reply out) and is tested directly; the
hikari glue below only converts options and sends the reply.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import hikari
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from wog_assets.message import limits
from wog_assets.message.build import COLOUR, build_message
from wog_assets.message.catalogue import Catalogue
from wog_assets.message.chart import CHART_FILENAME, render_chart
from wog_assets.message.escape import escape_markdown
from wog_assets.summary import summarize
from wog_assets.warehouse import load_replay
from wog_bot.settings import BotSettings

log = logging.getLogger("wog_bot.commands")
TOP_DEFAULT_GAMES = 10
TOP_MAX_GAMES = 500


@dataclass
class Reply:
    content: str | None = None
    embeds: list[hikari.Embed] = field(default_factory=list)
    attachment: bytes | None = None
    ephemeral: bool = False


def _replay_reply(engine: Engine, replay_id: int, catalogue: Catalogue) -> Reply:
    loaded = load_replay(engine, replay_id)
    if loaded is None:
        text = {
            "ru": f"Игра #{replay_id} не найдена в базе.",
            "en": f"Game #{replay_id} is not in the database.",
        }
        return Reply(content=text[catalogue.lang], ephemeral=True)
    replay, page_url = loaded
    message = build_message(summarize(replay), page_url, catalogue=catalogue)
    return Reply(content=None, embeds=message.embeds, attachment=render_chart(replay, catalogue))


def top_killers(engine: Engine, games: int) -> tuple[int, list[tuple[int, str, int, int]]]:
    """(games counted, [(rank, nickname, kills, player_id)]) over the last ``games`` games."""
    query = sa.text(
        """
        WITH recent AS (SELECT replay_id FROM games ORDER BY replay_id DESC LIMIT :games)
        SELECT f.killer_id,
               coalesce(d.nickname, '#' || f.killer_id) AS nickname,
               count(*) AS kills
        FROM frags f
        LEFT JOIN player_directory d ON d.player_id = f.killer_id
        WHERE f.replay_id IN (SELECT replay_id FROM recent)
          AND f.killer_id IS NOT NULL AND NOT f.is_teamkill AND f.killer_id <> f.victim_id
        GROUP BY f.killer_id, d.nickname
        ORDER BY kills DESC, lower(coalesce(d.nickname, '')), f.killer_id
        LIMIT 10
        """
    )
    with engine.connect() as conn:
        counted = conn.execute(
            sa.text(
                "SELECT count(*) FROM (SELECT 1 FROM games ORDER BY replay_id DESC LIMIT :g) x"
            ),
            {"g": games},
        ).scalar_one()
        rows = conn.execute(query, {"games": games}).all()
    ranked, rank, previous = [], 0, None
    for killer_id, nickname, kills in rows:
        if kills != previous:
            rank, previous = rank + 1, kills
        ranked.append((rank, nickname, int(kills), int(killer_id)))
    return counted, ranked


def build_reply(
    name: str, options: dict[str, object], engine: Engine, catalogue: Catalogue | None = None
) -> Reply:
    t = catalogue or Catalogue()
    ru = t.lang == "ru"
    if name == "ping":
        return Reply(content="🏓 pong", ephemeral=True)
    if name == "replay":
        replay_id = options.get("id")
        if not isinstance(replay_id, int) or replay_id <= 0:
            return Reply(
                content="Укажите номер игры." if ru else "Give a game number.", ephemeral=True
            )
        return _replay_reply(engine, replay_id, t)
    if name == "last":
        with engine.connect() as conn:
            latest = conn.execute(sa.text("SELECT max(replay_id) FROM games")).scalar()
        if latest is None:
            return Reply(
                content="В базе пока нет игр." if ru else "No games in the database yet.",
                ephemeral=True,
            )
        return _replay_reply(engine, int(latest), t)
    if name == "top":
        games = options.get("games", TOP_DEFAULT_GAMES)
        if not isinstance(games, int) or not 1 <= games <= TOP_MAX_GAMES:
            text = (
                f"Число игр должно быть от 1 до {TOP_MAX_GAMES}."
                if ru
                else f"games must be 1..{TOP_MAX_GAMES}."
            )
            return Reply(content=text, ephemeral=True)
        counted, ranked = top_killers(engine, games)
        if not ranked:
            return Reply(content="Фрагов пока нет." if ru else "No frags yet.", ephemeral=True)
        lines = [
            f"{rank}. {escape_markdown(limits.shorten(nick, 64))} — {kills}"
            for rank, nick, kills, _ in ranked
        ]
        title = (
            f"🏆 Лучшие кибератлеты за {counted} игр"
            if ru
            else f"🏆 Top killers over {counted} games"
        )
        embed = hikari.Embed(
            title=title,
            description=limits.fit_lines(lines, limits.DESCRIPTION, t("more", n="{n}")),
            color=COLOUR,
        )
        return Reply(embeds=[embed])
    return Reply(content=f"Unknown command: {name}", ephemeral=True)


async def register_commands(rest: hikari.api.RESTClient, settings: BotSettings) -> None:
    application = await rest.fetch_application()
    commands = [
        rest.slash_command_builder("replay", "Сводка игры по номеру / a game's summary").add_option(
            hikari.CommandOption(
                type=hikari.OptionType.INTEGER,
                name="id",
                description="Номер игры",
                is_required=True,
                min_value=1,
            )
        ),
        rest.slash_command_builder("last", "Последняя игра / the latest game"),
        rest.slash_command_builder("top", "Лучшие игроки за N игр / top killers").add_option(
            hikari.CommandOption(
                type=hikari.OptionType.INTEGER,
                name="games",
                description="Сколько последних игр (10)",
                is_required=False,
                min_value=1,
                max_value=TOP_MAX_GAMES,
            )
        ),
        rest.slash_command_builder("ping", "Проверка связи / is the bot alive"),
    ]
    await rest.set_application_commands(
        application.id, commands, settings.guild_id or hikari.UNDEFINED
    )
    log.info("registered %d slash commands", len(commands))


async def respond(interaction: hikari.CommandInteraction, engine: Engine) -> None:
    options = {o.name: o.value for o in interaction.options or []}
    flags = hikari.MessageFlag.NONE
    try:
        reply = await asyncio.to_thread(build_reply, interaction.command_name, options, engine)
    except Exception:
        log.exception("/%s failed", interaction.command_name)
        reply = Reply(content="Что-то пошло не так, попробуйте позже.", ephemeral=True)
    if reply.ephemeral:
        flags = hikari.MessageFlag.EPHEMERAL
    await interaction.create_initial_response(
        hikari.ResponseType.MESSAGE_CREATE,
        reply.content or hikari.UNDEFINED,
        embeds=reply.embeds or hikari.UNDEFINED,
        attachment=hikari.Bytes(reply.attachment, CHART_FILENAME)
        if reply.attachment
        else hikari.UNDEFINED,
        flags=flags,
        mentions_everyone=False,
        user_mentions=False,
        role_mentions=False,
    )
