"""A replay's parsed rows: written in one transaction, read back as the normalized replay.

Every write for one replay is one transaction of bulk statements: re-writing a replay any
number of times leaves identical rows, and a failure leaves the previous rows in place.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from dbschema import tables as t
from wog_core.models import SITE_SOURCE, Commander, Frag, Game, Player, Replay, Vehicle
from wog_core.sides import SIDE_CODES


def game_row(replay: Replay, page_url: str) -> dict[str, Any]:
    g = replay.game
    row = {
        "replay_id": replay.replay_id,
        "mission_id": g.mission_id,
        "mission_name": g.mission_name,
        "island": g.island,
        "played_on": g.date,
        "started_at": g.started_at,
        "ended_at": g.ended_at,
        "duration_s": g.duration_s,
        "winner": g.winner,
        "players_active": g.players_active,
        "slots": g.slots,
        "page_url": page_url,
        "parsed_at": dt.datetime.now(dt.UTC),
    }
    for code in SIDE_CODES:
        lower = code.lower()
        commander = g.commanders.get(code)
        row[f"players_{lower}"] = g.side_players.get(code)
        row[f"commander_{lower}_id"] = commander.player_id if commander else None
        row[f"commander_{lower}_nickname"] = commander.nickname if commander else None
    return row


def write_replay(
    engine: Engine, replay: Replay, page_url: str, *, source: str = SITE_SOURCE
) -> dict[str, int]:
    """Replace one replay's rows in games, players, vehicles and frags in one transaction.

    The ``games`` row is upserted rather than deleted, so rows that hang off it and are not
    derived from the site (notifications) survive a re-parse. Returns row counts per table.
    """
    rid = replay.replay_id
    game = {**game_row(replay, page_url), "source": source}
    players = [{"replay_id": rid, **_fields(p)} for p in replay.players]
    vehicles = [{"replay_id": rid, **_fields(v)} for v in replay.vehicles]
    frags = [
        {
            "replay_id": rid,
            **{("is_teamkill" if k == "teamkill" else k): v for k, v in _fields(f).items()},
        }
        for f in replay.frags
    ]
    for table, rows in ((t.games, [game]), (t.players, players), (t.vehicles, vehicles),
                        (t.frags, frags)):  # fmt: skip
        check_rows(table, rows, replay_id=rid, url=page_url)
    stmt = pg_insert(t.games).values(game)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.games.c.replay_id],
        set_={k: stmt.excluded[k] for k in game if k != "replay_id"},
    )
    with engine.begin() as conn:
        conn.execute(stmt)
        for table, rows in ((t.players, players), (t.vehicles, vehicles), (t.frags, frags)):
            conn.execute(sa.delete(table).where(table.c.replay_id == rid))
            if rows:
                conn.execute(table.insert(), rows)
    return {"games": 1, "players": len(players), "vehicles": len(vehicles), "frags": len(frags)}


class RowRejected(ValueError):
    """A value does not fit its column; the message names the replay, URL, field and value."""


_INTEGER_LIMITS = (
    (sa.SmallInteger, 2**15 - 1),
    (sa.BigInteger, 2**63 - 1),
    (sa.Integer, 2**31 - 1),
)


def _problem(column: sa.Column[Any], value: object) -> str | None:
    """Why ``value`` cannot be stored in ``column`` (None when it can)."""
    kind = column.type
    if isinstance(value, bool):
        return None
    if isinstance(value, int) and isinstance(kind, sa.Integer):
        limit = next(limit for cls, limit in _INTEGER_LIMITS if isinstance(kind, cls))
        return None if -limit - 1 <= value <= limit else f"beyond the column's range ±{limit}"
    if isinstance(value, float) and not math.isfinite(value):
        return "not a finite number"
    if isinstance(value, str):
        if "\x00" in value:
            return "contains a NUL character"
        length = getattr(kind, "length", None)
        if length is not None and len(value) > length:
            return f"longer than the column's {length} characters"
    return None


def check_rows(table: sa.Table, rows: list[dict[str, Any]], *, replay_id: int, url: str) -> None:
    """Raise :class:`RowRejected` for the first value of ``rows`` its column cannot hold."""
    for index, row in enumerate(rows):
        for key, value in row.items():
            if value is None:
                continue
            problem = _problem(table.c[key], value)
            if problem:
                shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
                where = f"{table.name}[{index}].{key}" if len(rows) > 1 else f"{table.name}.{key}"
                raise RowRejected(f"replay {replay_id}, {url}: {where} = {shown}: {problem}")


def _fields(struct: object) -> dict[str, Any]:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}  # type: ignore[attr-defined]


def refresh_player_directory(
    conn: Connection | Engine, replay_ids: Iterable[int]
) -> dict[str, int]:
    """Bring the directory and nickname history up to date for everyone in ``replay_ids``.

    Set-based and order-independent: the current nickname is the one from the player's newest
    game in the warehouse, so backfilling old games never overwrites a newer nickname; the
    nickname history only grows (a nickname a re-parse no longer finds keeps its entry).
    """
    ids = sorted(set(replay_ids))
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_player_directory(c, ids)
    if not ids:
        return {"players": 0, "nicknames": 0}
    params = {"ids": ids}
    # Only this batch's players, each read through the (player_id, replay_id) index: the
    # newest and oldest game are one index probe each and the count an index-only scan, so a
    # batch costs the same at 20 games of history as at 10,000 (a full re-aggregation of each
    # player's history made a backfill quadratic).
    directory = conn.execute(
        sa.text(
            """
            WITH batch AS (SELECT DISTINCT player_id FROM players WHERE replay_id = ANY(:ids))
            INSERT INTO player_directory AS d
                (player_id, nickname, first_seen_replay, last_seen_replay, games_played, updated_at)
            SELECT b.player_id, newest.nickname, oldest.replay_id, newest.replay_id, n.games, now()
            FROM batch b
            CROSS JOIN LATERAL (
                SELECT nickname, replay_id FROM players p
                WHERE p.player_id = b.player_id ORDER BY p.replay_id DESC LIMIT 1) newest
            CROSS JOIN LATERAL (
                SELECT replay_id FROM players p
                WHERE p.player_id = b.player_id ORDER BY p.replay_id ASC LIMIT 1) oldest
            CROSS JOIN LATERAL (
                SELECT count(*) AS games FROM players p WHERE p.player_id = b.player_id) n
            ON CONFLICT (player_id) DO UPDATE SET
                nickname = excluded.nickname,
                first_seen_replay = excluded.first_seen_replay,
                last_seen_replay = excluded.last_seen_replay,
                games_played = excluded.games_played,
                updated_at = now()
            """
        ),
        params,
    )
    # Nickname history grows by this batch's (player, nickname) pairs; re-running is a no-op.
    nicknames = conn.execute(
        sa.text(
            """
            INSERT INTO player_nicknames AS h
                (player_id, nickname, first_seen_replay, last_seen_replay)
            SELECT player_id, nickname, min(replay_id), max(replay_id)
            FROM players WHERE replay_id = ANY(:ids)
            GROUP BY player_id, nickname
            ON CONFLICT (player_id, nickname) DO UPDATE SET
                first_seen_replay = least(h.first_seen_replay, excluded.first_seen_replay),
                last_seen_replay = greatest(h.last_seen_replay, excluded.last_seen_replay)
            """
        ),
        params,
    )
    return {"players": directory.rowcount, "nicknames": nicknames.rowcount}


def load_replay(engine: Engine, replay_id: int) -> tuple[Replay, str] | None:
    """The normalized replay and its page URL as stored in the warehouse, or None."""

    with engine.connect() as conn:
        game = (
            conn.execute(sa.select(t.games).where(t.games.c.replay_id == replay_id))
            .mappings()
            .first()
        )
        if game is None:
            return None
        players = conn.execute(
            sa.select(t.players)
            .where(t.players.c.replay_id == replay_id)
            .order_by(t.players.c.player_id)
        ).mappings()
        player_list = [
            Player(r["player_id"], r["side"], r["nickname"], r["slot"], r["squad"]) for r in players
        ]
        vehicles = conn.execute(
            sa.select(t.vehicles)
            .where(t.vehicles.c.replay_id == replay_id)
            .order_by(t.vehicles.c.vehicle_id)
        ).mappings()
        vehicle_list = [Vehicle(r["vehicle_id"], r["type"], r["name"]) for r in vehicles]
        frags = conn.execute(
            sa.select(t.frags).where(t.frags.c.replay_id == replay_id).order_by(t.frags.c.seq)
        ).mappings()
        frag_list = [
            Frag(
                seq=r["seq"],
                time_s=r["time_s"],
                victim_id=r["victim_id"],
                victim_vehicle=r["victim_vehicle"],
                killer_id=r["killer_id"],
                killer_vehicle=r["killer_vehicle"],
                weapon=r["weapon"],
                distance_m=r["distance_m"],
                teamkill=r["is_teamkill"],
            )
            for r in frags
        ]
    side_players: dict[str, int] = {}
    commanders: dict[str, Commander] = {}
    for code in SIDE_CODES:
        low = code.lower()
        if game[f"players_{low}"] is not None:
            side_players[code] = game[f"players_{low}"]
        if game[f"commander_{low}_id"] is not None:
            commanders[code] = Commander(
                game[f"commander_{low}_id"], game[f"commander_{low}_nickname"] or ""
            )
    replay = Replay(
        replay_id=replay_id,
        game=Game(
            mission_name=game["mission_name"],
            mission_id=game["mission_id"],
            island=game["island"],
            date=game["played_on"],
            started_at=game["started_at"],
            ended_at=game["ended_at"],
            duration_s=game["duration_s"],
            winner=game["winner"],
            players_active=game["players_active"],
            slots=game["slots"],
            side_players=side_players,
            commanders=commanders,
        ),
        players=player_list,
        vehicles=vehicle_list,
        frags=frag_list,
    )
    return replay, game["page_url"]


def loaded_ids(engine: Engine, replay_ids: Iterable[int]) -> set[int]:
    """Which of ``replay_ids`` have a ``games`` row."""
    ids = sorted(set(replay_ids))
    with engine.connect() as conn:
        return set(
            conn.execute(
                sa.select(t.games.c.replay_id).where(t.games.c.replay_id.in_(ids))
            ).scalars()
        )


def latest_replay_id(engine: Engine) -> int | None:
    """The newest WOG game in the warehouse (ids grow with time), else the last game of any
    source to end; None when there is none."""
    with engine.connect() as conn:
        wog = conn.execute(
            sa.select(sa.func.max(t.games.c.replay_id)).where(t.games.c.source == SITE_SOURCE)
        ).scalar()
        if wog is not None:
            return int(wog)
        return conn.execute(
            sa.select(t.games.c.replay_id)
            .order_by(t.games.c.ended_at.desc(), t.games.c.replay_id.desc())
            .limit(1)
        ).scalar()


class KillerRow(NamedTuple):
    rank: int
    nickname: str
    kills: int
    player_id: int


_TOP_KILLERS = sa.text(
    """
    WITH recent AS (
        SELECT replay_id FROM games WHERE source = :source ORDER BY replay_id DESC LIMIT :games
    )
    SELECT dense_rank() OVER (ORDER BY count(*) DESC) AS rank, f.killer_id,
           coalesce(d.nickname, '#' || f.killer_id) AS nickname, count(*) AS kills,
           (SELECT count(*) FROM recent) AS counted
    FROM frags f
    LEFT JOIN player_directory d ON d.player_id = f.killer_id
    WHERE f.replay_id IN (SELECT replay_id FROM recent)
      AND f.killer_id IS NOT NULL AND NOT f.is_teamkill AND f.killer_id <> f.victim_id
    GROUP BY f.killer_id, d.nickname
    ORDER BY kills DESC, lower(coalesce(d.nickname, '')), f.killer_id
    LIMIT :rows
    """
)


def top_killers(
    engine: Engine, games: int, *, source: str = SITE_SOURCE, rows: int = 10
) -> tuple[int, list[KillerRow]]:
    """(games counted, the top killers dense-ranked) over ``source``'s last ``games`` games.

    Per source: ids of different sources do not interleave in time (OCAP games are numbered
    from 10^12 up), so "the last games" across sources would be one source's alone.
    """
    params = {"games": games, "rows": rows, "source": source}
    with engine.connect() as conn:
        found = conn.execute(_TOP_KILLERS, params).all()
        counted = (
            found[0].counted
            if found
            else conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT 1 FROM games WHERE source = :source "
                    "ORDER BY replay_id DESC LIMIT :games) x"
                ),
                params,
            ).scalar_one()
        )
    return int(counted), [
        KillerRow(int(r.rank), r.nickname, int(r.kills), int(r.killer_id)) for r in found
    ]


def game_count(engine: Engine) -> int:
    """How many games the warehouse holds (every source)."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.games)).scalar_one()


def directory_size(engine: Engine) -> int:
    """How many players the directory knows."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(t.player_directory)).scalar_one()
