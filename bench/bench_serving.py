"""Serving what is already known: ``atom-health serve`` with a realistic state beside a bare
Starlette route, in the same run, driven by ``wrk`` (Debian's package) or, without it, an
aiohttp load generator; then the event loop's lag while the dashboard is under load.

State: the 14 built-in integrations against the provider simulator (its own process), the
scheduler on (every 30 s; cache TTL 60 s, so answers stay cached between rounds), and a
SQLite history of 1,000,000 results over 90 days, rolled up as maintenance leaves it.

Each route is measured in turns with the bare route (bare, route, bare, route, ...): the
machine's noise comes in spells of seconds, so each ratio is the route's run over the bare
run just before it, and the table shows the median ratio of the turns and their range.

    python -m bench.bench_serving [--rows N] [--seconds S] [--turns N] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import shutil
import sqlite3
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import aiohttp
import httpx
import yaml

from atom_health.history import rollups
from atom_health.history.rollups import DAY
from atom_health.simulator import environment
from atom_health.sinks.metrics import LOOP_LAG_WINDOW
from atom_health.store.sql import SqlStore
from bench.common import PYTHON, percentile, serving

INTEGRATIONS = ["zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
                "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero"]  # fmt: skip
DAYS = 90
ROUTES = [
    ("bare Starlette route", None),
    ("GET /api/integrations/health (overview)", "/api/integrations/health"),
    ("GET /api/stripe/health", "/api/stripe/health"),
    ("GET /api/integrations/config", "/api/integrations/config"),
    ("an unknown path (404)", "/api/no/such/path"),
    ("GET /api/dashboard", "/api/dashboard"),
    ("GET /api/dashboard, no gzip", "/api/dashboard"),
]
GZIP = {"Accept-Encoding": "gzip"}  # what browsers and most HTTP clients send
CONNECTIONS = (1, 32)
UNREACHED_RATE_LIMIT = "1000000000/minute"


def generate_history(path: Path, rows: int) -> None:
    """``rows`` results over 90 days (executemany in large batches), then maintenance."""
    store = SqlStore(f"sqlite:///{path}")  # creates the schema
    now = time.time()
    rng = random.Random(7)
    per = rows // len(INTEGRATIONS)
    step = DAYS * DAY / per
    start = now - DAYS * DAY
    insert = (
        "INSERT INTO check_results (integration, checked_at, status, category, latency_ms, "
        "http_status, vendor_state, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
    )
    connection = sqlite3.connect(path)
    batch: list[tuple[object, ...]] = []
    for i in range(per):
        at = start + i * step
        for name in INTEGRATIONS:
            roll = rng.random()
            status = "unhealthy" if roll < 0.02 else "degraded" if roll < 0.05 else "healthy"
            category = ("vendor_outage" if roll < 0.005 else "timeout") if roll < 0.02 else None
            batch.append((name, at, status, category, rng.lognormvariate(5, 0.4), 200,
                          "operational", f"{name} check"))  # fmt: skip
        if len(batch) >= 100_000:
            connection.executemany(insert, batch)
            batch = []
    connection.executemany(insert, batch)
    connection.commit()
    connection.close()
    rollups.maintain(store, now, raw_retention=DAYS * DAY)  # rolls up; keeps every raw row
    store.close()


def wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str], status: int
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) measured by wrk."""
    extra = [part for name, value in headers.items() for part in ("-H", f"{name}: {value}")]
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", *extra, url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    refused = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if refused and status < 300:
        raise RuntimeError(f"{url}: {refused.group(1)} answers were not 2xx: not a fair measure")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    return rate, ms("50"), ms("99")


async def aiohttp_load(
    url: str, connections: int, seconds: float, headers: dict[str, str], status: int
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) with ``connections`` keep-alive clients."""
    samples: list[float] = []
    ends = time.perf_counter() + seconds

    async def worker(session: aiohttp.ClientSession) -> None:
        while time.perf_counter() < ends:
            started = time.perf_counter()
            async with session.get(url, headers=headers) as response:
                await response.read()
                if response.status != status:
                    raise RuntimeError(f"{url} answered {response.status}: not a fair measure")
            samples.append((time.perf_counter() - started) * 1000)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, auto_decompress=False) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(connections)))
        elapsed = time.perf_counter() - started
    return len(samples) / elapsed, percentile(samples, 0.5), percentile(samples, 0.99)


def load(
    url: str, connections: int, seconds: float, headers: dict[str, str] = GZIP, status: int = 200
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms); every answer must have ``status`` (never a 429: that
    would measure the rate limiter's refusals)."""
    if shutil.which("wrk"):
        measured = wrk(url, connections, seconds, headers, status)
    else:
        measured = asyncio.run(aiohttp_load(url, connections, seconds, headers, status))
    after = httpx.get(url, headers=headers, timeout=30).status_code
    if after != status:
        raise RuntimeError(f"{url} answered {after} after the run: not a fair measure")
    return measured


class Turn(NamedTuple):
    """The bare route's run and the route's run just after it: (req/s, p50 ms, p99 ms)."""

    bare: tuple[float, float, float]
    ours: tuple[float, float, float]

    @property
    def ratio(self) -> float:
        return self.ours[0] / self.bare[0]


def loop_lag_ms(ours: str) -> float:
    """The server's own worst event-loop lag over the last 10 s (its metric)."""
    text = httpx.get(ours + "/metrics", timeout=30).text
    found = re.search(r"^atom_health_event_loop_lag_seconds ([\d.e+-]+)$", text, re.M)
    return float(found.group(1)) * 1000  # type: ignore[union-attr]


def bare_loop_lag_ms(bare: str) -> float:
    """The bare route's worst event-loop lag over the last 10 s (sampled the same way)."""
    return float(httpx.get(bare + "/lag", timeout=30).text) * 1000


def loop_lag_under_load(url: str, read_lag: Callable[[], float]) -> float:
    """The worst event-loop lag over a whole window (10 s) of load at 32 connections, read
    just before the load ends."""
    seconds = LOOP_LAG_WINDOW + 2
    lag: list[float] = []

    def read_at_the_end() -> None:
        time.sleep(seconds - 0.5)
        lag.append(read_lag())

    reader = threading.Thread(target=read_at_the_end)
    reader.start()
    load(url, 32, seconds)
    reader.join()
    return lag[0]


def poll_overview(ours: str, seconds: float, every: float = 0.5) -> tuple[int, int]:
    """(304 answers, polls): a front end asking for the overview every ``every`` seconds with
    the ETag of the last body it got."""
    etag, revalidated, polls = None, 0, 0
    ends = time.monotonic() + seconds
    while time.monotonic() < ends:
        headers = {"If-None-Match": etag} if etag else {}
        response = httpx.get(ours + "/api/integrations/health", headers=headers, timeout=30)
        polls += 1
        if response.status_code == 304:
            revalidated += 1
        else:
            etag = response.headers.get("etag")
        time.sleep(every)
    return revalidated, polls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="history rows to generate")
    parser.add_argument("--seconds", type=int, default=3, help="load time per measurement")
    parser.add_argument("--turns", type=int, default=3, help="runs of each route and the bare one")
    parser.add_argument("--db", type=Path, help="reuse (or create) this history database")
    args = parser.parse_args()
    tool = "wrk" if shutil.which("wrk") else "aiohttp load generator (apt-get install wrk)"
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        database = args.db or workdir / "history.db"
        if not database.exists():
            started = time.perf_counter()
            generate_history(database, args.rows)
            print(f"history: {args.rows:,} rows over {DAYS} days, generated and rolled up in "
                  f"{time.perf_counter() - started:.0f} s")  # fmt: skip
        config = workdir / "atom.yaml"
        config.write_text(yaml.safe_dump({
            "cache_ttl_seconds": 60,
            "scheduler": {"interval_seconds": 30, "initial_spread_seconds": 1},
            "history": {"database_url": f"sqlite:///{database}", "raw_retention_days": DAYS},
            # One client at thousands of requests/s: the limiter still counts each request,
            # but must not refuse them (that would measure refusals).
            "security": {"rate_limit": UNREACHED_RATE_LIMIT},
        }))  # fmt: skip
        sim_cmd = [PYTHON, "-m", "atom_health", "simulate", "--port", "{port}"]
        ours_cmd = [PYTHON, "-m", "atom_health", "serve", "--log-level", "warning",
                    "--config", str(config), "--port", "{port}"]  # fmt: skip
        bare_cmd = [PYTHON, "-m", "bench.baseline_app", "{port}"]
        with (
            serving(sim_cmd, "/_admin/state") as sim,
            serving(bare_cmd, "/config") as bare,
            serving(ours_cmd, "/api/integrations/config", env=environment(sim)) as ours,
        ):
            httpx.get(ours + "/api/integrations/health", timeout=30).raise_for_status()
            httpx.get(ours + "/api/dashboard", timeout=30).raise_for_status()
            turns: dict[tuple[str, int], list[Turn]] = {}
            for label, path in ROUTES[1:]:  # each beside its own bare-route run: noise hits both
                for c in CONNECTIONS:
                    headers = {} if label.endswith("no gzip") else GZIP
                    status = 404 if "(404)" in label else 200
                    turns[label, c] = [
                        Turn(
                            load(bare + "/config", c, args.seconds, headers),
                            load(ours + path, c, args.seconds, headers, status),  # type: ignore[operator]
                        )
                        for _ in range(args.turns)
                    ]
            # A quiet window (the lag of the machine itself), with a front end polling.
            revalidated, polls = poll_overview(ours, 11)
            idle_ms = loop_lag_ms(ours)
            lag_ms = loop_lag_under_load(ours + "/api/dashboard", lambda: loop_lag_ms(ours))
            bare_lag_ms = loop_lag_under_load(bare + "/config", lambda: bare_loop_lag_ms(bare))
    print(f"\nServing ({tool}, {args.turns} turns of {args.seconds:.0f} s per route and "
          "concurrency, each beside a bare-route run just before it; median of the turns)")  # fmt: skip
    header = f"  {'route':42s}" + "".join(
        f"{f'c={c} req/s':>12s}{'ratio':>7s}{'(turns)':>12s}{'p50':>9s}{'p99':>9s}"
        for c in CONNECTIONS
    )
    print(header)
    line = f"  {ROUTES[0][0]:42s}"
    for c in CONNECTIONS:
        rates = [turn.bare[0] for label, _ in ROUTES[1:] for turn in turns[label, c]]
        line += f"{f'{min(rates):,.0f}-{max(rates):,.0f}':>12s}{'1.00':>7s}{'':30s}"
    print(line + "  (range over its runs)")
    for label, _ in ROUTES[1:]:
        line = f"  {label:42s}"
        for c in CONNECTIONS:
            runs = turns[label, c]
            ratios = [turn.ratio for turn in runs]
            rate, p50, p99 = (statistics.median(turn.ours[i] for turn in runs) for i in range(3))
            spread = f"{min(ratios):.2f}-{max(ratios):.2f}"
            line += f"{rate:12,.0f}{statistics.median(ratios):7.2f}{spread:>12s}"
            line += f"{p50:7.2f}ms{p99:7.2f}ms"
        print(line)
    print(f"  event-loop lag, worst in 10 s: {lag_ms:.1f} ms under dashboard load (c=32), "
          f"{idle_ms:.1f} ms idle just before; the bare route's under its own load (c=32) "
          f"{bare_lag_ms:.1f} ms   (target < 10 ms)")  # fmt: skip
    print(f"  overview polled every 0.5 s with its ETag for 11 s: {revalidated}/{polls} "
          "answered 304 (a 200 follows a new result: the scheduler checks every 30 s)")  # fmt: skip
    print("  targets: cached health and overview >= 0.80 of the bare route; dashboard >= 0.50 "
          "with p99 < 50 ms at c=32")  # fmt: skip


if __name__ == "__main__":
    main()
