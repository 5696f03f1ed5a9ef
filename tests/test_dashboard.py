"""The dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright),
against the app backed by the provider simulator. Screenshots go to artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, wait_for

ARTIFACTS = Path(__file__).parent.parent / "artifacts"


@contextmanager
def serve(environ: dict[str, str], interval: float) -> Iterator[ThreadedServer]:
    settings = Settings(
        # A loaded machine must not turn a check "slow" (degraded) and reorder rows.
        probes=FAST_PROBES.model_copy(update={"slow_threshold_ms": 60_000}),
        cache_ttl_seconds=0,
        refresh_min_interval_seconds=0,
        scheduler=SchedulerSettings(interval_seconds=interval, initial_spread_seconds=0.1),
        history=HistorySettings(database_url="memory://"),
    )
    system = HealthSystem(settings, environ, store=MemoryStore(), scheduler=True)
    with ThreadedServer(create_app(system)) as server:
        yield server


@pytest.fixture
def dashboard_env(simulator: Simulator) -> dict[str, str]:
    """Every provider valid but Trello (not configured) and Slack (credentials refused)."""
    env = simulator.environment()
    for name in ("TRELLO_API_KEY", "TRELLO_API_SECRET", "TRELLO_TOKEN"):
        env.pop(name)
    simulator.set_fault("slack", "reject")
    return env


@pytest.fixture
def live_app(dashboard_env: dict[str, str]) -> Iterator[ThreadedServer]:
    """The app with a fast scheduler: results stream to the page on their own."""
    with serve(dashboard_env, interval=0.5) as server:
        yield server


@pytest.fixture
def quiet_app(dashboard_env: dict[str, str]) -> Iterator[ThreadedServer]:
    """The app whose scheduler waits an hour after its first round: only "check now" checks."""
    with serve(dashboard_env, interval=3600) as server:
        yield server


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(browser: Browser, console_errors: list[str]) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = context.new_page()
    opened.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    opened.on("pageerror", lambda e: console_errors.append(str(e)))
    yield opened
    context.close()


def row_status(page: Page, service: str) -> str:
    return page.get_attribute(f'.row[data-service="{service}"]', "data-status") or ""


def wait_for_status(page: Page, service: str, status: str, timeout_ms: int = 8000) -> None:
    page.wait_for_selector(
        f'.row[data-service="{service}"][data-status="{status}"]', timeout=timeout_ms
    )


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_page_lists_every_integration_with_its_status(
    live_app: ThreadedServer, console_errors: list[str], page: Page
) -> None:
    page.goto(live_app.url + "/")
    wait_for_status(page, "slack", "unhealthy")
    wait_for_status(page, "zoom", "healthy")

    services = page.eval_on_selector_all(".row", "rows => rows.map(r => r.dataset.service)")
    assert sorted(services) == sorted(
        ["zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
         "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero"]
    )  # fmt: skip
    assert services[:4] == ["slack", "github", "stripe", "zoom"]  # critical first, worst first
    assert row_status(page, "trello") == "unhealthy"
    assert "Set TRELLO_API_KEY, TRELLO_API_SECRET" in page.inner_text('.row[data-service="trello"]')
    assert "✖ unhealthy" in page.inner_text('.row[data-service="slack"] .pill')
    for healthy in ("zoom", "stripe", "github", "dropbox", "xero"):
        assert row_status(page, healthy) == "healthy"
    assert page.inner_text("#count-unhealthy") == "2"
    assert page.inner_text("#connection") == "● Live"
    page.wait_for_selector('#alert-list li[data-severity="critical"]')  # Slack is critical: alerted
    assert "Slack is unhealthy" in page.inner_text("#alert-list")
    screenshot(page, "dashboard-main.png")
    assert console_errors == []


def test_a_fault_shows_on_the_open_page_without_reload(
    live_app: ThreadedServer, console_errors: list[str], page: Page, simulator: Simulator
) -> None:
    page.goto(live_app.url + "/")
    wait_for_status(page, "hubspot", "healthy")
    page.evaluate("window.__notReloaded = true")

    simulator.set_fault("hubspot", "reject")
    wait_for_status(page, "hubspot", "unhealthy", timeout_ms=5000)
    simulator.set_fault("hubspot", None)
    wait_for_status(page, "hubspot", "healthy", timeout_ms=5000)

    assert page.evaluate("window.__notReloaded") is True
    assert console_errors == []


def test_check_now_updates_the_row(
    quiet_app: ThreadedServer, console_errors: list[str], page: Page, simulator: Simulator
) -> None:
    page.goto(quiet_app.url + "/")
    wait_for_status(page, "linear", "healthy")
    simulator.set_fault("linear", "reject")

    page.click('.row[data-service="linear"] .check-now')

    wait_for_status(page, "linear", "unhealthy", timeout_ms=5000)
    assert "LINEAR_API_KEY" in page.inner_text('.row[data-service="linear"] .message')
    assert console_errors == []


def test_detail_view_shows_history_and_incidents(
    live_app: ThreadedServer, console_errors: list[str], page: Page, simulator: Simulator
) -> None:
    page.goto(live_app.url + "/")
    wait_for_status(page, "stripe", "healthy")
    simulator.set_fault("stripe", "server_error", status_page="incident")
    wait_for_status(page, "stripe", "unhealthy")
    simulator.set_fault("stripe", None)
    wait_for_status(page, "stripe", "healthy")
    history = live_app.url + "/api/integrations/stripe/history"
    wait_for(lambda: len(httpx.get(history).json()["items"]) >= 3)  # the recorder writes in batches

    page.click('.row[data-service="stripe"] .row-link')
    page.wait_for_selector("#detail-incidents tbody tr")

    assert page.inner_text("#detail-title") == "Stripe"
    incidents = page.inner_text("#detail-incidents tbody")
    assert "vendor_outage" in incidents
    results = page.query_selector_all("#detail-results tbody tr")
    assert len(results) >= 3
    assert page.query_selector("#detail-chart polyline") is not None
    assert "STRIPE_API_KEY" in page.inner_text("#detail-config")
    assert page.inner_text("#detail-vendor")
    screenshot(page, "dashboard-detail.png")

    page.click("#detail-check")
    page.wait_for_selector("#detail-check:not([disabled])")
    page.click("a.back")
    page.wait_for_selector("#list-view:not([hidden])")
    assert console_errors == []


def visible_rows(page: Page) -> list[str]:
    """Services of the rows a person can see (laid out, not display:none), in page order."""
    rows = page.locator(".row")
    return [
        rows.nth(i).get_attribute("data-service") or ""
        for i in range(rows.count())
        if rows.nth(i).is_visible()
    ]


def test_search_and_status_filter_show_only_matching_rows(
    live_app: ThreadedServer, page: Page
) -> None:
    page.goto(live_app.url + "/")
    wait_for_status(page, "slack", "unhealthy")
    wait_for_status(page, "trello", "unhealthy")
    assert len(visible_rows(page)) == 14

    page.click("#search")
    page.keyboard.type("goo")
    page.wait_for_function("document.querySelectorAll('.row:not([hidden])').length === 1")
    assert visible_rows(page) == ["googledrive"]
    assert page.inner_text("#shown-count") == "Showing 1 of 14"

    page.fill("#search", "")
    page.keyboard.type("zzz")
    page.wait_for_selector("#empty", state="visible")
    assert visible_rows(page) == []

    page.fill("#search", "")
    page.select_option("#status-filter", "unhealthy")
    page.wait_for_function("document.querySelectorAll('.row:not([hidden])').length === 2")
    assert sorted(visible_rows(page)) == ["slack", "trello"]
    assert page.locator("#empty").is_hidden()

    page.click("#search")
    page.keyboard.type("sla")  # both filters at once
    page.wait_for_function("document.querySelectorAll('.row:not([hidden])').length === 1")
    assert visible_rows(page) == ["slack"]

    page.fill("#search", "")
    page.select_option("#status-filter", "")
    page.wait_for_function("document.querySelectorAll('.row:not([hidden])').length === 14")
    assert len(visible_rows(page)) == 14


def test_live_result_re_sorts_rows_and_redraws_the_uptime_bar(
    live_app: ThreadedServer, console_errors: list[str], page: Page, simulator: Simulator
) -> None:
    page.goto(live_app.url + "/")
    wait_for_status(page, "hubspot", "healthy")
    page.wait_for_selector('.row[data-service="hubspot"] .bar rect.ok', state="attached")
    page.evaluate("window.__notReloaded = true")

    simulator.set_fault("hubspot", "reject")
    wait_for_status(page, "hubspot", "unhealthy")
    # Unhealthy normal rows come before every healthy one, alphabetically (HubSpot < Trello).
    page.wait_for_function(
        """() => {
          const rows = [...document.querySelectorAll('.row[data-critical="0"]')];
          return rows[0].dataset.service === 'hubspot' && rows[1].dataset.service === 'trello';
        }"""
    )
    # The current hour's segment now counts failed checks: no longer fully up.
    page.wait_for_selector(
        '.row[data-service="hubspot"] .bar rect:last-child:is(.warn, .bad)',
        state="attached",  # bars are redrawn as results stream in
        timeout=10000,
    )
    label = page.get_attribute('.row[data-service="hubspot"] .bar', "aria-label") or ""
    assert label.startswith("HubSpot uptime 24h: ")
    assert not label.endswith("100.00 %")
    assert page.evaluate("window.__notReloaded") is True
    assert console_errors == []


def axe_findings(page: Page) -> list[str]:
    """Serious and critical axe-core findings on the page as it is now (axe from PyPI)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at "
        + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_no_serious_accessibility_findings(
    live_app: ThreadedServer, browser: Browser, scheme: str
) -> None:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(live_app.url + "/")
        wait_for_status(page, "slack", "unhealthy")
        page.wait_for_selector(".row .bar svg")
        assert axe_findings(page) == []

        page.click('.row[data-service="stripe"] .row-link')
        page.wait_for_selector("#detail-results tbody tr")
        assert axe_findings(page) == []

        page.set_viewport_size({"width": 390, "height": 844})
        assert axe_findings(page) == []  # the detail view on a phone (tables scroll)
        page.click("a.back")
        page.wait_for_selector("#list-view:not([hidden])")
        assert axe_findings(page) == []
    finally:
        context.close()


def test_dark_mode_follows_the_system_and_the_toggle_wins(
    live_app: ThreadedServer, browser: Browser
) -> None:
    context = browser.new_context(color_scheme="dark")
    page = context.new_page()
    background = "getComputedStyle(document.documentElement).backgroundColor"
    try:
        page.goto(live_app.url + "/")
        page.wait_for_selector(".row")
        assert page.evaluate(background) == "rgb(13, 17, 23)"  # dark, from the system
        assert page.get_attribute("#theme-toggle", "aria-pressed") == "true"
        screenshot(page, "dashboard-dark.png")

        page.click("#theme-toggle")
        assert page.evaluate(background) == "rgb(246, 248, 250)"  # light, chosen
        assert page.get_attribute("#theme-toggle", "aria-pressed") == "false"

        page.reload()  # the choice is remembered
        page.wait_for_selector(".row")
        assert page.evaluate(background) == "rgb(246, 248, 250)"
    finally:
        context.close()


def test_phone_shows_all_integrations_in_about_two_screens(
    live_app: ThreadedServer, browser: Browser
) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        page.goto(live_app.url + "/")
        wait_for_status(page, "slack", "unhealthy")
        page.wait_for_selector('#alert-list li[data-severity="critical"]')
        bottom = page.evaluate(
            "Math.max(...[...document.querySelectorAll('.row')]"
            ".map(r => r.getBoundingClientRect().bottom + window.scrollY))"
        )
        assert bottom <= 2 * 844, f"the 14 rows end at {bottom}px: more than two screens"
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(page, "dashboard-phone-list.png")
    finally:
        context.close()


def test_phone_width_and_lost_connection_message(live_app: ThreadedServer, page: Page) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    page.route("**/api/events", lambda route: route.abort())
    page.goto(live_app.url + "/")
    page.wait_for_selector(".row")

    page.wait_for_selector('#connection[data-state="lost"]')
    assert "reconnecting" in page.inner_text("#connection")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390  # nothing overflows sideways
    screenshot(page, "dashboard-phone.png")


def test_disabled_integrations_and_maintenance_show_live(
    quiet_app: ThreadedServer, console_errors: list[str], page: Page
) -> None:
    page.goto(quiet_app.url + "/")
    wait_for_status(page, "zoom", "healthy")
    manage = f"{quiet_app.url}/api/manage"

    httpx.patch(f"{manage}/integrations/zoom", json={"enabled": False}).raise_for_status()
    page.wait_for_selector('.row[data-service="zoom"]', state="detached", timeout=8000)
    page.wait_for_selector("#disabled:not([hidden])", timeout=8000)
    assert "zoom" in page.text_content("#disabled")

    window = {"name": "db-move", "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
    httpx.post(f"{manage}/maintenance", json=window).raise_for_status()
    page.wait_for_selector("#maintenance:not([hidden])", timeout=8000)
    assert "db-move" in page.text_content("#maintenance")

    httpx.patch(f"{manage}/integrations/zoom", json={"enabled": True}).raise_for_status()
    page.wait_for_selector('.row[data-service="zoom"]', timeout=8000)
    page.wait_for_selector("#disabled", state="hidden", timeout=8000)
    assert console_errors == []


def test_detail_view_lists_alerts_and_acknowledges_and_silences(
    quiet_app: ThreadedServer, console_errors: list[str], page: Page, simulator: Simulator
) -> None:
    page.goto(quiet_app.url + "/#/integration/slack")  # Slack is critical and refused: alerted
    page.wait_for_selector("#detail-alerts tbody tr button.ack")
    assert "Slack is unhealthy" in page.inner_text("#detail-alerts tbody")
    # Without a result cache, opening the view checks Slack once; the live result it causes
    # must not read the answer again (a check, a result, a reload, ...: a loop).
    calls = simulator.state("slack")["api_requests"]
    page.wait_for_timeout(4000)
    assert simulator.state("slack")["api_requests"] - calls <= 1

    page.click("#detail-alerts button.ack")
    assert page.inner_text("#alert-note") == "Enter your name first."
    page.fill("#alert-author", "alice")
    page.fill("#alert-comment", "rotating the token")
    page.click("#detail-alerts button.ack")
    expect(page.locator("#detail-alerts tbody")).to_contain_text(
        "acknowledged by alice", timeout=30_000
    )

    page.select_option("#silence-duration", "4h")
    page.click("#silence-button")
    page.wait_for_selector("#detail-silences li")
    assert "alice: rotating the token" in page.inner_text("#detail-silences")
    screenshot(page, "dashboard-detail-alerts.png")
    page.click("#detail-silences button.end-silence")
    expect(page.locator("#alert-note")).to_have_text("Silence ended", timeout=30_000)
    expect(page.locator("#detail-silences li")).to_have_count(0, timeout=30_000)
    assert console_errors == []
