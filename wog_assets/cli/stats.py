"""``wog stats``: career statistics for admins and scripts (``--json`` for machines)."""

from __future__ import annotations

import json
import sys

import click

from wog_assets.cli.common import engine, settings


def _player(name_or_id: str) -> int:
    from wog_warehouse.stats import UnknownPlayer, find_player

    try:
        return find_player(engine(), name_or_id)
    except UnknownPlayer as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


@click.group("stats")
def stats_group() -> None:
    """Career statistics: players, leaderboards, rivals (see README, "Career statistics").

    Example: wog stats top --metric kills
    """


@stats_group.command("refresh")
def refresh_cmd() -> None:
    """Rebuild the statistics of every game in the warehouse (set-wise; safe to repeat).

    Example: wog stats refresh
    """
    import sqlalchemy as sa

    from wog_warehouse.stats import refresh_careers, refresh_game_stats

    warehouse = engine()
    with warehouse.begin() as conn:
        ids = list(conn.scalars(sa.text("SELECT replay_id FROM games")))
        rows = refresh_game_stats(conn, ids)
        counts = refresh_careers(conn, min_games=settings().pipeline.stats_min_games)
    click.echo(
        f"{rows} player-game rows from {len(ids)} games; {counts['careers']} careers, "
        f"{counts['rivals']} rivals"
    )


@stats_group.command("player")
@click.argument("name_or_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the README documents it).")
def player_cmd(name_or_id: str, as_json: bool) -> None:
    """A player's career, by id or by a current or past nickname.

    Example: wog stats player "[WOG] Иван" --json
    """
    from wog_warehouse.stats import career

    record = career(engine(), _player(name_or_id))
    if record is None:
        click.echo(f"error: player {name_or_id!r} has no games in the statistics", err=True)
        sys.exit(2)
    if as_json:
        click.echo(json.dumps(record, ensure_ascii=False, default=str))
        return
    for key, value in record.items():
        shown = f"{value:.3f}" if isinstance(value, float) else value
        click.echo(f"{key:>17}: {shown}")


@stats_group.command("top")
@click.option("--period", help="A month (2026-03) or an ISO week (2026-W10); default: all time.")
@click.option(
    "--metric",
    type=click.Choice(["score", "kills", "deaths", "teamkills", "vitality"]),
    default="score",
    show_default=True,
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the README documents it).")
def top_cmd(period: str | None, metric: str, as_json: bool) -> None:
    """Every ranked player by a metric, highest first, dense ranks.

    Example: wog stats top --period 2026-W10 --metric kills --json
    """
    from wog_warehouse.stats import period_bounds, top

    if period:
        try:
            period_bounds(period)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--period") from None
    rows = top(engine(), metric=metric, min_games=settings().pipeline.stats_min_games,
               period=period)  # fmt: skip
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], ensure_ascii=False))
        return
    for r in rows:
        click.echo(f"{r.rank:>4}. {r.nickname} ({r.player_id}) — {r.value:g}")


@stats_group.command("rivals")
@click.argument("name_or_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON (the README documents it).")
def rivals_cmd(name_or_id: str, as_json: bool) -> None:
    """Who killed a player most (nemesis) and whom they killed most.

    Example: wog stats rivals 451 --json
    """
    from wog_warehouse.stats import rivals_of

    found = rivals_of(engine(), _player(name_or_id))
    if as_json:
        click.echo(json.dumps(found, ensure_ascii=False))
        return
    for label, key in (("nemesis", "nemesis"), ("favourite victim", "favourite_victim")):
        who = found[key]
        text = f"{who['nickname']} ({who['player_id']}), {who['kills']} kills" if who else "nobody"
        click.echo(f"{label:>16}: {text}")


COMMANDS = [stats_group]
