"""Build the Discord message for a replay summary: content, five embeds and the chart.

The layout follows the message players know from the original service (docs/players.md, "The Discord
message"). Every piece of user text is escaped; every list is cut to fit Discord's limits with
a «…и ещё N» line; the result is validated before it is returned, so Discord never rejects it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import hikari

from wog_core.sides import Side
from wog_report import limits
from wog_report.catalogue import Catalogue
from wog_report.chart import CHART_FILENAME
from wog_report.escape import escape_markdown
from wog_report.summary import NotableFrag, RankedPlayer, ReplaySummary, format_mission_time

COLOUR = hikari.Color(0x237FEB)
NAME_LIMIT = 64  # display length of one nickname / vehicle name
MISSION_LIMIT = 200


@dataclass(frozen=True)
class Message:
    """What the bot sends: content, embeds and (optionally) the chart attachment's name."""

    content: str
    embeds: list[hikari.Embed]
    attachment_name: str | None


def _name(text: str | None, limit: int = NAME_LIMIT) -> str:
    return escape_markdown(limits.shorten(text or "?", limit))


def _side(code: str) -> str:
    side = Side.parse(code)
    return f"{side.square} {side.value}" if side else code


def build_message(
    summary: ReplaySummary,
    page_url: str,
    *,
    catalogue: Catalogue | None = None,
    with_chart: bool = True,
) -> Message:
    """The message for one replay, guaranteed within Discord's limits."""
    t = catalogue or Catalogue()
    budget = limits.FIELD_VALUE
    while True:
        embeds = [
            _general(summary, t, with_chart),
            _personal(summary, t),
            _frags(summary, t),
            _vehicles(summary, t, budget),
            _link(summary, page_url, t),
        ]
        total = sum(limits.embed_length(e) for e in embeds)
        if total <= limits.MESSAGE_TOTAL or budget <= 60:
            break
        budget = int(budget * 0.7)
    content = t("content")
    limits.validate(content, embeds)
    return Message(content, embeds, CHART_FILENAME if with_chart else None)


def _general(s: ReplaySummary, t: Catalogue, with_chart: bool) -> hikari.Embed:
    embed = hikari.Embed(title=t("general_title"), color=COLOUR)
    info = t(
        "info_value",
        date=f"{s.date:%d.%m.%Y}",
        mission=_name(s.mission_name, MISSION_LIMIT),
        island=_name(s.island),
    )
    embed.add_field(t("info"), limits.shorten(info, limits.FIELD_VALUE), inline=True)
    side_lines = [
        t(
            "side_line",
            square=Side(x.side).square,
            side=x.side,
            players=x.players,
            commander=_name(x.commander.nickname) if x.commander else t("no_commander"),
        )
        for x in s.sides
    ]
    embed.add_field(
        t("sides"),
        limits.fit_lines(side_lines, limits.FIELD_VALUE, t("more", n="{n}")) or t("no_sides"),
        inline=True,
    )
    embed.add_field(
        t("players"), t("players_value", active=s.players_active, slots=s.slots), inline=True
    )
    embed.add_field(
        t("time"), t("time_value", start=s.start, end=s.end, duration=s.duration), inline=True
    )
    result = (
        t("winner", square=Side(s.winner).square, side=s.winner) if s.winner else t("no_winner")
    )
    embed.add_field(t("result"), result, inline=True)
    survivor_lines = [
        t("survivors_line", square=Side(x.side).square, side=x.side, count=x.survivors)
        for x in s.sides
    ]
    embed.add_field(t("survivors"), "\n".join(survivor_lines) or t("no_sides"), inline=True)
    if with_chart:
        embed.set_image(f"attachment://{CHART_FILENAME}")
    return embed


def _ranked(rows: list[RankedPlayer], t: Catalogue, empty: str) -> str:
    lines = [t("rank_line", rank=r.rank, nickname=_name(r.nickname), count=r.count) for r in rows]
    return limits.fit_lines(lines, limits.FIELD_VALUE, t("more", n="{n}")) if lines else t(empty)


def _personal(s: ReplaySummary, t: Catalogue) -> hikari.Embed:
    embed = hikari.Embed(title=t("personal_title"), color=COLOUR)
    embed.add_field(t("top_killers"), _ranked(s.top_killers, t, "no_kills"), inline=True)
    embed.add_field(
        t("top_teamkillers"), _ranked(s.top_teamkillers, t, "no_teamkills"), inline=True
    )
    return embed


def _frag_text(f: NotableFrag, t: Catalogue) -> str:
    distance = t("distance_m", distance=f"{f.distance_m:.0f}") if f.distance_m is not None else "—"
    killer = _name(f.killer) if f.killer_id is not None else t("unknown_killer")
    text = t(
        "frag_line",
        time=format_mission_time(f.time_s),
        victim=_name(f.victim),
        killer=killer,
        distance=distance,
        weapon=_name(f.weapon) if f.weapon else t("unknown_weapon"),
    )
    if f.teamkill:
        text += "\n" + t("teamkill_remark")
    return limits.shorten(text, limits.FIELD_VALUE)


def _frags(s: ReplaySummary, t: Catalogue) -> hikari.Embed:
    embed = hikari.Embed(title=t("frags_title"), color=COLOUR)
    notable = [
        ("first_frag", s.first_frag),
        ("last_frag", s.last_frag),
        ("longest_frag", s.longest_frag),
    ]
    if not any(f for _, f in notable):
        embed.description = t("no_frags")
        return embed
    for key, frag in notable:
        embed.add_field(t(key), _frag_text(frag, t) if frag else "—", inline=True)
    return embed


def _vehicles(s: ReplaySummary, t: Catalogue, budget: int) -> hikari.Embed:
    embed = hikari.Embed(title=t("vehicles_title"), color=COLOUR)
    if not s.vehicles_by_type:
        embed.description = t("no_vehicles")
        return embed
    types = list(s.vehicles_by_type.items())
    shown = types if len(types) <= limits.FIELDS else types[: limits.FIELDS - 1]
    for code, vehicles in shown:
        lines = [t("vehicle_line", count=v.count, name=_name(v.name)) for v in vehicles]
        embed.add_field(
            limits.shorten(escape_markdown(t.vehicle_type(code)), limits.FIELD_NAME),
            limits.fit_lines(lines, budget, t("more", n="{n}")),
            inline=True,
        )
    rest = types[len(shown) :]
    if rest:
        lines = [f"{_name(t.vehicle_type(code))}: {sum(v.count for v in vs)}" for code, vs in rest]
        embed.add_field(
            t("more_types"), limits.fit_lines(lines, budget, t("more", n="{n}")), inline=True
        )
    return embed


def _link(s: ReplaySummary, page_url: str, t: Catalogue) -> hikari.Embed:
    return hikari.Embed(
        title=t("link_title"),
        url=page_url,
        description=t("link_value", replay_id=s.replay_id, url=page_url),
        color=COLOUR,
    )


# --- the stored payload ------------------------------------------------------------------------


def embed_to_json(embed: hikari.Embed) -> dict[str, Any]:
    """An embed as Discord's JSON embed object (what hikari sends for it).

    Image, thumbnail and icon URLs are kept as given; an uploaded file appears as
    ``attachment://<name>``, as Discord expects.
    """
    data: dict[str, Any] = {}
    for key in ("title", "description", "url"):
        value = getattr(embed, key)
        if value is not None:
            data[key] = value
    if embed.timestamp is not None:
        data["timestamp"] = embed.timestamp.isoformat()
    if embed.color is not None:
        data["color"] = int(embed.color)
    if embed.footer is not None:
        footer = {"text": embed.footer.text} if embed.footer.text is not None else {}
        if embed.footer.icon is not None:
            footer["icon_url"] = embed.footer.icon.url
        data["footer"] = footer
    for key in ("image", "thumbnail"):
        media = getattr(embed, key)
        if media is not None:
            data[key] = {"url": media.url}
    if embed.author is not None:
        author = {k: v for k in ("name", "url") if (v := getattr(embed.author, k)) is not None}
        if embed.author.icon is not None:
            author["icon_url"] = embed.author.icon.url
        data["author"] = author
    if embed.fields:
        data["fields"] = [
            {"name": f.name, "value": f.value, "inline": f.is_inline} for f in embed.fields
        ]
    return data


def embed_from_json(data: dict[str, Any]) -> hikari.Embed:
    """The hikari embed for a JSON embed object made by :func:`embed_to_json`."""
    timestamp = data.get("timestamp")
    embed = hikari.Embed(
        title=data.get("title"),
        description=data.get("description"),
        url=data.get("url"),
        color=data.get("color"),
        timestamp=dt.datetime.fromisoformat(timestamp) if timestamp else None,
    )
    if "footer" in data:
        embed.set_footer(data["footer"].get("text"), icon=data["footer"].get("icon_url"))
    if "image" in data:
        embed.set_image(data["image"]["url"])
    if "thumbnail" in data:
        embed.set_thumbnail(data["thumbnail"]["url"])
    if "author" in data:
        author = data["author"]
        embed.set_author(
            name=author.get("name"), url=author.get("url"), icon=author.get("icon_url")
        )
    for field in data.get("fields", []):
        embed.add_field(field["name"], field["value"], inline=bool(field.get("inline")))
    return embed


def to_payload(message: Message) -> dict[str, Any]:
    """The JSON body of the message as Discord takes it, mentions disabled."""
    return {
        "content": message.content,
        "embeds": [embed_to_json(e) for e in message.embeds],
        "allowed_mentions": {"parse": []},
        "attachment_name": message.attachment_name,
    }


def embeds_from_payload(
    payload: dict[str, Any], attachment: bytes | None = None
) -> list[hikari.Embed]:
    """Rebuild hikari embeds from a stored payload for sending.

    An ``attachment://`` image becomes the chart bytes (hikari uploads them with the message),
    or is dropped when there is no chart.
    """
    embeds = []
    for data in payload["embeds"]:
        image = data.get("image") or {}
        uses_attachment = str(image.get("url", "")).startswith("attachment://")
        if uses_attachment:
            data = {k: v for k, v in data.items() if k != "image"}
        embed = embed_from_json(data)
        if uses_attachment and attachment is not None:
            embed.set_image(
                hikari.Bytes(attachment, payload.get("attachment_name") or CHART_FILENAME)
            )
        embeds.append(embed)
    return embeds
