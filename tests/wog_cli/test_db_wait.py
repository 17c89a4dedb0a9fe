"""``wog db upgrade --wait``: the compose `migrate` step outlives a database that is restarting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from sqlalchemy.engine import make_url

from tests.conftest import ROOT, run_wog


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (src, dst):
            with suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)


@contextmanager
def late_listener(target: str | tuple[str, int], opens: threading.Event) -> Iterator[int]:
    """A TCP port that refuses connections until ``opens`` is set, then forwards them to
    ``target`` (the test server's Unix socket path, or its host and port)."""
    port = _free_port()
    stop = threading.Event()

    def serve() -> None:
        while not opens.wait(0.1):
            if stop.is_set():
                return
        with socket.create_server(("127.0.0.1", port)) as server:
            server.settimeout(0.2)
            while not stop.is_set():
                try:
                    client, _ = server.accept()
                except TimeoutError:
                    continue
                if isinstance(target, str):
                    upstream = socket.socket(socket.AF_UNIX)
                    upstream.connect(target)
                else:
                    upstream = socket.create_connection(target)
                for a, b in ((client, upstream), (upstream, client)):
                    threading.Thread(target=_pipe, args=(a, b), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(timeout=5)


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "WOG_DATABASE_URL": url}


def test_upgrade_waits_for_a_database_that_comes_up_late(empty_db_url: str) -> None:
    real = make_url(empty_db_url)
    socket_dir = real.query.get("host")
    target = (
        f"{socket_dir}/.s.PGSQL.{real.port or 5432}"
        if isinstance(socket_dir, str)
        else (real.host or "127.0.0.1", real.port or 5432)
    )
    opens = threading.Event()
    with late_listener(target, opens) as port:
        late = real.set(host="127.0.0.1", port=port, query={}).render_as_string(hide_password=False)
        # The database comes up once the command has said it waits, not after a guessed delay.
        proc = subprocess.Popen(
            [sys.executable, "-m", "wog_cli", "db", "upgrade", "--wait", "30"],
            env=_env(late),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stderr is not None
        stderr = []
        for line in proc.stderr:
            stderr.append(line)
            if "waiting up to" in line:
                opens.set()
                break
        out, rest = proc.communicate(timeout=120)
        result = subprocess.CompletedProcess(
            proc.args, proc.returncode, out, "".join(stderr) + rest
        )
    assert result.returncode == 0, result.stderr
    assert "waiting up to 30 s for" in result.stderr
    assert result.stderr.count("waiting up to") == 1  # one line, not one per attempt
    assert "at revision" in result.stdout


def test_upgrade_gives_up_after_the_wait_with_one_line_and_no_password() -> None:
    url = f"postgresql://wog:s3cret-pw@127.0.0.1:{_free_port()}/wog"
    result = run_wog("db", "upgrade", "--wait", "2", env=_env(url), timeout=60)
    assert result.returncode == 1
    assert "waiting up to 2 s for" in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "cannot connect to postgresql+psycopg://wog:***@127.0.0.1" in errors[0]
    assert "(waited 2 s)" in errors[0]
    assert "s3cret-pw" not in result.stderr + result.stdout


def test_upgrade_without_wait_fails_at_once() -> None:
    url = f"postgresql://wog:pw@127.0.0.1:{_free_port()}/wog"
    result = run_wog("db", "upgrade", env=_env(url), timeout=60)
    assert result.returncode == 1
    assert "waiting" not in result.stderr
    assert "cannot connect to" in result.stderr
