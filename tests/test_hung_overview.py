"""Answers that never wait on a hung provider: the overview within its batch deadline,
stale-while-revalidate, pending lines with their last known result. Answer times are
asserted loosely (far below the hang); the figures are in bench/bench_hung_overview.py."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.model.results import ServiceHealth
from atom_health.monitor import HealthMonitor
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, wait_for

pytestmark = pytest.mark.usefixtures("configured")

HANG_SECONDS = 10.0  # how long one check of a hung provider takes before it gives up
LOOSE = 6.0  # an answer that waited on the hang would take HANG_SECONDS at least


def patient(batch_deadline: float = 0.5, cache_ttl: float = 30) -> Settings:
    probes = FAST_PROBES.model_copy(
        update={"attempt_timeout_seconds": HANG_SECONDS, "deadline_seconds": HANG_SECONDS,
                "max_retries": 0, "slow_threshold_ms": HANG_SECONDS * 1000}
    )  # fmt: skip
    return Settings(
        probes=probes,
        batch_deadline_seconds=batch_deadline,
        cache_ttl_seconds=cache_ttl,
        refresh_min_interval_seconds=0,  # these tests refresh on purpose
    )


async def test_uncached_overview_answers_within_the_batch_deadline(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    simulator.set_fault("stripe", "hang")
    async with make_monitor(patient()) as monitor:
        started = time.monotonic()
        results = {r.service: r for r in await monitor.check_many_within()}
        elapsed = time.monotonic() - started

    assert elapsed < LOOSE
    stripe = results["stripe"]
    assert stripe.pending
    assert stripe.status == "unknown"  # never checked before: no last known result
    assert "still running" in stripe.message
    assert not any(r.pending for name, r in results.items() if name != "stripe")


async def test_pending_line_keeps_its_last_known_result_and_the_fresh_one_lands(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    landed: list[ServiceHealth] = []
    arrived = asyncio.Event()

    def on_result(result: ServiceHealth) -> None:
        if result.service == "stripe":
            landed.append(result)
            arrived.set()

    async with make_monitor(patient(cache_ttl=0)) as monitor:
        await monitor.check("stripe")
        monitor.subscribe(on_result)
        simulator.set_fault("stripe", "slow", delay_ms=1500, times=1)

        results = {r.service: r for r in await monitor.check_many_within(["stripe"], refresh=True)}
        stripe = results["stripe"]
        assert stripe.pending
        assert stripe.status == "healthy"  # the last known result
        await asyncio.wait_for(arrived.wait(), HANG_SECONDS)

        again = (await monitor.check_many_within(["stripe"]))[0]

    assert landed[0].status == "healthy"
    assert not again.pending
    assert again.timestamp == landed[0].timestamp  # served from the cache the check filled


async def test_cached_overview_is_served_at_once_while_revalidating(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    async with make_monitor(patient(batch_deadline=HANG_SECONDS, cache_ttl=0)) as monitor:
        first = await monitor.check_many_within()
        assert not any(r.pending for r in first)
        simulator.set_fault("stripe", "hang")

        started = time.monotonic()
        overview = await monitor.overview_within()
        elapsed = time.monotonic() - started

    assert elapsed < LOOSE
    line = overview.services["stripe"]
    assert (line.status, line.pending) == ("healthy", False)
    assert line.age_seconds is not None
    assert all(s.age_seconds is not None for s in overview.services.values())


@pytest.fixture
def hung_api(
    make_monitor: Callable[..., HealthMonitor], environ: dict[str, str]
) -> Iterator[httpx.Client]:
    settings = patient(batch_deadline=3.0)  # the healthy ones answer in time on a loaded machine
    system = HealthSystem(
        settings, environ, monitor=make_monitor(settings), store=MemoryStore(), scheduler=False
    )
    with (
        ThreadedServer(create_app(system)) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def test_overview_route_reports_pending_lines_and_ages(
    hung_api: httpx.Client, simulator: Simulator
) -> None:
    simulator.set_fault("jira", "hang")

    started = time.monotonic()
    body = hung_api.get("/api/integrations/health").json()
    elapsed = time.monotonic() - started

    assert elapsed < LOOSE
    assert body["services"]["jira"]["pending"] is True
    assert body["services"]["slack"]["pending"] is False
    assert body["services"]["slack"]["age_seconds"] >= 0
    simulator.set_fault("jira", None)
    wait_for(
        lambda: not hung_api.get("/api/integrations/health").json()["services"]["jira"]["pending"],
        30,
    )


@pytest.mark.parametrize("within", [False, True])
async def test_an_overview_asked_before_a_reload_answers_for_the_catalog_it_was_asked_on(
    make_monitor: Callable[..., HealthMonitor], configured: dict[str, str], within: bool
) -> None:
    """A reload that removes an integration between the request and its checks' start (its
    tasks start on the loop's next turn) used to answer 500: Unknown integration."""
    async with make_monitor() as monitor:
        asked = asyncio.ensure_future(
            monitor.overview_within(["zoom", "slack"])
            if within
            else monitor.overview(["zoom", "slack"])
        )
        await asyncio.sleep(0)  # the overview has chosen its integrations
        settings = Settings.model_validate({"integrations": {"zoom": {"enabled": False}}})
        monitor.catalog.replace_with(build_catalog(settings, configured))
        assert monitor.catalog.get("zoom") is None  # removed, as by a reload

        overview = await asked

    assert sorted(overview.services) == ["slack", "zoom"]
