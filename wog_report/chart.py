"""The battle chart: cumulative frags per side over mission time, as a PNG (headless Agg)."""

from __future__ import annotations

import io
from typing import Any

from wog_core.models import Replay
from wog_core.sides import SIDE_ORDER, Side
from wog_report.catalogue import Catalogue
from wog_report.summary import kills_timeline

CHART_FILENAME = "battle.png"
WIDTH_PX, HEIGHT_PX, DPI = 800, 400, 100  # Discord previews embed images ~400 px wide


def warm_up() -> None:
    """Import matplotlib and draw one tiny figure (fonts, the Agg backend), so the first chart
    a slash command asks for does not pay for it; the bot calls it when it starts."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(1, 1), dpi=DPI)
    fig.add_subplot().plot([0, 1], [0, 1])
    fig.savefig(io.BytesIO(), format="png")


def render_chart(replay: Replay, catalogue: Catalogue | None = None) -> bytes:
    """PNG bytes of the chart (a step line per side, in the side's colour)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure  # the OO API: no pyplot global state, thread-safe

    t = catalogue or Catalogue()
    timeline = kills_timeline(replay)
    end_min = (
        max(replay.game.duration_s, max((max(v) for v in timeline.values() if v), default=0)) / 60
    )

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="#2b2d31")
    ax = fig.add_subplot()
    ax.set_facecolor("#2b2d31")
    plotted = False
    for side in SIDE_ORDER:
        if side.value not in timeline:
            continue
        times = sorted(timeline[side.value])
        xs = [0.0, *(s / 60 for s in times), end_min]
        ys = [0, *range(1, len(times) + 1), len(times)]
        ax.step(
            xs,
            ys,
            where="post",
            color=Side(side).colour,
            linewidth=2.2,
            label=f"{side.value} ({len(times)})",
        )
        plotted = True
    if not plotted or not any(timeline.values()):
        ax.text(
            0.5,
            0.5,
            t("chart_empty"),
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="#dbdee1",
            fontsize=14,
        )
    ax.set_title(t("chart_title"), color="#f2f3f5", fontsize=13)
    ax.set_xlabel(t("chart_x"), color="#dbdee1", fontsize=11)
    ax.set_ylabel(t("chart_y"), color="#dbdee1", fontsize=11)
    ax.set_xlim(0, max(end_min, 1))
    ax.set_ylim(bottom=0)
    ax.tick_params(colors="#dbdee1", labelsize=10)
    ax.grid(color="#4e5058", linewidth=0.6, alpha=0.7)
    for spine in ax.spines.values():
        spine.set_color("#4e5058")
    if plotted:
        legend = ax.legend(loc="upper left", fontsize=10, facecolor="#1e1f22", edgecolor="#4e5058")
        for text in legend.get_texts():
            text.set_color("#f2f3f5")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor=fig.get_facecolor())
    return buffer.getvalue()


def _figure() -> tuple[Any, Any]:  # matplotlib's Figure and Axes
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, HEIGHT_PX / DPI), dpi=DPI, facecolor="#2b2d31")
    ax = fig.add_subplot()
    ax.set_facecolor("#2b2d31")
    ax.tick_params(colors="#dbdee1", labelsize=10)
    ax.grid(color="#4e5058", linewidth=0.6, alpha=0.7)
    for spine in ax.spines.values():
        spine.set_color("#4e5058")
    return fig, ax


def _png(fig) -> bytes:  # type: ignore[no-untyped-def]
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", facecolor=fig.get_facecolor())
    return buffer.getvalue()


def render_bars(labels: list[str], values: list[float], title: str) -> bytes:
    """A horizontal bar chart, the first label on top (a period's top 10)."""
    fig, ax = _figure()
    names = [label if len(label) <= 24 else label[:23] + "…" for label in labels]
    positions = list(range(len(values)))[::-1]
    ax.barh(positions, values, color="#5865f2")
    ax.set_yticks(positions, names)
    for y, value in zip(positions, values, strict=True):
        ax.text(value, y, f" {value:g}", va="center", color="#f2f3f5", fontsize=10)
    ax.set_title(title, color="#f2f3f5", fontsize=13)
    ax.set_xlim(0, max(values, default=1) * 1.15 or 1)
    return _png(fig)


def render_career(kills: list[int], deaths: list[int], catalogue: Catalogue | None = None) -> bytes:
    """Kills and deaths of each game of a career, in order, with a 10-game moving average."""
    t = catalogue or Catalogue()
    fig, ax = _figure()
    xs = list(range(1, len(kills) + 1))
    for series, colour, key in ((kills, "#57f287", "career_chart_kills"),
                                (deaths, "#ed4245", "career_chart_deaths")):  # fmt: skip
        ax.plot(xs, series, color=colour, linewidth=0.8, alpha=0.35)
        window = min(10, len(series)) or 1
        smooth = [sum(series[max(0, i - window + 1) : i + 1]) / min(window, i + 1)
                  for i in range(len(series))]  # fmt: skip
        ax.plot(xs, smooth, color=colour, linewidth=2.2, label=t(key))
    ax.set_title(t("career_chart_title"), color="#f2f3f5", fontsize=13)
    ax.set_xlabel(t("career_chart_x"), color="#dbdee1", fontsize=11)
    ax.set_ylim(bottom=0)
    legend = ax.legend(loc="upper left", fontsize=10, facecolor="#1e1f22", edgecolor="#4e5058")
    for text in legend.get_texts():
        text.set_color("#f2f3f5")
    return _png(fig)
