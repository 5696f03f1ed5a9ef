"""Shared fixtures: the provider simulator, a controllable environment, the app on loopback.

Every environment a test builds points all built-in providers at the simulator, and so
does the process environment for the whole session: no test can reach the internet.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from atom_health.catalog import build_catalog
from atom_health.config import ProbeSettings, Settings
from atom_health.model.results import ServiceHealth
from atom_health.monitor import HealthMonitor
from atom_health.serving import ThreadedServer
from atom_health.simulator import CREDENTIALS, Simulator
from atom_health.store import MemoryStore, Store
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.receivers import mailbox, receiver  # noqa: F401 - fixtures: webhook and SMTP receivers

# Every built-in integration's required variables, as plain test values.
FULL_ENV: dict[str, str] = {
    "ZOOM_API_KEY": "zoom-key", "ZOOM_API_SECRET": "zoom-secret",
    "NOTION_CLIENT_ID": "notion-id", "NOTION_CLIENT_SECRET": "notion-secret",
    "TRELLO_API_KEY": "trello-key", "TRELLO_API_SECRET": "trello-secret",
    "STRIPE_API_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "QUICKBOOKS_CLIENT_ID": "qb-id", "QUICKBOOKS_CLIENT_SECRET": "qb-secret",
    "GITHUB_CLIENT_ID": "gh-id", "GITHUB_CLIENT_SECRET": "gh-secret", "GITHUB_TOKEN": "ghp_abc",
    "SALESFORCE_CLIENT_ID": "sf-id", "SALESFORCE_CLIENT_SECRET": "sf-secret",
    "GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret",
    "DROPBOX_APP_KEY": "db-key", "DROPBOX_APP_SECRET": "db-secret",
    "SLACK_CLIENT_ID": "sl-id", "SLACK_CLIENT_SECRET": "sl-secret",
    "SLACK_SIGNING_SECRET": "sl-sign",
    "HUBSPOT_ACCESS_TOKEN": "hs-token",
    "JIRA_BASE_URL": "https://example.atlassian.net", "JIRA_EMAIL": "ops@example.com",
    "JIRA_API_TOKEN": "jira-token",
    "LINEAR_API_KEY": "lin_api_abc",
    "XERO_CLIENT_ID": "xero-id", "XERO_CLIENT_SECRET": "xero-secret",
}  # fmt: skip

# Short waits between retries so fault tests finish quickly. Nothing here depends on the
# machine's speed: an attempt has seconds to answer on loopback, however loaded the machine,
# and no answer counts as slow (tests of slowness and of hangs set their own, lower limits).
FAST_PROBES = ProbeSettings(
    attempt_timeout_seconds=5.0,
    deadline_seconds=6.0,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
    retry_after_cap_seconds=2.0,
    breaker_threshold=3,
    breaker_reset_seconds=0.5,
    slow_threshold_ms=600_000,
)


MACHINE_LOCKS = ("/tmp/atom-health-pytest.lock", "/tmp/atom-health-pytest-2.lock")
MACHINE_LOCK_PATIENCE_SECONDS = 1200
_LOCK_KEY = pytest.StashKey[object]()


def pytest_configure(config: pytest.Config) -> None:
    """At most two pytest runs at a time on this machine (xdist workers run under their
    controller's turn): more runs side by side starve each other's real servers of CPU, and
    a starved server fails a test for no reason of its own. A run that waits says so; after
    the patience runs out it goes ahead anyway."""
    if hasattr(config, "workerinput"):
        return
    handles = [open(path, "a") for path in MACHINE_LOCKS]  # noqa: SIM115 - one is held
    deadline = time.monotonic() + MACHINE_LOCK_PATIENCE_SECONDS
    announced = False
    while time.monotonic() < deadline:
        for handle in handles:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue
            config.stash[_LOCK_KEY] = handle  # held until the process exits
            return
        if not announced:
            print("waiting for other atom-health pytest runs on this machine ...",
                  file=sys.stderr, flush=True)  # fmt: skip
            announced = True
        time.sleep(0.5)


def wait_for(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Poll ``condition`` until it is true; fail the test after ``timeout`` seconds."""

    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


@pytest.fixture(scope="session")
def simulator() -> Iterator[Simulator]:
    with Simulator() as running:
        yield running


@pytest.fixture(scope="session", autouse=True)
def process_env_points_at_simulator(simulator: Simulator) -> Iterator[None]:
    """Code that reads ``os.environ`` (the CLI) must also only ever reach the simulator."""
    urls = {k: v for k, v in simulator.environment().items() if k.startswith("ATOM_HEALTH_")}
    saved = {name: os.environ.get(name) for name in urls}
    os.environ.update(urls)
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def fresh_simulator(simulator: Simulator) -> Iterator[None]:
    yield
    simulator.reset()


@pytest.fixture
def sim_urls(simulator: Simulator) -> dict[str, str]:
    """Only the URL overrides: every provider is the simulator, no credential is set."""
    return {k: v for k, v in simulator.environment().items() if k.startswith("ATOM_HEALTH_")}


@pytest.fixture
def sim_credentials(simulator: Simulator) -> dict[str, str]:
    """The simulator's valid credentials, plus the variables that hold its URLs."""
    env = simulator.environment()
    return {k: v for k, v in env.items() if not k.startswith("ATOM_HEALTH_")}


@pytest.fixture
def environ(sim_urls: dict[str, str]) -> dict[str, str]:
    """The monitor's environment: read live, so tests add and remove variables at will."""
    return dict(sim_urls)


@pytest.fixture
def configured(environ: dict[str, str], sim_credentials: dict[str, str]) -> dict[str, str]:
    """The environment with the simulator's valid credentials for every provider."""
    environ.update(sim_credentials)
    return environ


async def check_once(monitor: HealthMonitor, service: str) -> ServiceHealth:
    """One check of ``service`` by a monitor opened and closed for it."""
    async with monitor:
        return await monitor.check(service)


@pytest.fixture
def make_monitor(environ: dict[str, str]) -> Callable[..., HealthMonitor]:
    def make(settings: Settings | None = None) -> HealthMonitor:
        # No refresh window: engine tests drive consecutive live checks themselves.
        chosen = settings or Settings(probes=FAST_PROBES, refresh_min_interval_seconds=0)
        return HealthMonitor(build_catalog(chosen, environ), settings=chosen, environ=environ)

    return make


@pytest.fixture
def monitor(make_monitor: Callable[..., HealthMonitor]) -> HealthMonitor:
    return make_monitor()


@pytest.fixture
def store() -> Store:
    return MemoryStore()


@pytest.fixture
def system(monitor: HealthMonitor, store: Store) -> HealthSystem:
    """The monitor with history in memory and no scheduler (tests drive checks themselves)."""
    return HealthSystem(
        monitor.settings, monitor.environ, monitor=monitor, store=store, scheduler=False
    )


@pytest.fixture
def server(system: HealthSystem) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(system)) as running:
        yield running


@pytest.fixture
def api(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client


assert set(FULL_ENV) <= set(CREDENTIALS) | {"JIRA_BASE_URL"}, (
    "FULL_ENV names a non-catalog variable"
)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    from tests.system_services import postgres_server

    with postgres_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    import uuid

    import psycopg

    name = f"test_{uuid.uuid4().hex[:12]}"
    plain = postgres_admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return postgres_admin_url.rsplit("/", 1)[0] + f"/{name}"


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (never a downloaded browser).

    Module-scoped: Playwright's sync driver runs an event loop until it stops, which
    would break asyncio tests in later modules.
    """

    from playwright.sync_api import sync_playwright

    from tests.system_services import ensure_package

    executable = ensure_package(
        lambda: Path(CHROMIUM) if Path(CHROMIUM).exists() else None, "chromium"
    )
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(executable), args=CHROMIUM_ARGS)
        yield launched
        launched.close()
