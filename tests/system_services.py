"""Real system services for tests: PostgreSQL and Redis (Chromium is in conftest).

A test that needs a Debian package installs it when it can (as root, with apt-get).
Where it cannot, it skips with a loud reason, except under CI=true, where it fails:
CI must never pass by skipping what it was meant to test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from atom_health.serving import free_port


def _unavailable(message: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{message} (CI=true: a skip here would hide an untested feature)")
    pytest.skip(message)


def ensure_package(find: Callable[[], Path | None], package: str) -> Path:
    """The path ``find`` locates, installing Debian ``package`` first if needed and possible."""
    found = find()
    if found is not None:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "install", "-y", "-q", package],
                        ["apt-get", "update", "-q"],
                        ["apt-get", "install", "-y", "-q", package]):  # fmt: skip
            subprocess.run(command, env=env, capture_output=True, timeout=600, check=False)
            found = find()
            if found is not None:
                return found
    _unavailable(
        f"LOUD SKIP: {package} is not installed and could not be: apt-get install {package}"
    )
    raise AssertionError("unreachable")


def postgres_bin() -> Path | None:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    return None


@contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster on 127.0.0.1; yields an admin URL (trust auth)."""
    bindir = ensure_package(postgres_bin, "postgresql")
    root = Path(tempfile.mkdtemp(prefix="atom-health-pg-"))
    root.chmod(0o777)  # the postgres user writes here when we run as root
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    data, port = root / "data", free_port()

    def run(*command: str | Path) -> None:
        subprocess.run(
            [*as_postgres, *map(str, command)], check=True, capture_output=True, timeout=120
        )

    run(bindir / "initdb", "-D", data, "-U", "atom", "-A", "trust", "-E", "UTF8", "--no-sync")
    run(bindir / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", "60", "start",
        "-o", f"-h 127.0.0.1 -p {port} -k {root} -F -c max_connections=200")  # fmt: skip
    try:
        yield f"postgresql+psycopg://atom@127.0.0.1:{port}/postgres"
    finally:
        run(bindir / "pg_ctl", "-D", data, "-m", "immediate", "-w", "stop")
        shutil.rmtree(root, ignore_errors=True)


def redis_bin() -> Path | None:
    found = shutil.which("redis-server")
    return Path(found) if found else None


class RedisServer:
    """A throwaway redis-server on 127.0.0.1 (no persistence) that a test can stop and start
    again on the same port, as an operator's restart would."""

    def __init__(self, binary: Path, root: Path) -> None:
        self.binary, self.root, self.port = binary, root, free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self._process = subprocess.Popen(
            [str(self.binary), "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--dir", str(self.root),
             "--logfile", str(self.root / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while not self.answers():
            assert self._process.poll() is None, (self.root / "redis.log").read_text()
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def answers(self) -> bool:
        import socket

        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=10)
        self._process = None


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    """A running :class:`RedisServer`, removed afterwards."""
    binary = ensure_package(redis_bin, "redis-server")
    root = Path(tempfile.mkdtemp(prefix="atom-health-redis-"))
    server = RedisServer(binary, root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def promtool() -> Path:
    """Prometheus's rule and metrics checker (Debian package ``prometheus``)."""
    return ensure_package(
        lambda: Path(found) if (found := shutil.which("promtool")) else None, "prometheus"
    )
