"""Sources and their id spaces: warehouse ids for an OCAP community's games and players.

Every source owns a block of ids, ``number × SOURCE_BLOCK`` upwards (``dbschema.tables``); the
WOG site is number 0, so its games and players keep the site's ids. An OCAP2 web server's games
are its operation ids inside the block; a directory's files, and every source's players (people
known by name within their community), are numbered in order of first sight. Allocation happens
in the caller's transaction and is idempotent: asking again returns the same id.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from dbschema import tables as t
from dbschema.tables import SOURCE_BLOCK
from wog_core.models import SITE_SOURCE

WOG = SITE_SOURCE


def register_source(engine: Engine, name: str, kind: str, location: str) -> int:
    """The source's number, registering it (the next free block) the first time."""
    with engine.begin() as conn:
        conn.execute(sa.text("LOCK TABLE sources IN SHARE ROW EXCLUSIVE MODE"))
        number = conn.scalar(sa.select(t.sources.c.number).where(t.sources.c.name == name))
        if number is not None:
            return int(number)
        number = conn.execute(
            sa.select(sa.func.coalesce(sa.func.max(t.sources.c.number), 0) + 1)
        ).scalar_one()
        conn.execute(
            t.sources.insert().values(name=name, number=number, kind=kind, location=location)
        )
        return int(number)


def source_number(conn: Connection, name: str) -> int:
    number = conn.scalar(sa.select(t.sources.c.number).where(t.sources.c.name == name))
    if number is None:
        raise LookupError(f"source {name!r} is not registered")
    return int(number)


def replay_id_for(conn: Connection, source: str, external_id: str) -> int:
    """The warehouse id of a source's game: its own integer id in the source's block, or the
    next number of the block for a name (a file)."""
    existing = conn.scalar(
        sa.select(t.source_replays.c.replay_id).where(
            t.source_replays.c.source == source, t.source_replays.c.external_id == external_id
        )
    )
    if existing is not None:
        return int(existing)
    base = source_number(conn, source) * SOURCE_BLOCK
    if external_id.isascii() and external_id.isdigit() and 0 < int(external_id) < SOURCE_BLOCK:
        rid = base + int(external_id)
    else:
        top = conn.scalar(
            sa.select(sa.func.max(t.source_replays.c.replay_id)).where(
                t.source_replays.c.source == source
            )
        )
        rid = max(int(top or base), base + SOURCE_BLOCK // 2) + 1  # names: the block's top half
    conn.execute(
        pg_insert(t.source_replays)
        .values(source=source, external_id=external_id, replay_id=rid)
        .on_conflict_do_nothing()
    )
    return int(
        conn.execute(
            sa.select(t.source_replays.c.replay_id).where(
                t.source_replays.c.source == source, t.source_replays.c.external_id == external_id
            )
        ).scalar_one()
    )


def external_ids(engine: Engine, source: str) -> dict[str, int]:
    """Every game of a source known to the warehouse: external id -> replay id."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.source_replays.c.external_id, t.source_replays.c.replay_id).where(
                t.source_replays.c.source == source
            )
        )
        return {r.external_id: int(r.replay_id) for r in rows}


def player_ids_for(conn: Connection, source: str, names: list[str]) -> dict[str, int]:
    """The warehouse ids of a source's players by name, allocating new ones in order."""
    wanted = sorted(set(names))
    if not wanted:
        return {}
    known = {
        r.name: int(r.player_id)
        for r in conn.execute(
            sa.select(t.source_players.c.name, t.source_players.c.player_id).where(
                t.source_players.c.source == source, t.source_players.c.name.in_(wanted)
            )
        )
    }
    new = [n for n in wanted if n not in known]
    if new:
        conn.execute(
            sa.text("SELECT pg_advisory_xact_lock(hashtext('source_players:' || :s))"),
            {"s": source},
        )
        base = source_number(conn, source) * SOURCE_BLOCK
        top = conn.scalar(
            sa.select(sa.func.max(t.source_players.c.player_id)).where(
                t.source_players.c.source == source
            )
        )
        nxt = int(top or base) + 1
        for name in new:
            conn.execute(
                pg_insert(t.source_players)
                .values(source=source, name=name, player_id=nxt)
                .on_conflict_do_nothing()
            )
            nxt += 1
        known = {
            r.name: int(r.player_id)
            for r in conn.execute(
                sa.select(t.source_players.c.name, t.source_players.c.player_id).where(
                    t.source_players.c.source == source, t.source_players.c.name.in_(wanted)
                )
            )
        }
    return known


def source_of_replay(engine: Engine, replay_id: int) -> tuple[str, str] | None:
    """(source, its own id) of an OCAP source's game; None for WOG ids."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.source_replays.c.source, t.source_replays.c.external_id).where(
                t.source_replays.c.replay_id == replay_id
            )
        ).first()
    return (row.source, row.external_id) if row else None


def sources_of(engine: Engine, replay_ids: list[int]) -> dict[int, tuple[str, str]]:
    """(source, its own id) of each of ``replay_ids``: an OCAP source's games as registered,
    every other id the WOG site's (its own id is the replay id)."""
    found = {rid: (WOG, str(rid)) for rid in replay_ids}
    if not replay_ids:
        return found
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                t.source_replays.c.replay_id,
                t.source_replays.c.source,
                t.source_replays.c.external_id,
            ).where(t.source_replays.c.replay_id.in_(replay_ids))
        )
        for row in rows:
            found[int(row.replay_id)] = (row.source, row.external_id)
    return found


def replay_ids_for(
    engine: Engine, source: str, kind: str, location: str, keys: list[str]
) -> dict[str, int]:
    """The warehouse ids of a source's games by their own ids, registering the source and
    allocating ids the first time (idempotent)."""
    register_source(engine, source, kind, location)
    with engine.begin() as conn:
        return {key: replay_id_for(conn, source, key) for key in keys}
