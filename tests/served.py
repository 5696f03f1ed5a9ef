"""`atom-health serve` in a subprocess, for black-box tests of the HTTP surface."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from atom_health.serving import free_port


@dataclass
class Served:
    url: str
    output: Path  # the process's stdout and stderr (uvicorn's log and the audit lines)
    process: subprocess.Popen[bytes]
    config: Path  # its config file: rewrite it, then reload

    def text(self) -> str:
        return self.output.read_text(encoding="utf-8", errors="replace")


@contextmanager
def served(
    tmp_path: Path,
    env: dict[str, str],
    config: dict[str, Any] | None = None,
    args: tuple[str, ...] = ("--no-scheduler",),
) -> Iterator[Served]:
    """Run ``atom-health serve`` on a free loopback port until /healthz answers."""
    port = free_port()
    config_file = tmp_path / f"served-{port}.yaml"
    config_file.write_text(yaml.safe_dump(config or {}))
    output = tmp_path / f"served-{port}.log"
    command = [sys.executable, "-m", "atom_health", "serve", "--port", str(port),
               "--database-url", "memory://", "--config", str(config_file), *args]  # fmt: skip
    with output.open("w") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90  # a loaded machine starts slowly
        while True:
            assert process.poll() is None, output.read_text()
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.05)
        yield Served(url, output, process, config_file)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
