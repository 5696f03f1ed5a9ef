"""Schemathesis over the whole OpenAPI document of `atom-health serve`, with and without keys:
no 5xx, and every status code documented (401/403/429 included). Bounded: a few examples per
operation; the event streams, which never end, are left out."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from atom_health.simulator import Simulator
from tests.served import served

ADMIN_KEY = "admin-Key-fuzz-0123456789ABCdef"


def schemathesis(url: str, workdir: Path, *headers: str) -> subprocess.CompletedProcess[str]:
    command = [
        str(Path(sys.executable).parent / "st"), "run", f"{url}/openapi.json",
        "--checks", "not_a_server_error,status_code_conformance",
        "--phases", "examples,fuzzing", "--max-examples", "5", "--workers", "2",
        "--exclude-path-regex", "events$", "--request-timeout", "30",
        "--generation-database", "none", "--no-color", "--seed", "1",
    ]  # fmt: skip
    for header in headers:
        command += ["-H", header]
    # In a temporary folder: schemathesis keeps a cache in its working directory.
    return subprocess.run(command, capture_output=True, text=True, timeout=240, cwd=workdir)


@pytest.mark.parametrize("keys", [False, True], ids=["no keys", "keys"])
def test_the_whole_api_under_schemathesis(tmp_path: Path, simulator: Simulator, keys: bool) -> None:
    env = {**os.environ, **simulator.environment()}
    if keys:
        env["ATOM_HEALTH_ADMIN_KEY"] = ADMIN_KEY
    config = {"security": {"rate_limit": "100000/minute"}}
    with served(tmp_path, env, config) as server:
        runs = [schemathesis(server.url, tmp_path)]
        if keys:
            runs.append(schemathesis(server.url, tmp_path, f"Authorization: Bearer {ADMIN_KEY}"))
    for run in runs:  # exit 0: no 5xx, every status documented (401s alone are a warning)
        assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
        assert " passed" in run.stdout
    assert ADMIN_KEY not in server.text()
