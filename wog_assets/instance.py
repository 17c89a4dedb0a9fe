"""A local Dagster instance whose storage is the warehouse's Postgres server.

``prepare_dagster_home`` is what ``wog dev`` and ``wog backfill`` use: DAGSTER_HOME defaults to
``$WOG_DATA_DIR/dagster_home`` with the repository's ``dagster.yaml``, and the instance storage
is a ``dagster`` database next to the warehouse (``DAGSTER_POSTGRES_URL`` overrides it).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from dbschema.connection import (
    DatabaseUnavailable,
    database_url,
    libpq_url,
    redact_url,
)
from wog_core.settings import Settings

REPO_ROOT = Path(__file__).resolve().parents[1]
DAGSTER_YAML = REPO_ROOT / "dagster.yaml"
DAGSTER_DATABASE = "dagster"
_CREATE_DATABASE_LOCK = 0x776F6764  # "wogd": serialises creating the Dagster database


def dagster_storage_url(warehouse_url: str, configured: str | None = None) -> str:
    """``configured`` (``DAGSTER_POSTGRES_URL``), else a ``dagster`` database on the
    warehouse's server (created)."""
    if configured:
        return configured
    url = make_url(warehouse_url)
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    try:
        conn = admin.connect()
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise DatabaseUnavailable(f"cannot connect to {redact_url(url)}: {reason}") from None
    with conn:
        # Two commands started together on a new data directory would both see no database and
        # both create it (one dying on pg_database's unique index): the check and the creation
        # run under a server-wide advisory lock, so the second waits and then finds it.
        conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _CREATE_DATABASE_LOCK})
        try:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": DAGSTER_DATABASE}
            ).first()
            if not exists:
                conn.exec_driver_sql(f'CREATE DATABASE "{DAGSTER_DATABASE}"')
        finally:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _CREATE_DATABASE_LOCK})
    admin.dispose()
    return libpq_url(url.set(database=DAGSTER_DATABASE).render_as_string(hide_password=False))


def prepare_dagster_home(settings: Settings, home: Path | None = None) -> dict[str, str]:
    """Create DAGSTER_HOME and return the environment the Dagster processes need.

    The returned mapping has DAGSTER_HOME, DAGSTER_POSTGRES_URL and WOG_DATABASE_URL (the
    resolved warehouse URL, so child processes do not each resolve the embedded server).
    """
    dagster = settings.dagster
    home = Path(dagster.home or home or settings.data_dir / "dagster_home").resolve()
    home.mkdir(parents=True, exist_ok=True)
    if (
        not (home / "dagster.yaml").exists()
        or (home / "dagster.yaml").read_text() != DAGSTER_YAML.read_text()
    ):
        shutil.copyfile(DAGSTER_YAML, home / "dagster.yaml")
    warehouse = database_url(settings.database_url, settings.data_dir)
    return {
        # Store a step's asset materializations in one write per batch instead of one per
        # partition: a 50-replay backfill run emits 350 of them.
        "DAGSTER_EVENT_BATCH_SIZE": dagster.event_batch_size,
        "DAGSTER_HOME": str(home),
        "DAGSTER_POSTGRES_URL": dagster_storage_url(warehouse, dagster.postgres_url),
        "WOG_DATABASE_URL": warehouse,
    }
