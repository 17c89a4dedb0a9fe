"""Raw bodies: every fetched game page and replay JSON, stored verbatim before any parsing.

A parser fix re-parses from here without contacting the site. Replay JSON is stored
zstd-compressed with its size and SHA-256, checked when it is read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
import zstandard
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Engine

from dbschema import tables as t
from wog_core.models import Fetched

# Level 1: on replay JSON with movement data (measured on the sg.zone recordings and on the
# generator's random-walk viewer data) it compresses ~2.4× faster than level 3 *and* smaller
# (9.4× vs 7.9×); big bodies are compressed on every core. With the hash taken while the body
# streams in, storing a raw body costs no more than parsing it (bench/backfill.py).
ZSTD_LEVEL = 1
THREADED_FROM = 4 << 20  # bodies this large are compressed on all cores


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


def store_replay_json(
    engine: Engine, fetched: Fetched, *, level: int = ZSTD_LEVEL, threads: int | None = None
) -> int:
    """Store a fetched replay JSON, zstd-compressed; returns the compressed size.

    ``threads``: compression threads (-1: every core); by default every core for big bodies.
    """
    if threads is None:
        threads = -1 if len(fetched.body) >= THREADED_FROM else 0
    compressed = zstandard.ZstdCompressor(level=level, threads=threads).compress(fetched.body)
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


def _upsert(engine: Engine, table: sa.Table, row: dict[str, Any], what: str) -> None:
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


def missing_ids(engine: Engine, first: int, last: int) -> list[int]:
    """Ids in ``first..last`` that the site did not have (recorded by :func:`record_miss`)."""
    query = sa.select(t.replay_misses.c.replay_id.distinct()).where(
        t.replay_misses.c.replay_id.between(first, last)
    )
    with engine.connect() as conn:
        return sorted(conn.execute(query).scalars())


def newest_raw_id(engine: Engine) -> int | None:
    """The highest WOG replay id with a stored game page, or None (OCAP sources' ids live in
    higher blocks, see ``wog_warehouse.sources``)."""
    with engine.connect() as conn:
        return conn.execute(
            sa.select(sa.func.max(t.raw_game_pages.c.replay_id)).where(
                t.raw_game_pages.c.replay_id < t.SOURCE_BLOCK
            )
        ).scalar()


def miss_reason(engine: Engine, replay_id: int) -> str | None:
    """Why the site did not have a replay, as recorded (None when it was never missing)."""
    m = t.replay_misses
    query = (
        sa.select(m.c.what, m.c.reason, m.c.last_seen_at)
        .where(m.c.replay_id == replay_id)
        .order_by(m.c.last_seen_at.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    what, reason, seen = row
    return f"its {what.replace('_', ' ')} was missing on {seen:%Y-%m-%d %H:%M}: {reason}"
