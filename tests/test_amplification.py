"""No amplification: inbound traffic cannot make atom-health call providers more often."""

from __future__ import annotations

import math
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from atom_health.simulator import PROVIDERS, Simulator
from tests.served import served

ADMIN_KEY = "admin-Key-amplification-0123456789"
WINDOW_SECONDS = 5.0  # refresh_min_interval_seconds, the default


def test_a_refresh_flood_makes_at_most_one_provider_call_per_window(
    tmp_path: Path, simulator: Simulator
) -> None:
    """1,000 ``?refresh=true`` requests from 20 concurrent clients, over every integration."""
    env = {**os.environ, **simulator.environment(), "ATOM_HEALTH_ADMIN_KEY": ADMIN_KEY}
    config = {"security": {"rate_limit": "100000/minute"}}  # the flood itself is allowed
    paths = ["/api/integrations/health", *(f"/api/{p}/health" for p in PROVIDERS)]
    with served(tmp_path, env, config) as server:
        headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
        clients = [
            httpx.Client(base_url=server.url, headers=headers, timeout=60) for _ in range(20)
        ]

        def client_run(index: int) -> list[tuple[int, str]]:
            client = clients[index]
            answers = []
            for n in range(50):
                path = paths[(index + n) % len(paths)]
                response = client.get(path, params={"refresh": "true"})
                body = response.json()
                statuses = (
                    [s["status"] for s in body["services"].values()]
                    if "summary" in body  # the overview, else one integration
                    else [body["status"]]
                )
                answers += [(response.status_code, status) for status in statuses]
            return answers

        started = time.monotonic()
        with ThreadPoolExecutor(20) as pool:
            answers = [a for batch in pool.map(client_run, range(20)) for a in batch]
        elapsed = time.monotonic() - started
        for client in clients:
            client.close()
        state = httpx.get(f"{simulator.url}/_admin/state").json()["providers"]

    assert len({code for code, _ in answers}) == 1
    assert answers[0][0] == 200
    assert {status for _, status in answers} == {"healthy"}  # never degraded by our own traffic
    allowed = math.ceil(elapsed / WINDOW_SECONDS) + 1
    calls = {p: state[p]["api_requests"] for p in PROVIDERS}
    assert all(1 <= n <= allowed for n in calls.values()), (calls, elapsed)
