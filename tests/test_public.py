"""The public status page and badges: opted-in integrations only, no key, no internal detail."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser

from atom_health.catalog import build_catalog
from atom_health.config import ConfigError, HistorySettings, Settings, parse_settings
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.system import HealthSystem
from tests.conftest import FAST_PROBES, wait_for
from tests.test_dashboard import axe_findings, screenshot

PUBLIC = ["zoom", "slack", "stripe"]


@pytest.fixture
def public(simulator: Simulator) -> Iterator[httpx.Client]:
    """Zoom healthy, Slack's credentials rejected, Stripe with a vendor incident; the rest
    (Trello among them) not on the page."""
    simulator.set_fault("slack", "reject")
    simulator.set_fault("stripe", None, status_page="incident")
    settings = parse_settings(
        {"status_page": {"title": "Acme integrations", "integrations": PUBLIC}}, "test"
    ).model_copy(
        update={
            "probes": FAST_PROBES.model_copy(update={"slow_threshold_ms": 60_000}),
            "history": HistorySettings(database_url="memory://"),
        }
    )
    system = HealthSystem(settings, simulator.environment(), scheduler=False)
    with (
        ThreadedServer(system.web_app()) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        yield client


def test_status_page_shows_name_status_bars_and_vendor_incidents_only(
    public: httpx.Client,
) -> None:
    answer = public.get("/status")  # no key, no cookie

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["cache-control"] == "public, max-age=30"
    page = answer.text
    assert "Acme integrations" in page
    for name, status in (("zoom", "healthy"), ("slack", "unhealthy"), ("stripe", "degraded")):
        assert f'data-service="{name}" data-status="{status}"' in page
    assert page.count('class="service"') == 3
    assert "trello" not in page.lower()
    assert "Open incident reported by Stripe:" in page
    assert page.count("<span title=") == 3 * 30  # a bar per day for 30 days
    # No message, no variable name, no internal detail.
    catalog = build_catalog(Settings(), {})
    for integration in catalog:
        for variable in integration.required_env:
            assert variable not in page
    for internal in ("rejected", "credentials", "invalid_auth", "http://127.0.0.1", "category"):
        assert internal not in page


def test_badges_for_status_and_uptime_with_cache_headers(public: httpx.Client) -> None:
    healthy = public.get("/badge/zoom.svg")
    unhealthy = public.get("/badge/Slack.svg")  # names are case-insensitive, as everywhere
    wait_for(lambda: b"uptime 24h: 100%" in public.get("/badge/zoom/uptime/24h.svg").content)
    uptime = public.get("/badge/zoom/uptime/24h.svg")

    assert healthy.status_code == unhealthy.status_code == uptime.status_code == 200
    assert healthy.headers["content-type"] == "image/svg+xml"
    assert healthy.headers["cache-control"] == "public, max-age=60"
    assert uptime.headers["cache-control"] == "public, max-age=300"
    for answer, label in ((healthy, "Zoom: healthy"), (unhealthy, "Slack: unhealthy"),
                          (uptime, "uptime 24h: 100%")):  # fmt: skip
        svg = ET.fromstring(answer.content)
        assert svg.tag == "{http://www.w3.org/2000/svg}svg"
        assert svg.get("aria-label") == label
    for window in ("7d", "30d"):
        assert public.get(f"/badge/stripe/uptime/{window}.svg").status_code == 200


def test_integrations_not_on_the_page_have_no_badge_and_bad_input_is_clear(
    public: httpx.Client,
) -> None:
    hidden = public.get("/badge/trello.svg")
    unknown = public.get("/badge/myspace/uptime/24h.svg")
    window = public.get("/badge/zoom/uptime/1y.svg")

    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == {
        "ok": False, "service": "trello", "status": "unknown",
        "message": "Unknown integration: trello",
    }  # fmt: skip
    assert window.status_code == 422
    assert window.json()["detail"][0]["loc"] == ["path", "window"]


def test_status_page_lists_only_known_integrations() -> None:
    settings = parse_settings({"status_page": {"integrations": ["zoom", "myspace"]}}, "atom.yaml")

    with pytest.raises(ConfigError, match=r"atom\.yaml: status_page\.integrations: .* myspace"):
        HealthSystem(settings, {}, scheduler=False)


def test_status_page_in_chromium_is_accessible(public: httpx.Client, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 800, "height": 900})
    try:
        page.goto(str(public.base_url) + "/status")
        page.wait_for_selector(".service")
        assert axe_findings(page) == []
        screenshot(page, "status-page.png")
    finally:
        page.close()
