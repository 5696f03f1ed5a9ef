"""Kill the server hard while it records; after a restart every stored result is there."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import yaml

from atom_health.serving import free_port
from atom_health.simulator import Simulator


@contextmanager
def server_process(
    config: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    port = free_port()
    command = [sys.executable, "-m", "atom_health", "serve", "--port", str(port),
               "--config", str(config), "--log-level", "warning"]  # fmt: skip
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/api/integrations/config", timeout=1)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.05)
        yield process, url
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def stored_times(url: str) -> list[str]:
    body = httpx.get(f"{url}/api/integrations/github/history", params={"limit": 1000}).json()
    return [item["checked_at"] for item in body["items"]]


def test_results_survive_a_hard_kill(tmp_path: Path, simulator: Simulator) -> None:
    config = tmp_path / "atom.yaml"
    config.write_text(yaml.safe_dump({
        "history": {"database_url": f"sqlite:///{tmp_path / 'history.db'}"},
        "scheduler": {"interval_seconds": 0.2, "initial_spread_seconds": 0.1},
        "cache_ttl_seconds": 0, "refresh_min_interval_seconds": 0,
    }))  # fmt: skip
    env = {**os.environ, **simulator.environment()}

    with server_process(config, env) as (process, url):
        deadline = time.monotonic() + 20
        while len(before := stored_times(url)) < 10:
            assert time.monotonic() < deadline, "too few results recorded"
            time.sleep(0.1)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

    with server_process(config, env) as (_, url):
        after = stored_times(url)

    assert set(before) <= set(after)
    assert len(after) >= len(before)
