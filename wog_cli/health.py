"""Health of each process of the deployment, as ``wog healthcheck --role ROLE`` reports it."""

from __future__ import annotations

import subprocess
import time
import urllib.request

from wog_core.settings import Settings

ROLES = ("code", "webserver", "daemon", "bot", "db")


class Unhealthy(RuntimeError):
    """The process is not healthy; the message says which and why."""


def check_health(role: str, settings: Settings) -> None:
    """Return if the process with ``role`` is healthy, else raise :class:`Unhealthy`."""
    if role == "code":
        port = settings.dagster.code_port
        result = subprocess.run(
            ["dagster", "api", "grpc-health-check", "-p", str(port)],
            capture_output=True,
            text=True,
        )
        if result.returncode != 0:
            raise Unhealthy(
                f"code server on port {port} is not serving: {result.stdout or result.stderr}"
            )
    elif role == "webserver":
        port = settings.dagster.webserver_port
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=5).read()
        except OSError as exc:
            raise Unhealthy(f"webserver on port {port} does not answer: {exc}") from None
    elif role == "daemon":
        result = subprocess.run(
            ["dagster-daemon", "liveness-check"], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise Unhealthy(f"daemon is not alive: {result.stdout or result.stderr}")
    elif role == "bot":
        path = settings.bot_heartbeat_file
        limit = 3 * settings.bot.poll_interval_s + 30
        if not path.exists() or time.time() - path.stat().st_mtime > limit:
            raise Unhealthy(f"bot heartbeat {path} is missing or older than {limit:.0f}s")
    else:
        from dbschema.connection import DatabaseUnavailable, create_engine, database_url

        try:
            create_engine(database_url(settings.database_url, settings.data_dir)).dispose()
        except DatabaseUnavailable as exc:
            raise Unhealthy(str(exc)) from None
