"""The warehouse schema: migrations, constraints and indexes."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from dbschema import tables
from dbschema.migrate import current_revision, downgrade, head_revision, upgrade

WAREHOUSE_TABLES = {
    "raw_game_pages",
    "raw_replay_json",
    "games",
    "players",
    "player_directory",
    "player_nicknames",
    "vehicles",
    "frags",
    "notifications",
    "replay_misses",
}


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_creates_every_table_and_is_idempotent(empty_db_url: str) -> None:
    engine = sa.create_engine(empty_db_url)
    assert current_revision(engine) is None
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()
    assert _tables(engine) >= WAREHOUSE_TABLES
    engine.dispose()


def test_downgrade_to_base_drops_everything_and_upgrade_restores(empty_db_url: str) -> None:
    engine = sa.create_engine(empty_db_url)
    upgrade(engine)
    downgrade(engine, "base")
    assert _tables(engine) == set()
    assert current_revision(engine) is None
    upgrade(engine)
    assert _tables(engine) >= WAREHOUSE_TABLES
    engine.dispose()


def test_migrations_match_the_table_definitions(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(
                conn,
                opts={
                    "compare_type": True,
                    # made only where the server offers the extension (migration 0010)
                    "include_object": lambda obj, name, *_: name not in tables.OPTIONAL_INDEXES,
                },
            ),
            tables.metadata,
        )
    assert diff == []


def test_indexes_serve_the_queries_we_run(engine: sa.Engine) -> None:
    inspector = sa.inspect(engine)

    def indexed(table: str) -> list[list[str]]:
        return [ix["column_names"] for ix in inspector.get_indexes(table)]

    # A player's frags as killer and as victim, covering what careers and rivals read.
    assert ["killer_id", "weapon", "victim_id"] in indexed("frags")
    assert ["victim_id", "killer_id"] in indexed("frags")
    assert ["player_id", "replay_id"] in indexed("players")
    assert ["player_id", "played_on"] in indexed("player_game_stats")
    assert any(cols[0] == "status" for cols in indexed("notifications"))
    # The embedded server has pg_trgm: autocomplete by fragment uses a trigram index.
    names = {ix["name"] for ix in inspector.get_indexes("player_nicknames")}
    assert names >= tables.OPTIONAL_INDEXES


def _game(replay_id: int = 3413, **overrides: object) -> dict:
    row = {
        "replay_id": replay_id,
        "mission_id": 77,
        "mission_name": "Operation Test",
        "island": "Altis",
        "played_on": dt.date(2024, 10, 5),
        "started_at": dt.datetime(2024, 10, 5, 20, 0),
        "ended_at": dt.datetime(2024, 10, 5, 21, 30),
        "duration_s": 5400,
        "winner": "WEST",
        "players_active": 120,
        "slots": 150,
        "page_url": "http://127.0.0.1/games/3413/",
    }
    row.update(overrides)
    return row


def _player(replay_id: int = 3413, player_id: int = 1, side: str = "WEST") -> dict:
    return {"replay_id": replay_id, "player_id": player_id, "side": side, "nickname": "Ivan"}


def test_duplicate_keys_are_rejected(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(tables.games.insert(), _game())
        conn.execute(tables.players.insert(), _player())
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(tables.players.insert(), _player())
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(tables.games.insert(), _game())


@pytest.mark.parametrize(
    ("table", "row"),
    [
        ("players", _player(side="NATO")),
        ("games", _game(replay_id=1, winner="DRAW")),
        ("games", _game(replay_id=2, duration_s=-5)),
    ],
)
def test_bad_values_are_rejected(engine: sa.Engine, table: str, row: dict) -> None:
    with engine.begin() as conn:
        conn.execute(tables.games.insert(), _game())
    insert = tables.metadata.tables[table].insert()
    with (
        pytest.raises(sa.exc.IntegrityError, match="violates check constraint"),
        engine.begin() as conn,
    ):
        conn.execute(insert, row)


def test_notification_status_and_target_uniqueness(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(tables.games.insert(), _game())
        conn.execute(
            tables.notifications.insert(), {"replay_id": 3413, "target": "123", "payload": {}}
        )
        status = conn.execute(sa.select(tables.notifications.c.status)).scalar_one()
    assert status == "pending"
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            tables.notifications.insert(), {"replay_id": 3413, "target": "123", "payload": {}}
        )
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(
            tables.notifications.insert(),
            {"replay_id": 3413, "target": "456", "payload": {}, "status": "lost"},
        )


def test_deleting_a_game_cascades_to_its_rows(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(tables.games.insert(), [_game(), _game(replay_id=3414)])
        conn.execute(tables.players.insert(), [_player(), _player(replay_id=3414)])
        conn.execute(
            tables.vehicles.insert(),
            {"replay_id": 3413, "vehicle_id": 5, "type": "car", "name": "UAZ"},
        )
        conn.execute(
            tables.frags.insert(),
            {"replay_id": 3413, "seq": 0, "time_s": 10, "victim_id": 1, "is_teamkill": False},
        )
        conn.execute(
            tables.notifications.insert(), {"replay_id": 3413, "target": "1", "payload": {}}
        )
        conn.execute(tables.games.delete().where(tables.games.c.replay_id == 3413))
    with engine.connect() as conn:
        for table in ("players", "vehicles", "frags", "notifications"):
            t = tables.metadata.tables[table]
            ids = conn.execute(sa.select(t.c.replay_id)).scalars().all()
            assert 3413 not in ids, table
        assert conn.execute(sa.select(tables.players.c.replay_id)).scalars().all() == [3414]
