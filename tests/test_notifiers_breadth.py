"""PagerDuty Events v2 (native) and Apprise (any of its services, here its JSON target), each
against a real receiver on loopback, driven end to end by the simulator's faults."""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from atom_health.config import ConfigError, HistorySettings, SchedulerSettings, Settings
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from tests.conftest import FAST_PROBES, wait_for
from tests.receivers import PAGERDUTY_PATH, Receiver

ROUTING_KEY = "R0uting-Key-8c1f3e0a9b"
APPRISE_PASSWORD = "Appr1se-Pw-77xq"


@pytest.fixture
def app_url(
    receiver: Receiver, environ: dict[str, str], sim_credentials: dict[str, str]
) -> Iterator[str]:
    environ.update(sim_credentials)
    environ["PAGERDUTY_ROUTING_KEY"] = ROUTING_KEY
    port = receiver.server.port
    environ["ALERT_APPRISE_URLS"] = f"json://oncall:{APPRISE_PASSWORD}@127.0.0.1:{port}/apprise"
    settings = Settings.model_validate({"alerting": {
        "dashboard_url": "http://dashboard.example/",
        "success_threshold": 1,
        "delivery_backoff_max_seconds": 0.5,
        "notifiers": [
            {"type": "pagerduty", "routing_key_env": "PAGERDUTY_ROUTING_KEY",
             "url": receiver.server.url + "/pd"},
            {"type": "apprise", "url_env": "ALERT_APPRISE_URLS"},
        ],
    }}).model_copy(update={
        "probes": FAST_PROBES,
        "cache_ttl_seconds": 0,
        "refresh_min_interval_seconds": 0,  # each ?refresh=true is a new check
        "history": HistorySettings(database_url="memory://"),
        "scheduler": SchedulerSettings(enabled=False),
    })  # fmt: skip
    system = HealthSystem(settings, environ, store=MemoryStore())
    with ThreadedServer(system.web_app()) as server:
        yield server.url


def check(url: str, service: str) -> None:
    answer = httpx.get(f"{url}/api/{service}/health", params={"refresh": "true"}, timeout=10)
    assert answer.status_code == 200


def test_pagerduty_triggers_with_the_alert_key_and_resolving_closes_it(
    app_url: str, receiver: Receiver, simulator: Simulator
) -> None:
    simulator.set_fault("zoom", "reject")
    check(app_url, "zoom")  # critical: alerts at the first failure
    wait_for(lambda: receiver.bodies(PAGERDUTY_PATH), timeout=30)
    simulator.set_fault("zoom", None)
    check(app_url, "zoom")
    wait_for(lambda: len(receiver.bodies(PAGERDUTY_PATH)) == 2, timeout=30)

    trigger, resolve = receiver.bodies(PAGERDUTY_PATH)
    assert trigger["routing_key"] == resolve["routing_key"] == ROUTING_KEY
    assert trigger["dedup_key"] == resolve["dedup_key"] == "down:zoom"
    assert (trigger["event_action"], resolve["event_action"]) == ("trigger", "resolve")
    payload = trigger["payload"]
    assert payload["severity"] == "critical"
    assert payload["source"] == "atom-health"
    assert payload["component"] == "zoom"
    assert payload["summary"].startswith("🔴 Zoom is unhealthy: ")
    assert "ZOOM_API_KEY" in payload["summary"]  # the variable's name, never its value
    assert trigger["links"] == [
        {"href": "http://dashboard.example/", "text": "atom-health dashboard"}
    ]
    assert "payload" not in resolve


def test_apprise_delivers_through_its_json_target_without_leaking_the_url(
    app_url: str, receiver: Receiver, simulator: Simulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator.set_fault("stripe", "reject")
    check(app_url, "stripe")
    wait_for(lambda: receiver.bodies("/apprise"), timeout=30)

    (_path, headers, raw), *_ = [post for post in receiver.posts if post[0] == "/apprise"]
    body = json.loads(raw)
    assert body["title"].startswith("🔴 Stripe is unhealthy")
    assert "STRIPE_API_KEY" in body["message"]
    assert "http://dashboard.example/" in body["message"]
    assert body["type"] == "failure"
    expected = base64.b64encode(f"oncall:{APPRISE_PASSWORD}".encode()).decode()
    assert headers["authorization"] == f"Basic {expected}"  # the URL's credentials were used

    def apprise_deliveries() -> list[dict[str, Any]]:
        alerts = httpx.get(app_url + "/api/alerts").json()["alerts"]
        return [
            d
            for a in alerts
            for n in a["notifications"]
            for d in n["deliveries"]
            if d["notifier"] == "apprise"
        ]

    wait_for(apprise_deliveries, timeout=30)  # the attempt is recorded after the receiver's answer
    assert apprise_deliveries()[0]["ok"] is True
    alerts = httpx.get(app_url + "/api/alerts").json()["alerts"]
    everything = caplog.text + json.dumps(alerts)
    assert APPRISE_PASSWORD not in everything
    assert ROUTING_KEY not in everything


def test_notifier_settings_are_checked() -> None:
    with pytest.raises(ValueError, match=r"routing_key_env"):
        Settings.model_validate({"alerting": {"notifiers": [{"type": "pagerduty"}]}})


def test_apprise_without_its_extra_is_a_clear_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "apprise", None)
    settings = Settings.model_validate(
        {"alerting": {"notifiers": [{"type": "apprise", "url_env": "X_URLS"}]}}
    )
    with pytest.raises(ConfigError, match=r"optional extra \[apprise\]"):
        HealthSystem(settings, {}, store=MemoryStore(), scheduler=False)
