"""``wog stats``: career statistics for admins and scripts (``--json`` for machines)."""

from __future__ import annotations

import json
import sys

import click

from wog_cli.common import engine, settings
from wog_core.models import SITE_SOURCE
from wog_core.text import isolate_bidi
from wog_warehouse.stats import BOARDS


def _player(name_or_id: str) -> int:
    from wog_warehouse.stats_read import UnknownPlayer, find_player

    try:
        return find_player(engine(), name_or_id)
    except UnknownPlayer as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.group("stats")
def stats_group() -> None:
    """Career statistics: players, leaderboards, rivals (docs/players.md, "Career statistics").

    Example: wog stats top --metric kills
    """


@stats_group.command("refresh")
@click.option("--stale", is_flag=True, help="Only what changed since the last refresh.")
def refresh_cmd(stale: bool) -> None:
    """Rebuild the statistics of every game: per-game rows, careers and every week's and
    month's tables (set-wise, one transaction; safe to repeat). --stale redoes only the players
    and periods changed since the last refresh, as the pipeline does.

    Example: wog stats refresh
    """

    from wog_warehouse.stats import (
        all_periods,
        refresh_careers,
        refresh_game_stats,
        refresh_leaderboards,
        stale_periods,
        vacuum_statistics,
    )

    min_games = settings().pipeline.stats_min_games
    warehouse = engine()
    rows = 0
    with warehouse.begin() as conn:
        if not stale:
            rows = refresh_game_stats(conn, None)
        counts = refresh_careers(conn, min_games=min_games, full=not stale)
        periods = stale_periods(conn) if stale else all_periods(conn)
        boards = refresh_leaderboards(conn, periods, min_games=min_games)
    if not stale:
        vacuum_statistics(warehouse)
    done = f"{rows} player-game rows; " if not stale else ""
    click.echo(
        f"{done}{counts['careers']} careers; "
        f"{boards['periods']} periods ({boards['leaderboards']} leaderboard rows, "
        f"{boards['nominations']} nominations)"
    )


@stats_group.command("player")
@click.argument("name_or_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/players.md documents it).")
def player_cmd(name_or_id: str, as_json: bool) -> None:
    """A player's career, by id or by a current or past nickname.

    Example: wog stats player "[WOG] Иван" --json
    """
    from wog_warehouse.stats_read import career

    record = career(engine(), _player(name_or_id))
    if record is None:
        click.echo(f"error: player {name_or_id!r} has no games in the statistics", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, default=str))
        return
    for key, value in record.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        shown = isolate_bidi(shown) if isinstance(shown, str) else shown
        click.echo(f"{key:>17}: {shown}")


@stats_group.command("top")
@click.option("--period", help="A month (2026-03) or an ISO week (2026-W10); default: all time.")
@click.option(
    "--metric",
    type=click.Choice(BOARDS),
    default="score",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/players.md documents it).")
@click.option(
    "--source", default=SITE_SOURCE, show_default=True, help="Whose games: wog or an OCAP source."
)
def top_cmd(period: str | None, metric: str, as_json: bool, source: str) -> None:
    """Every ranked player by a metric, highest first, dense ranks (longest_kill and commanders
    list everyone with a kill or a command).

    Example: wog stats top --period 2026-W10 --metric kills --json
    """
    from wog_core.clock import period_bounds
    from wog_warehouse.stats_read import top

    if period:
        try:
            period_bounds(period)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
    rows = top(engine(), metric=metric, period=period, source=source)
    if not rows:  # an empty table says why (on stderr; --json still prints [])
        from wog_warehouse.stats_read import why_empty

        reason = why_empty(
            engine(), metric=metric, period=period, source=source,
            min_games=settings().pipeline.stats_min_games,
        )  # fmt: skip
        click.echo(f"no players to rank: {reason}", err=True)
    if as_json:
        fields = ("rank", "player_id", "nickname", "value")
        click.echo(
            json.dumps([{f: getattr(r, f) for f in fields} for r in rows], ensure_ascii=False)
        )
        return
    for r in rows:
        click.echo(f"{r.rank:>4}. {isolate_bidi(r.nickname)} ({r.player_id}) — {r.value:g}")


@stats_group.command("nominations")
@click.argument("period")
@click.option(
    "--source", default=SITE_SOURCE, show_default=True, help="Whose games: wog or an OCAP source."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def nominations_cmd(period: str, source: str, as_json: bool) -> None:
    """A week's or month's nominations (docs/players.md, "Leaderboards and nominations").

    Example: wog stats nominations 2026-11 --json
    """
    from wog_warehouse.stats_read import nominations_of

    try:
        found = nominations_of(engine(), period, source)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="PERIOD") from None
    if as_json:
        click.echo(json.dumps([n.__dict__ for n in found], ensure_ascii=False))
        return
    if not found:
        click.echo(f"no nominations for {period} (no games, or not refreshed yet)")
    for n in found:
        game = f" in game {n.replay_id}" if n.replay_id is not None else ""
        click.echo(f"{n.award:>15}: {isolate_bidi(n.nickname)} ({n.player_id}) — {n.value:g}{game}")


@stats_group.command("rivals")
@click.argument("name_or_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (docs/players.md documents it).")
def rivals_cmd(name_or_id: str, as_json: bool) -> None:
    """Who killed a player most (nemesis) and whom they killed most.

    Example: wog stats rivals 451 --json
    """
    from wog_warehouse.stats_read import rivals_of

    found = rivals_of(engine(), _player(name_or_id))
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for label, key in (("nemesis", "nemesis"), ("favourite victim", "favourite_victim")):
        who = found[key]
        text = (
            f"{isolate_bidi(who['nickname'])} ({who['player_id']}), {who['kills']} kills"
            if who
            else "nobody"
        )
        click.echo(f"{label:>16}: {text}")


@click.command("demo-history")
@click.option("--games", default=10_000, show_default=True, help="How many games to generate.")
@click.option("--players", default=150, show_default=True, help="Players per game.")
@click.option("--append", is_flag=True, help="Add to a warehouse that already has games.")
def demo_history_cmd(games: int, players: int, append: bool) -> None:
    """Fill the warehouse with a generated history (parsed rows only, written set-wise; no raw
    bodies, no runs), then bring the directory and statistics up to date — for trying the
    statistics, /top and the digests at scale.

    Refuses a warehouse that has games unless --append: it is never mixed into real data by
    accident.

    Example: wog demo-history --games 10000
    """
    import time

    from wog_fakes.history import build_history
    from wog_warehouse.replays import game_count

    warehouse = engine()
    existing = game_count(warehouse)
    if existing and not append:
        raise click.ClickException(
            f"the warehouse already has {existing} games; give --append to add generated ones"
        )
    started = time.perf_counter()
    history = build_history(
        warehouse,
        games,
        players_per_game=players,
        min_games=settings().pipeline.stats_min_games,
        say=click.echo,
    )
    click.echo(
        f"{games:,} games {history.first_id}..{history.last_id} "
        f"({history.first_day} – {history.last_day}): {history.players:,} player-games, "
        f"{history.frags:,} frags; statistics current ({time.perf_counter() - started:.0f} s)"
    )


COMMANDS = [stats_group, demo_history_cmd]
