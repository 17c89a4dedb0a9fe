"""Slash command behaviour (build_reply) on a real warehouse."""

from __future__ import annotations

import sqlalchemy as sa

from wog_bot.commands import build_reply, top_killers
from wog_fakes.generator import generate_game
from wog_report.catalogue import Catalogue
from wog_warehouse.replays import refresh_player_directory, write_replay

RU = Catalogue("ru")
EN = Catalogue("en")


def _load(engine: sa.Engine, *ids: int) -> list:
    games = [generate_game(i, seed=8) for i in ids]
    for g in games:
        write_replay(engine, g.replay, f"https://stats.example/games/{g.replay_id}/")
    refresh_player_directory(engine, ids)
    return games


def test_replay_posts_the_summary_with_the_chart(engine: sa.Engine) -> None:
    _load(engine, 3413)
    reply = build_reply("replay", {"id": 3413}, engine, RU)
    assert not reply.ephemeral
    assert next(e.title for e in reply.embeds) == "📉 Общая статистика"
    assert reply.attachment[:4] == b"\x89PNG"


def test_unknown_replay_is_a_friendly_ephemeral_error(engine: sa.Engine) -> None:
    reply = build_reply("replay", {"id": 99999}, engine, RU)
    assert reply.ephemeral and reply.content == "Игра #99999 не найдена в базе."
    assert build_reply("last", {}, engine, RU).content == "В базе пока нет игр."


def test_last_is_the_newest_game(engine: sa.Engine) -> None:
    _load(engine, 3413, 3415, 3414)
    reply = build_reply("last", {}, engine, RU)
    assert reply.embeds[4].url.endswith("/games/3415/")


def test_top_counts_kills_over_the_last_n_games(engine: sa.Engine) -> None:
    games = _load(engine, 3400, 3401, 3402)
    expected: dict[int, int] = {}
    for g in games[-2:]:
        for f in g.replay.frags:
            if f.killer_id is not None and not f.teamkill and f.killer_id != f.victim_id:
                expected[f.killer_id] = expected.get(f.killer_id, 0) + 1
    counted, ranked = top_killers(engine, 2)
    assert counted == 2
    assert [kills for _, _, kills, _ in ranked] == sorted(expected.values(), reverse=True)[
        : len(ranked)
    ]
    assert ranked[0][0] == 1
    top_id = ranked[0][3]
    assert expected[top_id] == max(expected.values())
    reply = build_reply("top", {"games": 2}, engine, RU)
    assert reply.embeds[0].title == "🏆 Лучшие кибератлеты за 2 игр"
    assert reply.embeds[0].description.startswith("1. ")
    assert build_reply("top", {"games": 0}, engine, RU).ephemeral


def test_top_counts_the_wog_sites_last_games_not_an_ocap_sources(engine: sa.Engine) -> None:
    import msgspec

    from wog_warehouse.sources import register_source, replay_id_for

    _load(engine, 3400, 3401)
    register_source(engine, "sg", "ocap-web", "https://sg.example")
    with engine.begin() as conn:
        ocap_id = replay_id_for(conn, "sg", "777")  # from 10^12 up: above every WOG id
    ocap = generate_game(ocap_id, seed=9)
    ocap = msgspec.structs.replace(
        ocap.replay,
        players=[msgspec.structs.replace(p, player_id=p.player_id + ocap_id) for p in ocap.replay.players],
        frags=[msgspec.structs.replace(f, victim_id=f.victim_id + ocap_id,
                                       killer_id=f.killer_id and f.killer_id + ocap_id)
               for f in ocap.replay.frags],
    )  # fmt: skip
    write_replay(engine, ocap, "https://sg.example/1", source="sg")
    counted, ranked = top_killers(engine, 1)
    wog_killers = {f.killer_id for f in generate_game(3401, seed=8).replay.frags}
    assert counted == 1 and {row.player_id for row in ranked} <= wog_killers
    assert top_killers(engine, 1, source="sg")[1][0].player_id > ocap_id


def test_ping() -> None:
    assert build_reply("ping", {}, None, RU).content == "🏓 pong"  # type: ignore[arg-type]


def test_commands_are_registered_with_discord() -> None:
    import asyncio

    import hikari

    from wog_bot.commands import register_commands
    from wog_core.settings import BotSettings
    from wog_fakes.discord import BOT_TOKEN, FakeDiscord

    with FakeDiscord() as discord:

        async def register() -> None:
            app = hikari.RESTApp(url=discord.api_url)
            await app.start()
            async with app.acquire(BOT_TOKEN, hikari.TokenType.BOT) as rest:
                await register_commands(rest, BotSettings(guild_id=777))
            await app.close()

        asyncio.run(register())
        put = next(r for r in discord.requests if r.method == "PUT")
    assert put.path.endswith("/guilds/777/commands")
    by_name = {c["name"]: c for c in discord.commands}
    assert set(by_name) == {"replay", "last", "top", "player", "rivals", "commanders", "ping"}
    assert by_name["player"]["options"][0]["type"] == 3  # a string: a nickname or an id
    assert (
        by_name["replay"]["options"][0]["name"] == "id"
        and by_name["replay"]["options"][0]["required"] is True
    )
    assert by_name["top"]["options"][0]["max_value"] == 500


def test_player_and_rivals_read_the_career_statistics(engine: sa.Engine) -> None:
    from tests.wog_warehouse.test_stats import HISTORY
    from wog_warehouse.replays import refresh_player_directory, write_replay
    from wog_warehouse.stats import (
        all_periods,
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
    )

    for replay in HISTORY:
        write_replay(engine, replay, f"https://stats.example/games/{replay.replay_id}/")
    ids = [r.replay_id for r in HISTORY]
    refresh_player_directory(engine, ids)
    refresh_game_stats(engine, ids)
    refresh_careers(engine, min_games=2)
    refresh_leaderboards(engine, all_periods(engine), min_games=2)

    card = build_reply("player", {"name": "alpha"}, engine, RU)
    fields = {f.name: f.value for f in card.embeds[0].fields}
    assert card.embeds[0].title == "🎖️ Alpha" and not card.ephemeral
    assert fields["Убийства / смерти / тимкиллы"] == "3 / 2 / 0"
    assert fields["K/D"] == "1.50" and fields["Живучесть"] == "33%"
    assert fields["Любимое оружие"] == "AK" and fields["Командовал / побед"] == "2 / 1"
    rivals = build_reply("rivals", {"name": "1"}, engine, RU)
    fields = {f.name: f.value for f in rivals.embeds[0].fields}
    assert fields == {"Чаще всех убивал его": "Charlie — 1", "Чаще всех убивал он": "Charlie — 2"}
    nobody = build_reply("rivals", {"name": "Echo"}, engine, RU)
    assert {f.value for f in nobody.embeds[0].fields} == {"никто"}
    unknown = build_reply("player", {"name": "@everyone"}, engine, RU)
    assert unknown.ephemeral and unknown.content == "Игрок «@everyone» не найден."
    assert build_reply("player", {"name": "  "}, engine, RU).ephemeral

    # The career card carries the kills/deaths chart, uploaded with the answer.
    assert card.attachment[:4] == b"\x89PNG" and card.embeds[0].image is not None

    # /top with a period or a metric reads the stored tables; without, the recent games.
    week = build_reply("top", {"period": "2026-W10", "metric": "teamkills"}, engine, RU)
    assert (
        week.embeds[0].title
        == "🤦 Позорный список тимкиллеров: неделя 2026-W10 (02.03 – 08.03.2026)"
    )
    assert week.embeds[0].description == "1. Bravo — 1\n2. Alpha — 0\n2. Charlie — 0\n2. Delta — 0"
    careers = build_reply("top", {"metric": "vitality"}, engine, RU)
    assert careers.embeds[0].title == "🛡 Живучесть: за всё время"
    assert careers.embeds[0].description.startswith("1. Bravo — 50%")
    month = build_reply("top", {"period": "2026-03"}, engine, EN)
    assert month.embeds[0].title == "🏆 Score: March 2026"
    empty = build_reply("top", {"period": "2026-04"}, engine, RU)  # nobody has two games
    assert empty.ephemeral and "2026" in empty.content
    assert build_reply("top", {"period": "March"}, engine, RU).content == (
        "Период — месяц (2026-03) или неделя (2026-W10)."
    )
    assert build_reply("top", {"metric": "luck"}, engine, RU).ephemeral
    generals = build_reply("commanders", {}, engine, RU)
    assert (
        generals.embeds[0].description
        == "1. Alpha — 1 из 2\n1. Charlie — 1 из 2\n2. Bravo — 0 из 1"
    )
    april = build_reply("commanders", {"period": "2026-04"}, engine, RU)
    assert april.embeds[0].description == "1. Alpha — 0 из 1"

    # Autocomplete: current and past nicknames containing what is typed, the id as value.
    from wog_bot.commands import suggestions

    assert suggestions(engine, "ha") == [("Alpha", "1"), ("Charlie", "3")]
    assert suggestions(engine, "E") == [("Echo", "5"), ("Charlie", "3"), ("Delta", "4")]
    assert suggestions(engine, "%") == []  # LIKE wildcards are text
