"""The warehouse's data-quality checks, each defined once: name, asset, severity, description, SQL.

The Dagster asset checks (``wog_assets.defs``) are built from :data:`CHECKS`; each query returns
the offending rows for the given replays, so an empty result means the check passes.

Real data never blocks an announcement: the site's own numbers disagree often (side counts
against active players, commanders not found on their side, killers or victims missing from the
player list), so those checks *warn* — visible in the UI with the offending rows — and the game
is loaded and announced. Only what would make the message meaningless blocks: a game without
players, or a frag with a negative time or distance (which the parser's rules never produce).

Blocking is judged **per game**, not per run: a game that fails a blocking check is *held* —
its rows stay loaded and visible, but the later steps (player directory, statistics, message)
leave it out, while every other game of the same run goes through them. :func:`held_games`
says which games of a batch are held and why; it reads the tables as they are, so a re-parse
that fixes a game releases it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

DURATION_TOLERANCE_S = 60  # the page rounds start/end to the second; allow clock slop


@dataclass(frozen=True)
class Check:
    """One data-quality check of the warehouse tables."""

    name: str
    asset: str  # the warehouse table (and asset) it checks
    blocking: bool  # a game failing it is held out of the later steps (and not announced)
    severity: Literal["ERROR", "WARN"]
    description: str
    sql: str  # offending rows for :ids (and :tolerance)


CHECKS: tuple[Check, ...] = (
    Check(
        name="game_has_players",
        asset="players",
        blocking=True,
        severity="ERROR",
        description="Every game has players: a message about a game without any is meaningless.",
        sql="""
        SELECT g.replay_id
        FROM games g
        WHERE g.replay_id = ANY(:ids)
          AND NOT EXISTS (SELECT 1 FROM players p WHERE p.replay_id = g.replay_id)
        ORDER BY g.replay_id
    """,
    ),
    Check(
        name="frags_reference_players",
        asset="frags",
        blocking=False,
        severity="WARN",
        description="Every victim, and every known killer, is a player of the same game.",
        sql="""
        SELECT f.replay_id, f.seq,
               CASE WHEN v.player_id IS NULL THEN 'victim ' || f.victim_id
                    ELSE 'killer ' || f.killer_id END AS problem
        FROM frags f
        LEFT JOIN players v ON v.replay_id = f.replay_id AND v.player_id = f.victim_id
        LEFT JOIN players k ON k.replay_id = f.replay_id AND k.player_id = f.killer_id
        WHERE f.replay_id = ANY(:ids)
          AND (v.player_id IS NULL OR (f.killer_id IS NOT NULL AND k.player_id IS NULL))
        ORDER BY f.replay_id, f.seq
    """,
    ),
    Check(
        name="no_negative_times_or_distances",
        asset="frags",
        blocking=True,
        severity="ERROR",
        description="No frag has a negative mission time or distance.",
        sql="""
        SELECT replay_id, seq, time_s, distance_m FROM frags
        WHERE replay_id = ANY(:ids) AND (time_s < 0 OR distance_m < 0)
        ORDER BY replay_id, seq
    """,
    ),
    Check(
        name="commanders_on_their_side",
        asset="games",
        blocking=False,
        severity="WARN",
        description="Each side's commander is a player of that side in that game.",
        sql="""
        SELECT g.replay_id, c.side, c.player_id, p.side AS found_side
        FROM games g
        CROSS JOIN LATERAL (VALUES ('EAST', g.commander_east_id), ('WEST', g.commander_west_id),
                                   ('GUER', g.commander_guer_id), ('CIV', g.commander_civ_id))
             AS c(side, player_id)
        LEFT JOIN players p ON p.replay_id = g.replay_id AND p.player_id = c.player_id
        WHERE g.replay_id = ANY(:ids) AND c.player_id IS NOT NULL
          AND p.side IS DISTINCT FROM c.side
        ORDER BY g.replay_id, c.side
    """,
    ),
    Check(
        name="duration_matches_start_and_end",
        asset="games",
        blocking=False,
        severity="WARN",
        description="The stated duration agrees with start and end (±60 s).",
        sql="""
        SELECT replay_id, duration_s,
               extract(epoch FROM ended_at - started_at)::int AS from_timestamps
        FROM games
        WHERE replay_id = ANY(:ids)
          AND abs(extract(epoch FROM ended_at - started_at) - duration_s) > :tolerance
        ORDER BY replay_id
    """,
    ),
    Check(
        name="side_counts_match_players_active",
        asset="games",
        blocking=False,
        severity="WARN",
        description="Per-side player counts add up to the active players.",
        sql="""
        SELECT replay_id, players_active,
               coalesce(players_east, 0) + coalesce(players_west, 0)
               + coalesce(players_guer, 0) + coalesce(players_civ, 0) AS side_total
        FROM games
        WHERE replay_id = ANY(:ids)
          AND players_active <> coalesce(players_east, 0) + coalesce(players_west, 0)
                                + coalesce(players_guer, 0) + coalesce(players_civ, 0)
        ORDER BY replay_id
    """,
    ),
)
CHECKS_BY_NAME = {check.name: check for check in CHECKS}


def quality_problems(
    engine: Engine, check: str | Check, replay_ids: Iterable[int]
) -> list[dict[str, Any]]:
    """Offending rows of one quality check for ``replay_ids`` (as dicts)."""
    query = check if isinstance(check, Check) else CHECKS_BY_NAME[check]
    params = {"ids": sorted(set(replay_ids)), "tolerance": DURATION_TOLERANCE_S}
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(query.sql), params)]


def held_games(engine: Engine, replay_ids: Iterable[int]) -> dict[int, str]:
    """The games of ``replay_ids`` that fail a blocking check: replay → which and why.

    Every blocking check's query returns the replay id as its first column.
    """
    ids = sorted(set(replay_ids))
    held: dict[int, str] = {}
    if not ids:
        return held
    for check in CHECKS:
        if not check.blocking:
            continue
        rows: dict[int, int] = {}
        for row in quality_problems(engine, check, ids):
            rid = int(row["replay_id"])
            rows[rid] = rows.get(rid, 0) + 1
        for rid, count in rows.items():
            reason = f"held by check {check.name} ({count} offending row(s)): {check.description}"
            held.setdefault(rid, reason)
    return held
