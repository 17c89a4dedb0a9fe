"""The embedded Postgres: started on first use, reused, and safe under concurrent starts."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dbschema.connection import (
    DatabaseUnavailable,
    create_engine,
    normalize_url,
    redact_url,
    stop_embedded_server,
)
from tests.conftest import run_wog

ROOT = Path(__file__).resolve().parents[2]


def _wog(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run_wog(*args, env=env, timeout=120)


@pytest.fixture
def embedded_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    # A short path: Unix socket paths are limited to ~107 bytes.
    data = tmp_path / "d"
    env = {k: v for k, v in os.environ.items() if k != "WOG_DATABASE_URL"}
    env["WOG_DATA_DIR"] = str(data)
    yield env
    stop_embedded_server(data / "pgdata")


def _postmaster_pid(env: dict[str, str]) -> int:
    pid_file = Path(env["WOG_DATA_DIR"]) / "pgdata" / "postmaster.pid"
    return int(pid_file.read_text().splitlines()[0])


@pytest.mark.slow  # starts and stops an embedded server (~12 s)
def test_db_upgrade_starts_the_embedded_server_and_later_commands_reuse_it(
    embedded_env: dict[str, str],
) -> None:
    first = _wog("db", "upgrade", env=embedded_env)
    assert first.returncode == 0, first.stderr
    assert "at revision 0001" in first.stdout or "at revision" in first.stdout
    pid = _postmaster_pid(embedded_env)

    second = _wog("db", "upgrade", env=embedded_env)
    assert second.returncode == 0, second.stderr
    assert _postmaster_pid(embedded_env) == pid

    current = _wog("db", "current", env=embedded_env)
    assert "up to date" in current.stdout
    url = _wog("db", "url", env=embedded_env)
    assert url.stdout.startswith("postgresql+psycopg://")


def test_concurrent_first_starts_share_one_server(embedded_env: dict[str, str]) -> None:
    code = (
        "from dbschema.connection import embedded_server_uri; import os, sys, pathlib; "
        "sys.stdout.write(embedded_server_uri(pathlib.Path(os.environ['WOG_DATA_DIR'], 'pgdata')))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=embedded_env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    uris = {out for out, _ in outputs}
    assert len(uris) == 1
    postgres_procs = subprocess.run(
        ["pgrep", "-f", f"postgres.*-D {embedded_env['WOG_DATA_DIR']}"],
        capture_output=True,
        text=True,
    ).stdout.split()
    assert len(postgres_procs) == 1, postgres_procs
    engine = create_engine(uris.pop())
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select 1").scalar() == 1
    engine.dispose()


def test_redaction_hides_passwords() -> None:
    url = "postgresql://wog:s3cret@db.example:5432/wog"
    assert "s3cret" not in redact_url(url)
    assert redact_url(url) == "postgresql://wog:***@db.example:5432/wog"
    assert normalize_url("postgres://a:b@h/d") == "postgresql+psycopg://a:b@h/d"


def test_connection_errors_name_the_redacted_url() -> None:
    with pytest.raises(DatabaseUnavailable) as info:
        create_engine(
            "postgresql://wog:s3cret@127.0.0.1:1/wog", connect_args={"connect_timeout": 2}
        )
    message = str(info.value)
    assert "127.0.0.1:1/wog" in message
    assert "s3cret" not in message
    assert "***" in message


def test_non_postgres_urls_are_refused_clearly() -> None:
    with pytest.raises(DatabaseUnavailable, match="not a Postgres URL"):
        normalize_url("mysql://root:pw@localhost/wog")
