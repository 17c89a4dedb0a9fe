"""Shared fixtures: one throwaway Postgres per test session, one fresh database per test.

The server is an embedded Postgres in a temporary directory, or ``WOG_TEST_DATABASE_URL`` when set (a
server where we may create databases). A template database is migrated once; each test gets
its own copy of it (``CREATE DATABASE … TEMPLATE``), so tests never see each other's rows.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine, make_url

from dbschema.connection import normalize_url, temporary_server

TEMPLATE_DB = "wog_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """Admin URL of the session's Postgres server (SQLAlchemy/psycopg form)."""
    configured = os.environ.get("WOG_TEST_DATABASE_URL")
    if configured:
        yield normalize_url(configured)
        return
    with temporary_server(prefix="wog-test-pg-") as url:
        yield url


def _admin_engine(server_url: str) -> Engine:
    return sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> str:
    """Name of a database migrated to head, copied for each test."""
    from dbschema.migrate import upgrade

    admin = _admin_engine(pg_server_url)
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{TEMPLATE_DB}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{TEMPLATE_DB}"')
    engine = sa.create_engine(_with_db(pg_server_url, TEMPLATE_DB), poolclass=sa.pool.NullPool)
    upgrade(engine)
    engine.dispose()
    return TEMPLATE_DB


def _with_db(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def new_database(server_url: str, template: str = "template0") -> str:
    """Create an empty (or templated) database and return its URL."""
    name = f"wog_test_{os.getpid()}_{next(_counter)}"
    with _admin_engine(server_url).connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    return _with_db(server_url, name)


@pytest.fixture
def empty_db_url(pg_server_url: str) -> Iterator[str]:
    """URL of a brand-new empty database (no migrations applied)."""
    url = new_database(pg_server_url)
    yield url
    drop_database(pg_server_url, url)


def drop_database(server_url: str, url: str) -> None:
    name = make_url(url).database
    with _admin_engine(server_url).connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(pg_server_url: str, template_db: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """URL of a fresh migrated database; also exported as WOG_DATABASE_URL for the code."""
    url = new_database(pg_server_url, template_db)
    monkeypatch.setenv("WOG_DATABASE_URL", url)
    yield url
    drop_database(pg_server_url, url)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = sa.create_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def tmp_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("WOG_DATA_DIR", str(tmp_path / "wogdata"))
    return tmp_path / "wogdata"


ROOT = Path(__file__).resolve().parents[1]


def run_wog(
    *args: str, env: dict[str, str], timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the ``wog`` command as a user would, in its own process."""
    return subprocess.run(
        [sys.executable, "-m", "wog_cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
