"""Reading and writing the warehouse (SQLAlchemy Core, no Dagster).

Every write for one replay is one transaction of bulk statements: re-writing a replay any
number of times leaves identical rows, and a failure leaves the previous rows in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
import zstandard
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from dbschema import tables as t
from wog_assets.sides import SIDE_CODES
from wog_assets.source.client import Fetched
from wog_assets.source.models import Replay

ZSTD_LEVEL = 3


# --- raw ------------------------------------------------------------------------------------


def store_game_page(engine: Engine, fetched: Fetched) -> None:
    """Store a fetched game page verbatim (replacing an earlier copy)."""
    row = {
        "replay_id": fetched.replay_id,
        "url": fetched.url,
        "http_status": fetched.http_status,
        "fetched_at": fetched.fetched_at,
        "sha256": fetched.sha256,
        "body": fetched.text,
    }
    _upsert(engine, t.raw_game_pages, row, "game_page")


def store_replay_json(engine: Engine, fetched: Fetched) -> int:
    """Store a fetched replay JSON, zstd-compressed; returns the compressed size."""
    compressed = zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(fetched.body)
    row = {
        "replay_id": fetched.replay_id,
        "url": fetched.url,
        "http_status": fetched.http_status,
        "fetched_at": fetched.fetched_at,
        "sha256": fetched.sha256,
        "size_bytes": len(fetched.body),
        "codec": "zstd",
        "body": compressed,
    }
    _upsert(engine, t.raw_replay_json, row, "replay_json")
    return len(compressed)


def _upsert(engine: Engine, table: sa.Table, row: dict, what: str) -> None:
    stmt = pg_insert(table).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=[table.c.replay_id],
        set_={k: stmt.excluded[k] for k in row if k != "replay_id"},
    )
    with engine.begin() as conn:
        conn.execute(stmt)
        conn.execute(
            sa.delete(t.replay_misses).where(t.replay_misses.c.replay_id == row["replay_id"])
        )


def stored_raw_ids(engine: Engine, table: sa.Table, replay_ids: Iterable[int]) -> set[int]:
    """Which of ``replay_ids`` already have a stored body in ``table``."""
    ids = list(replay_ids)
    with engine.connect() as conn:
        return set(
            conn.execute(sa.select(table.c.replay_id).where(table.c.replay_id.in_(ids))).scalars()
        )


@dataclass(frozen=True)
class RawReplay:
    """The stored bodies of one replay, ready to parse."""

    replay_id: int
    page_url: str
    page_html: str
    json_url: str
    json_body: bytes


def load_raw(engine: Engine, replay_id: int) -> RawReplay | None:
    """The stored page and JSON of a replay, or None if either is not stored."""
    page, js = t.raw_game_pages, t.raw_replay_json
    query = (
        sa.select(page.c.url, page.c.body, js.c.url, js.c.body, js.c.size_bytes, js.c.sha256)
        .select_from(page.join(js, page.c.replay_id == js.c.replay_id))
        .where(page.c.replay_id == replay_id)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    page_url, html, json_url, compressed, size, sha256 = row
    body = zstandard.ZstdDecompressor().decompress(compressed, max_output_size=size)
    if hashlib.sha256(body).hexdigest() != sha256:
        raise ValueError(f"replay {replay_id}: stored replay JSON does not match its SHA-256")
    return RawReplay(replay_id, page_url, html, json_url, body)


def record_miss(engine: Engine, replay_id: int, what: str, url: str, reason: str) -> None:
    """Remember that the site did not have ``what`` for this replay (404 / error page)."""
    stmt = pg_insert(t.replay_misses).values(replay_id=replay_id, what=what, url=url, reason=reason)
    stmt = stmt.on_conflict_do_update(
        index_elements=[t.replay_misses.c.replay_id, t.replay_misses.c.what],
        set_={
            "url": stmt.excluded.url,
            "reason": stmt.excluded.reason,
            "last_seen_at": sa.func.now(),
            "attempts": t.replay_misses.c.attempts + 1,
        },
    )
    with engine.begin() as conn:
        conn.execute(stmt)


# --- parsed ---------------------------------------------------------------------------------


def game_row(replay: Replay, page_url: str) -> dict:
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


def write_replay(engine: Engine, replay: Replay, page_url: str) -> dict[str, int]:
    """Replace one replay's rows in games, players, vehicles and frags in one transaction.

    The ``games`` row is upserted rather than deleted, so rows that hang off it and are not
    derived from the site (notifications) survive a re-parse. Returns row counts per table.
    """
    rid = replay.replay_id
    game = game_row(replay, page_url)
    players = [{"replay_id": rid, **_fields(p)} for p in replay.players]
    vehicles = [{"replay_id": rid, **_fields(v)} for v in replay.vehicles]
    frags = [
        {
            "replay_id": rid,
            **{("is_teamkill" if k == "teamkill" else k): v for k, v in _fields(f).items()},
        }
        for f in replay.frags
    ]
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


def _fields(struct: object) -> dict:
    return {f: getattr(struct, f) for f in struct.__struct_fields__}  # type: ignore[attr-defined]


def refresh_player_directory(
    conn: Connection | Engine, replay_ids: Iterable[int]
) -> dict[str, int]:
    """Recompute the directory and nickname history for everyone who played in ``replay_ids``.

    Set-based and order-independent: the current nickname is the one from the player's newest
    game in the warehouse, so backfilling old games never overwrites a newer nickname.
    """
    ids = sorted(set(replay_ids))
    if isinstance(conn, Engine):
        with conn.begin() as c:
            return refresh_player_directory(c, ids)
    if not ids:
        return {"players": 0, "nicknames": 0}
    params = {"ids": ids}
    affected = "SELECT DISTINCT player_id FROM players WHERE replay_id = ANY(:ids)"
    directory = conn.execute(
        sa.text(
            f"""
            INSERT INTO player_directory AS d
                (player_id, nickname, first_seen_replay, last_seen_replay, games_played, updated_at)
            SELECT p.player_id,
                   (array_agg(p.nickname ORDER BY p.replay_id DESC))[1],
                   min(p.replay_id), max(p.replay_id), count(*), now()
            FROM players p
            WHERE p.player_id IN ({affected})
            GROUP BY p.player_id
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
    conn.execute(sa.text(f"DELETE FROM player_nicknames WHERE player_id IN ({affected})"), params)
    nicknames = conn.execute(
        sa.text(
            f"""
            INSERT INTO player_nicknames (player_id, nickname, first_seen_replay, last_seen_replay)
            SELECT player_id, nickname, min(replay_id), max(replay_id)
            FROM players
            WHERE player_id IN ({affected})
            GROUP BY player_id, nickname
            """
        ),
        params,
    )
    return {"players": directory.rowcount, "nicknames": nicknames.rowcount}


# --- data quality ---------------------------------------------------------------------------

# Each query returns the offending rows for the given replays; empty means the check passes.
QUALITY_QUERIES: dict[str, str] = {
    "frags_reference_players": """
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
    "commanders_on_their_side": """
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
    "side_counts_match_players_active": """
        SELECT replay_id, players_active,
               coalesce(players_east, 0) + coalesce(players_west, 0)
               + coalesce(players_guer, 0) + coalesce(players_civ, 0) AS side_total
        FROM games
        WHERE replay_id = ANY(:ids)
          AND players_active <> coalesce(players_east, 0) + coalesce(players_west, 0)
                                + coalesce(players_guer, 0) + coalesce(players_civ, 0)
        ORDER BY replay_id
    """,
    "no_negative_times_or_distances": """
        SELECT replay_id, seq, time_s, distance_m FROM frags
        WHERE replay_id = ANY(:ids) AND (time_s < 0 OR distance_m < 0)
        ORDER BY replay_id, seq
    """,
    "duration_matches_start_and_end": """
        SELECT replay_id, duration_s,
               extract(epoch FROM ended_at - started_at)::int AS from_timestamps
        FROM games
        WHERE replay_id = ANY(:ids)
          AND abs(extract(epoch FROM ended_at - started_at) - duration_s) > :tolerance
        ORDER BY replay_id
    """,
}

DURATION_TOLERANCE_S = 60  # the page rounds start/end to the second; allow clock slop


def quality_problems(engine: Engine, check: str, replay_ids: Iterable[int]) -> list[dict]:
    """Offending rows of one quality check for ``replay_ids`` (as dicts)."""
    params = {"ids": sorted(set(replay_ids)), "tolerance": DURATION_TOLERANCE_S}
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.text(QUALITY_QUERIES[check]), params)]


# --- reading a replay back ------------------------------------------------------------------


def load_replay(engine: Engine, replay_id: int) -> tuple[Replay, str] | None:
    """The normalized replay and its page URL as stored in the warehouse, or None."""
    from wog_assets.source.models import Commander, Frag, Game, Player, Vehicle

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


# --- notifications --------------------------------------------------------------------------

NOTIFY_CHANNEL = "wog_notifications"


def upsert_notifications(
    engine: Engine,
    replay_id: int,
    targets: list[str],
    payload: dict,
    attachment: bytes | None,
    *,
    announce: bool,
) -> dict[str, str]:
    """Store the message for each target; returns each target's resulting status.

    A new row is ``pending`` when ``announce`` (a game the sensor found, or a user asked),
    else ``suppressed`` (backfills never post). An existing row that is not sent or being sent
    gets the new payload; ``announce`` makes it pending again (a fresh chance, attempts reset);
    otherwise its status stays. A ``sent`` or ``sending`` row is left untouched. Pending rows
    are announced with ``NOTIFY wog_notifications`` when the transaction commits.
    """
    n = t.notifications
    new_status = "pending" if announce else "suppressed"
    result: dict[str, str] = {}
    with engine.begin() as conn:
        for target in targets:
            stmt = pg_insert(n).values(
                replay_id=replay_id,
                target=target,
                status=new_status,
                payload=payload,
                attachment=attachment,
            )
            update: dict = {
                "payload": stmt.excluded.payload,
                "attachment": stmt.excluded.attachment,
                "updated_at": sa.func.now(),
            }
            if announce:
                update.update(status="pending", attempts=0, last_error=None)
            stmt = stmt.on_conflict_do_update(
                index_elements=[n.c.replay_id, n.c.target],
                set_=update,
                where=n.c.status.notin_(["sent", "sending"]),
            ).returning(n.c.status)
            status = conn.execute(stmt).scalar()
            if status is None:  # the row is sent or being sent: left as it is
                status = conn.execute(
                    sa.select(n.c.status).where(n.c.replay_id == replay_id, n.c.target == target)
                ).scalar_one()
            result[target] = status
        if "pending" in result.values():
            conn.execute(sa.select(sa.func.pg_notify(NOTIFY_CHANNEL, str(replay_id))))
    return result
