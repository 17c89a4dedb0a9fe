"""Period tables and the digests: the weekly tables (Mondays) and the monthly nominations (1st).

Pure formatting: the rows come from :mod:`wog_warehouse.stats` (stored tables, never
recomputed here). Every nickname is escaped, every list cut to Discord's limits, and the message
is validated before it is returned — the same rules as the game message.
"""

from __future__ import annotations

import datetime as dt

import hikari

from wog_core.clock import period_bounds
from wog_report import limits
from wog_report.build import COLOUR, NAME_LIMIT, Message
from wog_report.catalogue import Catalogue
from wog_report.chart import CHART_FILENAME
from wog_report.escape import escape_markdown
from wog_warehouse.stats import AWARDS, SCORE_PRIOR_GAMES
from wog_warehouse.stats_read import Nomination, Ranked

WEEKLY_BOARDS = ("score", "kills", "vitality", "teamkills", "longest_kill", "commanders")
ROWS = 5  # per table in a digest


def period_label(period: str | None, t: Catalogue) -> str:
    """``неделя 2026-W48 (23.11 – 29.11.2026)``, ``ноябрь 2026`` or ``за всё время``."""
    if not period:
        return t("period_all")
    start, end = period_bounds(period)
    if "W" in period:
        last = end - dt.timedelta(days=1)
        return t("period_week", week=period, first=f"{start:%d.%m}", last=f"{last:%d.%m.%Y}")
    return t("period_month", month=t("months").split()[start.month - 1], year=start.year)


def format_value(board: str, row: Ranked, t: Catalogue) -> str:
    if board == "score":
        return f"{row.value:.2f}"
    if board == "vitality":
        return f"{row.value:.0%}"
    if board == "longest_kill":
        return t("value_metres", m=row.value)
    if board == "commanders":
        return t("value_commands", wins=int(row.value), games=row.games)
    return f"{row.value:g}"


def board_text(board: str, rows: list[Ranked], t: Catalogue, limit: int) -> str:
    """A table's lines (rank, escaped nickname, value), cut to ``limit`` characters."""
    if not rows:
        return t("board_empty")
    lines = [
        t("board_line", rank=r.rank, nickname=escape_markdown(limits.shorten(r.nickname, NAME_LIMIT)),
          value=format_value(board, r, t))
        for r in rows
    ]  # fmt: skip
    return limits.fit_lines(lines, limit, t("more", n="{n}"))


def nomination_line(n: Nomination, t: Catalogue) -> str:
    name = escape_markdown(limits.shorten(n.nickname, NAME_LIMIT))
    return f"{name} — " + t(f"award_value_{n.award}", v=n.value, game=n.replay_id)


def build_weekly_digest(
    period: str,
    games: int,
    boards: dict[str, list[Ranked]],
    t: Catalogue,
    *,
    min_games: int,
) -> Message:
    """Monday's message: the week's tables, the kills chart as the embed image."""
    embed = hikari.Embed(title=t("digest_tables"), color=COLOUR)
    for board in WEEKLY_BOARDS:
        rows = boards.get(board, [])
        if board == "teamkills":
            rows = [r for r in rows if r.value > 0]
        embed.add_field(t(f"board_{board}"), board_text(board, rows[:ROWS], t, 1024), inline=True)
    embed.set_image(f"attachment://{CHART_FILENAME}")
    embed.set_footer(t("digest_footer", c=SCORE_PRIOR_GAMES, n=min_games))
    content = t("digest_week_content", period=period_label(period, t), games=games)
    limits.validate(content, [embed])
    return Message(content, [embed], CHART_FILENAME)


def build_monthly_digest(
    period: str,
    games: int,
    nominations: list[Nomination],
    boards: dict[str, list[Ranked]],
    t: Catalogue,
    *,
    min_games: int,
) -> Message:
    """The 1st's message: the month's nominations, its score table and the kills chart."""
    awards = hikari.Embed(title=t("digest_nominations"), color=COLOUR)
    by_award = {n.award: n for n in nominations}
    for award in AWARDS:
        if award in by_award:
            awards.add_field(t(f"award_{award}"), nomination_line(by_award[award], t), inline=True)
    if not by_award:
        awards.description = t("digest_no_nominations")
    tables = hikari.Embed(title=t("digest_tables"), color=COLOUR)
    for board in ("score", "kills"):
        rows = boards.get(board, [])[:ROWS]
        tables.add_field(t(f"board_{board}"), board_text(board, rows, t, 1024), inline=True)
    tables.set_image(f"attachment://{CHART_FILENAME}")
    tables.set_footer(t("digest_footer", c=SCORE_PRIOR_GAMES, n=min_games))
    content = t("digest_month_content", period=period_label(period, t), games=games)
    limits.validate(content, [awards, tables])
    return Message(content, [awards, tables], CHART_FILENAME)
