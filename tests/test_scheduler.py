"""The scheduler in a running app: checks on time, stored, failures contained, changes noted."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from atom_health.config import SchedulerSettings, Settings
from atom_health.monitor import HealthMonitor
from atom_health.scheduling import ConfigurationWatcher
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, wait_for

WATCHED = ["github", "stripe", "slack"]


@pytest.fixture
def scheduled(
    make_monitor: Callable[..., HealthMonitor],
    environ: dict[str, str],
    sim_credentials: dict[str, str],
) -> Iterator[tuple[HealthSystem, httpx.Client]]:
    for name in ("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN", "STRIPE_API_KEY",
                 "STRIPE_WEBHOOK_SECRET", "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET",
                 "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"):  # fmt: skip
        environ[name] = sim_credentials[name]
    settings = Settings(
        probes=FAST_PROBES,
        cache_ttl_seconds=0,
        refresh_min_interval_seconds=0,
        scheduler=SchedulerSettings(interval_seconds=0.3, initial_spread_seconds=0.1),
    )
    monitor = make_monitor(settings)
    system = HealthSystem(settings, environ, monitor=monitor, store=MemoryStore(), scheduler=True)
    with ThreadedServer(create_app(system)) as server, httpx.Client(base_url=server.url) as client:
        yield system, client


def stored(client: httpx.Client, service: str) -> int:
    total: int = client.get(f"/api/integrations/{service}/history").json()["total"]
    return total


def test_checks_run_on_their_interval_and_are_stored(
    scheduled: tuple[HealthSystem, httpx.Client],
) -> None:
    system, client = scheduled

    wait_for(lambda: all(stored(client, s) >= 4 for s in WATCHED))

    assert system.scheduler is not None
    assert system.scheduler.lag_seconds < 1.0
    history = client.get("/api/integrations/github/history").json()["items"]
    assert {item["status"] for item in history} == {"healthy"}
    assert stored(client, "zoom") >= 1  # not configured: still checked and stored (unhealthy)


def test_a_failing_provider_does_not_stop_the_others(
    scheduled: tuple[HealthSystem, httpx.Client], simulator: Simulator
) -> None:
    _, client = scheduled
    simulator.set_fault("stripe", "hang")  # every stripe check hits the deadline
    start = {s: stored(client, s) for s in WATCHED}

    wait_for(lambda: stored(client, "github") >= start["github"] + 4)

    assert stored(client, "slack") >= start["slack"] + 3
    # The scheduled stripe checks end at the deadline and are stored as timeouts.
    wait_for(lambda: any(item["category"] == "timeout" for item in
                         client.get("/api/integrations/stripe/history").json()["items"]),
             timeout=30)  # fmt: skip


def test_configuration_changes_are_recorded_by_name(
    scheduled: tuple[HealthSystem, httpx.Client], environ: dict[str, str]
) -> None:
    system, client = scheduled
    wait_for(lambda: stored(client, "github") >= 2)
    token = environ.pop("GITHUB_TOKEN")

    wait_for(lambda: bool(system.store.config_events("github", 0, time.time() + 1)))
    environ["GITHUB_TOKEN"] = token
    wait_for(lambda: len(system.store.config_events("github", 0, time.time() + 1)) == 2)

    events = system.store.config_events("github", 0, time.time() + 1)
    assert [(e.variable, e.change) for e in events] == [
        ("GITHUB_TOKEN", "missing"),
        ("GITHUB_TOKEN", "present"),
    ]
    served = client.get("/api/integrations/github/events").json()
    assert [(e["variable"], e["change"]) for e in served["events"]] == [
        ("GITHUB_TOKEN", "present"),  # newest first
        ("GITHUB_TOKEN", "missing"),
    ]
    assert token not in str(served)


def test_configuration_events_route_refuses_bad_input(
    scheduled: tuple[HealthSystem, httpx.Client],
) -> None:
    _, client = scheduled
    unknown = client.get("/api/integrations/orkut/events")
    backwards = client.get(
        "/api/integrations/github/events",
        params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
    )

    assert (unknown.status_code, unknown.json()["status"]) == (404, "unknown")
    assert backwards.status_code == 422
    assert backwards.json()["detail"][0]["loc"] == ["query", "since"]


def test_watcher_reports_only_changes() -> None:
    watcher = ConfigurationWatcher()
    required = ["A", "B"]

    assert watcher.observe("x", required, ["A", "B"], 1) == []  # the first look is a baseline
    assert watcher.observe("x", required, ["A", "B"], 2) == []
    changes = watcher.observe("x", required, ["B"], 3)

    assert [(e.variable, e.change, e.at) for e in changes] == [("A", "missing", 3)]


def test_a_rotated_credential_is_recorded_as_changed(
    scheduled: tuple[HealthSystem, httpx.Client], environ: dict[str, str]
) -> None:
    system, client = scheduled
    wait_for(lambda: stored(client, "github") >= 2)
    environ["GITHUB_CLIENT_SECRET"] = "a-rotated-client-secret"

    wait_for(lambda: bool(system.store.config_events("github", 0, time.time() + 1)))

    events = system.store.config_events("github", 0, time.time() + 1)
    assert [(e.variable, e.change) for e in events] == [("GITHUB_CLIENT_SECRET", "changed")]
    served = client.get("/api/integrations/github/events").json()
    assert "a-rotated-client-secret" not in str(served)
    fingerprint = client.get("/api/integrations/config").json()["integrations"]["github"]
    assert set(fingerprint["fingerprints"]) >= {"GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"}
