"""The Discord message: golden RU/EN payloads, limits on adversarial games, escaping, chart."""

from __future__ import annotations

import datetime as dt
import json
import os
import struct
from pathlib import Path

import hikari
import pytest

from wog_core.models import Commander, Frag, Game, Player, Replay, Vehicle
from wog_core.settings import Settings
from wog_report import limits
from wog_report.build import build_message, embeds_from_payload, to_payload
from wog_report.catalogue import Catalogue
from wog_report.chart import render_chart
from wog_report.escape import escape_markdown
from wog_report.summary import summarize

GOLDEN = Path(__file__).parent / "golden"
PAGE_URL = "https://stats.wogames.info/games/3413/"


def sample_replay() -> Replay:
    players = [
        Player(1, "WEST", "Иван **Грозный**", "Командир", "HQ"),
        Player(2, "WEST", "@everyone", "Стрелок", "Альфа"),
        Player(3, "EAST", "[link](https://evil.example)", "Снайпер", None),
        Player(4, "EAST", "Пётр_Первый", None, None),
        Player(5, "GUER", "||спойлер||", None, None),
    ]
    frags = [
        Frag(0, 65, 3, None, 1, None, "АК-74М", 120.4, False),
        Frag(1, 300, 4, "УАЗ", None, None, None, None, False),
        Frag(2, 1200, 2, None, 1, None, None, 15.0, True),
        Frag(3, 2400, 5, None, 3, "Т-72", None, 1450.0, False),
    ]
    vehicles = [Vehicle(10, "car", "УАЗ-469"), Vehicle(11, "car", "УАЗ-469"), Vehicle(12, "heli", "Ми-8"),
                Vehicle(13, "hovercraft", "Зубр")]  # fmt: skip
    game = Game(
        mission_name="Операция `Гроза` > v2",
        mission_id=812,
        island="Altis",
        date=dt.date(2024, 10, 5),
        started_at=dt.datetime(2024, 10, 5, 20, 0, 0),
        ended_at=dt.datetime(2024, 10, 5, 21, 30, 15),
        duration_s=5415,
        winner="WEST",
        players_active=5,
        slots=150,
        side_players={"EAST": 2, "WEST": 2, "GUER": 1},
        commanders={
            "WEST": Commander(1, "Иван **Грозный**"),
            "EAST": Commander(3, "[link](https://evil.example)"),
        },
    )
    return Replay(3413, game, players, vehicles, frags)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_golden_payload(lang: str) -> None:
    payload = to_payload(
        build_message(summarize(sample_replay()), PAGE_URL, catalogue=Catalogue(lang))
    )
    path = GOLDEN / f"message_{lang}.json"
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    assert payload == json.loads(path.read_text(encoding="utf-8"))


def test_message_layout_and_mentions() -> None:
    payload = to_payload(
        build_message(summarize(sample_replay()), PAGE_URL, catalogue=Catalogue("ru"))
    )
    assert payload["content"] == "📨 Доступен новый реплей!"
    assert payload["allowed_mentions"] == {"parse": []}
    titles = [e.get("title") for e in payload["embeds"]]
    assert titles == ["📉 Общая статистика", "📝 Личная статистика", "🔫 Выдающиеся фраги",
                      "🚚 Доступная техника", "🔗 Страница игры на WOG Stats"]  # fmt: skip
    assert all(e["color"] == 0x237FEB for e in payload["embeds"])
    assert payload["embeds"][0]["image"] == {"url": "attachment://battle.png"}
    assert payload["embeds"][4]["url"] == PAGE_URL
    fields = {f["name"]: f["value"] for e in payload["embeds"] for f in e.get("fields", [])}
    assert fields["Итоги"] == "Победа: 🟦 WEST"
    assert fields["Лучшие тимкиллеры"] == "1. Иван \\*\\*Грозный\\*\\* — 1"
    assert fields["Вертолет"] == "1x Ми-8"
    assert fields["Другая техника (hovercraft)"] == "1x Зубр"  # a neutral label naming it
    # Round trip: the bot rebuilds the same embeds from the stored payload.
    assert len(embeds_from_payload(payload)) == 5


def test_unknown_killer_and_unknown_weapon_are_said_so() -> None:
    replay = sample_replay()
    frags = [Frag(0, 5, 4, None, None, None, None, None, False), *replay.frags[:1]]
    summary = summarize(Replay(1, replay.game, replay.players, [], frags))
    fields = {
        f["name"]: f["value"]
        for e in to_payload(build_message(summary, PAGE_URL, catalogue=Catalogue("ru")))["embeds"]
        for f in e.get("fields", [])
    }
    assert fields["Первый фраг"] == (
        "⏱ 0:00:05\nЖертва: Пётр\\_Первый\nУбийца: Убийца неизвестен\nДистанция: —\nОружие: неизвестно"
    )


def test_no_teamkills_remark_and_no_winner() -> None:
    replay = sample_replay()
    frags = [f for f in replay.frags if not f.teamkill]
    game = replay.game.__class__(
        **{**{k: getattr(replay.game, k) for k in replay.game.__struct_fields__}, "winner": None}
    )
    payload = to_payload(
        build_message(
            summarize(Replay(1, game, replay.players, [], frags)),
            PAGE_URL,
            catalogue=Catalogue("ru"),
        )
    )
    fields = {f["name"]: f["value"] for e in payload["embeds"] for f in e.get("fields", [])}
    assert fields["Лучшие тимкиллеры"] == "Удивительно, но тимкиллов не зафиксировано."
    assert fields["Итоги"] == "Победитель не определён"
    assert payload["embeds"][3]["description"] == "Техники не было."


def _adversarial() -> Replay:
    long = "Ж" * 10_000
    sides = ["EAST", "WEST", "GUER", "CIV"]
    players = [
        Player(i, sides[i % 4], f"{long}{i}" if i % 10 == 0 else f"**player_{i}**", None, None)
        for i in range(250)
    ]
    vehicles = [
        Vehicle(i, f"type-{i % 40}" if i % 3 else "car", f"{long[:300]} vehicle {i}")
        for i in range(300)
    ]
    frags = [Frag(i, i * 7, (i * 13) % 250, (i * 7) % 250, "tank " * 400, None, long, 99999.0, i % 9 == 0)
             for i in range(600)]  # fmt: skip
    game = Game(long, 1, long, dt.date(2024, 1, 1), dt.datetime(2024, 1, 1, 20), dt.datetime(2024, 1, 1, 23), 3 * 3600,
                "EAST", 250, 300, {s: 62 for s in sides}, {s: Commander(i, long) for i, s in enumerate(sides)})  # fmt: skip
    return Replay(9, game, players, vehicles, frags)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_adversarial_game_stays_within_every_discord_limit(lang: str) -> None:
    message = build_message(summarize(_adversarial()), PAGE_URL, catalogue=Catalogue(lang))
    assert limits.violations(message.content, message.embeds) == []
    total = sum(limits.embed_length(e) for e in message.embeds)
    assert total <= 6000
    vehicles = message.embeds[3]
    assert len(vehicles.fields) == 25
    more = "…и ещё" if lang == "ru" else "…and"
    assert any(more in f.value for f in vehicles.fields)


def test_validator_reports_each_broken_limit() -> None:
    embed = hikari.Embed(title="t" * 300, description="d")
    embed.add_field("n", "v" * 1100)
    for _ in range(25):
        embed.add_field("x", "y")
    found = [str(v) for v in limits.violations("c" * 2001, [embed] * 11)]
    assert "content: 2001 > 2000" in found
    assert "embeds: 11 > 10" in found
    assert "embed 0 title: 300 > 256" in found
    assert "embed 0 field 0 value: 1100 > 1024" in found
    assert "embed 0 fields: 26 > 25" in found
    with pytest.raises(limits.LimitExceeded, match="message total"):
        limits.validate(None, [embed] * 11)


def test_fit_lines_cuts_with_a_more_line() -> None:
    lines = [f"line {i}" for i in range(100)]
    text = limits.fit_lines(lines, 60, "…и ещё {n}")
    assert len(text) <= 60
    shown = text.splitlines()
    assert shown[-1] == f"…и ещё {100 - (len(shown) - 1)}"
    assert limits.fit_lines(["a", "b"], 60, "…{n}") == "a\nb"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("**bold**", "\\*\\*bold\\*\\*"),
        ("_italic_", "\\_italic\\_"),
        ("__under__", "\\_\\_under\\_\\_"),
        ("~~strike~~", "\\~\\~strike\\~\\~"),
        ("||spoiler||", "\\|\\|spoiler\\|\\|"),
        ("`code`", "\\`code\\`"),
        ("```block```", "\\`\\`\\`block\\`\\`\\`"),
        ("> quote", "\\> quote"),
        ("# heading", "\\# heading"),
        ("- item", "\\- item"),
        ("[link](https://evil.example)", "\\[link\\](https://evil.example)"),
        ("@everyone", "@\u200beveryone"),
        ("@here", "@\u200bhere"),
        ("<@123>", "<\u200b@\u200b123>"),
        ("back\\slash", "back\\\\slash"),
        ("two\nlines", "two lines"),
        ("АК-74М", "АК-74М"),
        ("Ёжик 🦔", "Ёжик 🦔"),
        # A right-to-left override cannot reorder the rest of the field: dropped, isolated.
        ("evil\u202enoisrevbus", "\u2068evilnoisrevbus\u2069"),
        ("\u2067unclosed isolate", "\u2068unclosed isolate\u2069"),
        ("שלום", "\u2068שלום\u2069"),  # real right-to-left letters keep their direction
    ],
)
def test_escaping(raw: str, shown: str) -> None:
    assert escape_markdown(raw) == shown


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def test_chart_is_a_png_at_preview_size() -> None:
    png = render_chart(sample_replay(), Catalogue("ru"))
    assert _png_size(png) == (800, 400)
    empty = render_chart(Replay(1, sample_replay().game, [], [], []), Catalogue("en"))
    assert _png_size(empty) == (800, 400)


def test_language_setting() -> None:
    language = Settings.from_env({"WOG_LANGUAGE": "en"}).pipeline.language
    assert Catalogue(language)("content") == "📨 A new replay is available!"
    with pytest.raises(ValueError, match="WOG_LANGUAGE"):
        Settings.from_env({"WOG_LANGUAGE": "de"})
    with pytest.raises(ValueError, match="unknown language 'de'"):
        Catalogue("de")
