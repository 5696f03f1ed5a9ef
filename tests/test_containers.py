"""The Dockerfile and deploy/compose.yaml cannot be built here (no image registry), so the
tests run exactly the commands they run: the entry point with its CMD (only the bind address
and port differ), against PostgreSQL as in compose, and the HEALTHCHECK command."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import yaml

from atom_health.serving import free_port
from tests.conftest import FULL_ENV

ROOT = Path(__file__).parent.parent
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())


def instruction(name: str) -> list[str]:
    """A Dockerfile instruction's exec-form (JSON array) arguments."""
    found = re.search(rf"^{name}\s+(?:--\S+\s+)*(?:CMD\s+)?(\[.*\])\s*$", DOCKERFILE, re.M)
    assert found, f"no exec-form {name} in the Dockerfile"
    words: list[str] = json.loads(found.group(1))
    return words


def installed(command: list[str]) -> list[str]:
    """The command as the image's PATH would find it: our venv's console script."""
    assert command[0] == "atom-health"
    return [str(Path(sys.executable).parent / "atom-health"), *command[1:]]


def test_the_image_runs_as_a_non_root_user_with_a_healthcheck() -> None:
    users = re.findall(r"^USER\s+(\S+)", DOCKERFILE, re.M)
    assert users
    assert users[-1] not in ("root", "0")
    assert instruction("HEALTHCHECK") == ["atom-health", "healthcheck"]
    assert "ATOM_HEALTH_URL=http://127.0.0.1:8000" in DOCKERFILE


def test_compose_runs_the_image_command_with_postgres_and_redis() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"atom-health", "postgres", "redis"}
    app = services["atom-health"]
    assert app["command"] == instruction("CMD")
    assert app["healthcheck"]["test"] == ["CMD", *instruction("HEALTHCHECK")]
    assert app["environment"]["ATOM_HEALTH_DATABASE_URL"].startswith("postgresql+psycopg://")
    assert app["environment"]["ATOM_HEALTH_REDIS_URL"].startswith("redis://")
    for dependency in ("postgres", "redis"):
        assert app["depends_on"][dependency] == {"condition": "service_healthy"}


def test_entrypoint_serves_with_postgres_and_the_healthcheck_command_passes(
    postgres_url: str,
) -> None:
    port = free_port()
    command = [*instruction("ENTRYPOINT"), *instruction("CMD")]
    assert command[-4:] == ["--host", "0.0.0.0", "--port", "8000"]
    command[-4:] = ["--host", "127.0.0.1", "--port", str(port)]  # loopback only in tests
    env = {k: v for k, v in os.environ.items() if k not in FULL_ENV}
    env["ATOM_HEALTH_DATABASE_URL"] = postgres_url  # as compose sets it
    env["ATOM_HEALTH_URL"] = f"http://127.0.0.1:{port}"  # as the Dockerfile sets it
    with subprocess.Popen(
        installed(command), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as server:
        try:
            wait_until_serving(f"http://127.0.0.1:{port}")
            check = subprocess.run(
                installed(instruction("HEALTHCHECK")), env=env, capture_output=True, text=True,
                timeout=30,
            )  # fmt: skip
            assert check.returncode == 0, check.stdout + check.stderr
        finally:
            server.terminate()
            server.wait(timeout=30)

    stopped = subprocess.run(
        installed(instruction("HEALTHCHECK")), env=env, capture_output=True, text=True, timeout=30
    )
    assert stopped.returncode == 1  # a dead server fails the container's health check
    assert "is not answering" in stopped.stderr


def wait_until_serving(url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/api/integrations/config", timeout=2).raise_for_status()
            return
        except httpx.HTTPError:
            assert time.monotonic() < deadline, f"{url} never answered"
            time.sleep(0.1)
