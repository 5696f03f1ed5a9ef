"""Live checks: wall time, CPU per check, overhead over bare aiohttp, and probes/s beside
Prometheus blackbox_exporter, all measured in this run on this machine.

The simulator, the probe target and the servers each run in their own process.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any

import aiohttp
import httpx
import yaml

from atom_health.config import ProbeSettings, Settings
from atom_health.monitor import HealthMonitor
from atom_health.simulator import environment
from bench.common import PYTHON, serving

BLACKBOX = "prometheus-blackbox-exporter"
LOAD_SECONDS = 3.0
ROUNDS = 3
CONCURRENCY = (1, 64)


def synthetic(count: int, base_url: str, path: str, auth: dict[str, Any]) -> dict[str, Any]:
    """``count`` integrations that all probe one endpoint (no status feed)."""
    probe = {"name": f"GET {path}", "request": {"path": path, "auth": auth}}
    return {
        f"synthetic-{i}": {"name": f"Synthetic {i}", "base_url": base_url, "probes": [probe]}
        for i in range(count)
    }


def set_latency(sim: str, latency_ms: int) -> None:
    httpx.put(f"{sim}/_admin/latency", json={"latency_ms": latency_ms}).raise_for_status()


async def all_builtins(env: dict[str, str]) -> None:
    settings = Settings()
    async with HealthMonitor.from_settings(settings, env) as monitor:
        started = time.perf_counter()
        first = await monitor.overview(refresh=True)
        cold = time.perf_counter() - started
        runs = []
        for _ in range(5):
            started = time.perf_counter()
            await monitor.overview(refresh=True)
            runs.append(time.perf_counter() - started)
    healthy = first.summary.healthy_services
    print("All 14 built-in integrations, 200 ms simulated latency per provider call")
    print(f"  first run (OAuth grants + API calls)  {cold * 1000:7.0f} ms   ({healthy}/14 healthy)")
    print(
        f"  warm runs (tokens cached), median     {statistics.median(runs) * 1000:7.0f} ms"
        "   target <= 300 ms (original < 2 s)"
    )


async def thousand(sim: str) -> None:
    auth = {"scheme": "basic", "username": "STRIPE_API_KEY"}
    settings = Settings.model_validate(
        {"integrations": synthetic(1000, f"{sim}/stripe", "/v1/balance", auth)}
    ).model_copy(update={"probes": ProbeSettings(concurrency=200, vendor_status=False)})
    env = environment(sim)
    names = [f"synthetic-{i}" for i in range(1000)]
    async with HealthMonitor.from_settings(settings, env) as monitor:
        await monitor.overview(names[:200], refresh=True)  # open the connection pool
        cpu, started = time.process_time(), time.perf_counter()
        overview = await monitor.overview(names, refresh=True)
        wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    print("\n1,000 synthetic integrations, 100 ms latency, concurrency limit 200")
    print(
        f"  wall {wall:.2f} s (ideal 0.50 s; target <= 2 s)   "
        f"healthy {overview.summary.healthy_services}/1000"
    )
    print(f"  CPU per check {cpu * 1000 / 1000:.3f} ms (engine process, whole check)")


async def overhead(sim: str) -> None:
    env = environment(sim)
    # Every check a call: no refresh window answering with the newest result.
    settings = Settings(probes=ProbeSettings(vendor_status=False), refresh_min_interval_seconds=0)
    # Notion's check is one request (GET /v1/users/me): the bare request is the same call.
    url = f"{sim}/notion/v1/users/me"
    header = {"Authorization": f"Bearer {env['NOTION_TOKEN']}", "Notion-Version": "2022-06-28"}
    rounds = 1000
    async with aiohttp.ClientSession() as session, HealthMonitor.from_settings(settings, env) as m:
        for _ in range(50):
            async with session.get(url, headers=header) as r:
                await r.read()
            await m.check("notion", refresh=True)
        bare = []
        ours = []
        for _ in range(rounds):  # interleaved, so both see the same machine
            started = time.perf_counter()
            async with session.get(url, headers=header) as r:
                await r.read()
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            await m.check("notion", refresh=True)
            ours.append(time.perf_counter() - started)
    b, o = statistics.median(bare) * 1e6, statistics.median(ours) * 1e6
    print(f"\nOverhead of a check over a bare aiohttp GET to the same endpoint ({rounds} each)")
    print(f"  bare aiohttp request   median {b:7.0f} µs")
    print(f"  atom-health check      median {o:7.0f} µs   (+{o - b:.0f} µs, ratio {o / b:.2f}x)")


async def load(url: str, concurrency: int, seconds: float) -> tuple[float, int]:
    """(requests per second, requests) that ``url`` (``{i}`` = worker number) sustains."""
    done = 0
    ends = time.perf_counter() + seconds

    async def worker(i: int, session: aiohttp.ClientSession) -> None:
        nonlocal done
        target = url.replace("{i}", str(i))
        while time.perf_counter() < ends:
            async with session.get(target) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"{target} answered {response.status}")
            done += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(i, session) for i in range(concurrency)))
        return done / (time.perf_counter() - started), done


def stored_results(database: Path) -> int:
    """Check results in the SQLite history (0 before its schema exists)."""
    if not database.exists():
        return 0
    with closing(sqlite3.connect(database)) as connection:
        try:
            return int(connection.execute("SELECT count(*) FROM check_results").fetchone()[0])
        except sqlite3.OperationalError:  # no table yet
            return 0


def probes_per_second(workdir: Path) -> None:
    """Both servers up at once, measured in turns (atom-health, then blackbox_exporter, at
    each concurrency, ``ROUNDS`` times): on a shared machine, noise hits both alike."""
    print(
        f"\nProbes per second against a no-delay loopback target ({LOAD_SECONDS:.0f} s per "
        f"run, {ROUNDS} runs each, in turns)"
    )
    binary = shutil.which(BLACKBOX)
    target_cmd = [PYTHON, "-m", "bench.target", "{port}"]
    with serving(target_cmd, "/") as target:
        config = workdir / "atom.yaml"
        database = workdir / "history.db"
        config.write_text(
            yaml.safe_dump(
                {
                    "integrations": synthetic(64, target, "/", {"scheme": "none"}),
                    "probes": {"vendor_status": False, "concurrency": 200},
                    "history": {"database_url": f"sqlite:///{database}"},
                    # Every request a probe: no refresh window answering with the newest result.
                    "refresh_min_interval_seconds": 0,
                    # One client: the limiter counts each request but must not refuse them.
                    "security": {"rate_limit": "1000000000/minute"},
                }
            )
        )
        modules = workdir / "blackbox.yml"
        modules.write_text(yaml.safe_dump({"modules": {"http_2xx": {"prober": "http"}}}))
        ours_cmd = [PYTHON, "-m", "atom_health", "serve", "--log-level", "warning",
                    "--config", str(config), "--port", "{port}"]  # fmt: skip
        bb_cmd = [binary or BLACKBOX, f"--config.file={modules}",
                  "--web.listen-address=127.0.0.1:{port}", "--log.level=error"]  # fmt: skip
        ours_rates: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
        bb_rates: dict[int, list[float]] = {c: [] for c in CONCURRENCY}
        probed = 0
        with serving(ours_cmd, "/api/integrations/config") as ours, contextlib.ExitStack() as bb:
            blackbox = bb.enter_context(serving(bb_cmd, "/")) if binary else None
            for c in CONCURRENCY:  # warm both (connection pools, caches) before measuring
                asyncio.run(load(ours + "/api/synthetic-{i}/health?refresh=true", c, 1.0))
                if blackbox is not None:
                    asyncio.run(load(f"{blackbox}/probe?module=http_2xx&target={target}/", c, 1.0))
            before = stored_results(database)
            for _ in range(ROUNDS):
                for c in CONCURRENCY:
                    path = "/api/synthetic-{i}/health?refresh=true"
                    rate, done = asyncio.run(load(ours + path, c, LOAD_SECONDS))
                    ours_rates[c].append(rate)
                    probed += done
                    if blackbox is not None:
                        probe = f"/probe?module=http_2xx&target={target}/"
                        bb_rates[c].append(asyncio.run(load(blackbox + probe, c, LOAD_SECONDS))[0])
        # Stopped: the recorder has written everything it queued.
        stored = stored_results(database) - before
    print(f"  results stored in SQLite during the runs: {stored:,} (requests answered: "
          f"{probed:,}; the server's own first round may add up to 64)")  # fmt: skip

    def span(values: list[float], digits: int = 0) -> str:
        return f"{min(values):,.{digits}f}-{max(values):,.{digits}f}"

    print(f"  {'':18s}" + "".join(f"{f'c={c}':>16s}" for c in CONCURRENCY))
    print(f"  {'atom-health':18s}" + "".join(f"{span(ours_rates[c]):>14s}/s" for c in CONCURRENCY))
    if binary is None:
        print(f"  blackbox_exporter not installed: apt-get install {BLACKBOX}")
        return
    print(
        f"  {'blackbox_exporter':18s}" + "".join(f"{span(bb_rates[c]):>14s}/s" for c in CONCURRENCY)
    )
    ratios = {
        c: [o / b for o, b in zip(ours_rates[c], bb_rates[c], strict=True)] for c in CONCURRENCY
    }
    print(
        f"  {'ratio (each turn)':18s}" + "".join(f"{span(ratios[c], 2):>16s}" for c in CONCURRENCY)
    )
    for c in CONCURRENCY:
        print(f"  c={c} ratios in the order measured: " + ", ".join(f"{r:.2f}" for r in ratios[c]))
    print("  target: ratio >= 1.0 at c=64")


def main() -> None:
    sim_cmd = [PYTHON, "-m", "atom_health", "simulate", "--port", "{port}"]
    with serving(sim_cmd, "/_admin/state") as sim:
        set_latency(sim, 200)
        asyncio.run(all_builtins(environment(sim)))
        set_latency(sim, 100)
        asyncio.run(thousand(sim))
        set_latency(sim, 0)
        asyncio.run(overhead(sim))
    with tempfile.TemporaryDirectory() as workdir:
        probes_per_second(Path(workdir))


if __name__ == "__main__":
    main()
