"""The TypeScript client (clients/typescript): its types match our OpenAPI document, and its
Node tests pass against a real atom-health on loopback (Node and npm from Debian's packages
or the npm registry's toolchain; dependencies from the npm registry, pinned by the lock file)."""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from atom_health.serving import ThreadedServer
from tests.system_services import ensure_package

CLIENT = Path(__file__).parent.parent / "clients" / "typescript"


def _which(name: str) -> Path | None:
    found = shutil.which(name)
    return Path(found) if found else None


@pytest.fixture(scope="module")
def npm() -> str:
    """npm, with the client's dependencies installed from its lock file."""
    ensure_package(lambda: _which("node"), "nodejs")
    found = str(ensure_package(lambda: _which("npm"), "npm"))
    digest = hashlib.sha256(str(CLIENT).encode()).hexdigest()[:12]
    lock = Path(tempfile.gettempdir()) / f"atom-health-npm-{digest}.lock"
    with lock.open("w") as held:  # xdist workers: one installs, the others wait for it
        fcntl.flock(held, fcntl.LOCK_EX)
        if not (CLIENT / "node_modules" / ".package-lock.json").exists():
            installed = subprocess.run(
                [found, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                cwd=CLIENT, capture_output=True, text=True, timeout=600,
            )  # fmt: skip
            if installed.returncode != 0:
                pytest.fail(f"npm ci failed ({installed.returncode}):\n{installed.stderr[-3000:]}")
    return found


def test_generated_types_match_the_openapi_document(npm: str, tmp_path: Path) -> None:
    document, generated = tmp_path / "openapi.json", tmp_path / "schema.ts"
    subprocess.run(
        [sys.executable, "-m", "atom_health", "openapi", "--output", str(document)],
        check=True, capture_output=True, timeout=120, env={**os.environ, "ATOM_HEALTH_CONFIG": ""},
    )  # fmt: skip
    subprocess.run(
        [str(CLIENT / "node_modules" / ".bin" / "openapi-typescript"), str(document),
         "--output", str(generated), "--alphabetize"],
        cwd=CLIENT, check=True, capture_output=True, timeout=120,
    )  # fmt: skip

    committed = (CLIENT / "src" / "schema.ts").read_text()
    assert generated.read_text() == committed, (
        "clients/typescript/src/schema.ts is stale: run scripts/generate-ts-types (after a "
        "rebase conflict in that generated file, take either side and run it again)"
    )


def test_node_tests_pass_against_a_running_server(
    npm: str, server: ThreadedServer, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ.update(sim_credentials)

    result = subprocess.run(
        [npm, "test"], cwd=CLIENT, capture_output=True, text=True, timeout=300,
        env={**os.environ, "ATOM_HEALTH_URL": server.url},
    )  # fmt: skip

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "# fail 0" in result.stdout
    assert "# pass 5" in result.stdout
