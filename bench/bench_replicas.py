"""Replicas: 1,000 synthetic integrations at a 10 s interval, checked by 1, 2 and 3
``atom-health system`` processes cooperating through one redis-server and one PostgreSQL.

Per fleet size: provider calls per interval (the simulator counts them; it must stay
1,000 whatever the number of replicas), CPU seconds per replica per interval, and the
latency from a result to its event on another replica's SSE stream (an API-only observer
replica, ``--no-scheduler``, that checks nothing itself). Figures are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import datetime
from pathlib import Path

import httpx
import yaml
from tests.system_services import postgres_server, redis_server

from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.serving import free_port
from atom_health.simulator import environment
from bench.bench_live_checks import synthetic
from bench.common import PYTHON, percentile, serving

INTEGRATIONS = 1000
INTERVAL = 10.0
MEASURED_INTERVALS = 3
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def write_config(folder: Path, sim: str) -> Path:
    builtin = [i.id for i in build_catalog(Settings(), {})]
    auth = {"scheme": "basic", "username": "STRIPE_API_KEY"}
    config = folder / "atom.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cache_ttl_seconds": INTERVAL,
                "scheduler": {"interval_seconds": INTERVAL, "initial_spread_seconds": INTERVAL},
                "probes": {"vendor_status": False, "concurrency": 200},
                "alerting": {"enabled": False},
                "integrations": {
                    **{name: {"enabled": False} for name in builtin},
                    **synthetic(INTEGRATIONS, f"{sim}/stripe", "/v1/balance", auth),
                },
            }
        )
    )
    return config


@contextmanager
def replica(config: Path, env: dict[str, str], *flags: str) -> Iterator[tuple[int, str]]:
    """One ``atom-health serve`` process; yields its pid and URL once it answers."""
    port = free_port()
    process = subprocess.Popen(
        [PYTHON, "-m", "atom_health", "serve", "--config", str(config), "--port", str(port),
         "--log-level", "warning", *flags],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(url + "/api/integrations/config", timeout=5).raise_for_status()
                break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("a replica did not start") from None
                time.sleep(0.1)
        yield process.pid, url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def follow(url: str, delays: list[float], stop: threading.Event) -> None:
    """Append (arrival - result time) of every event on ``url``'s stream to ``delays``."""
    try:
        with httpx.stream("GET", url + "/api/events", timeout=60) as response:
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("data:"):
                    checked = datetime.fromisoformat(json.loads(line[5:])["row"]["checked_at"])
                    delays.append(time.time() - checked.timestamp())
    except httpx.HTTPError:
        return


def provider_calls(sim: str) -> int:
    calls: int = httpx.get(f"{sim}/_admin/state").json()["providers"]["stripe"]["api_requests"]
    return calls


def measure(count: int, config: Path, env: dict[str, str], sim: str) -> tuple[float, ...]:
    with ExitStack() as stack:
        pids = [stack.enter_context(replica(config, env))[0] for _ in range(count)]
        _, observer = stack.enter_context(replica(config, env, "--no-scheduler"))
        delays: list[float] = []
        stop = threading.Event()
        threading.Thread(target=follow, args=(observer, delays, stop), daemon=True).start()
        time.sleep(INTERVAL * 1.5)  # first round spread over one interval, connections warm
        calls, cpu, started = provider_calls(sim), [cpu_seconds(p) for p in pids], len(delays)
        time.sleep(INTERVAL * MEASURED_INTERVALS)
        calls = provider_calls(sim) - calls
        cpu = [cpu_seconds(p) - before for p, before in zip(pids, cpu, strict=True)]
        window = delays[started:]
        stop.set()
    per_interval = calls / MEASURED_INTERVALS
    cpu_per_interval = sum(cpu) / len(cpu) / MEASURED_INTERVALS
    if not window:
        raise RuntimeError("no result reached the observer's event stream")
    return (
        per_interval,
        cpu_per_interval,
        percentile(window, 0.5) * 1000,
        percentile(window, 0.99) * 1000,
        float(len(window)) / MEASURED_INTERVALS,
    )


def main() -> None:
    with ExitStack() as stack:
        sim = stack.enter_context(
            serving([PYTHON, "-m", "atom_health", "simulate", "--port", "{port}"], "/_admin/state")
        )
        pg_admin = stack.enter_context(postgres_server())
        redis = stack.enter_context(redis_server())
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        config = write_config(folder, sim)
        rows = []
        for count in (1, 2, 3):
            database = f"bench_replicas_{count}"
            _create_database(pg_admin, database)
            _flush(redis.url)
            env = {
                **os.environ,
                **environment(sim),
                "ATOM_HEALTH_REDIS_URL": redis.url,
                "ATOM_HEALTH_DATABASE_URL": pg_admin.rsplit("/", 1)[0] + f"/{database}",
            }
            rows.append((count, *measure(count, config, env, sim)))
    print(f"{INTEGRATIONS} synthetic integrations, {INTERVAL:.0f} s interval, "
          f"{MEASURED_INTERVALS} intervals measured, PostgreSQL + redis-server on loopback")  # fmt: skip
    print(
        f"{'replicas':>8}  {'provider calls/interval':>23}  {'CPU s/interval per replica':>26}"
        f"  {'result -> SSE elsewhere p50':>27}  {'p99':>9}  {'events/interval':>15}"
    )
    for count, calls, cpu, p50, p99, events in rows:
        print(
            f"{count:>8}  {calls:>23.0f}  {cpu:>26.2f}  {p50:>24.1f} ms  {p99:>6.1f} ms"
            f"  {events:>15.0f}"
        )
    print(f"target: provider calls stay {INTEGRATIONS} per interval for every fleet size")


def _create_database(admin_url: str, name: str) -> None:
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')


def _flush(url: str) -> None:
    import redis

    with redis.Redis.from_url(url) as client:
        client.flushall()


if __name__ == "__main__":
    main()
