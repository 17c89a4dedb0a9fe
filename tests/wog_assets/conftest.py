"""Fixtures for the Dagster side: a throwaway Dagster instance per test."""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg
import pytest
from sqlalchemy.engine import make_url


@pytest.fixture
def instance() -> Iterator[dg.DagsterInstance]:
    with dg.instance_for_test() as inst:
        yield inst


@pytest.fixture
def dagster_db(pg_server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    from tests.conftest import new_database

    url = new_database(pg_server_url)
    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    monkeypatch.setenv("DAGSTER_POSTGRES_URL", libpq)
    return libpq
