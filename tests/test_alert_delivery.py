"""Alerts delivered to real receivers on loopback: a webhook and Slack-webhook recorder (the
signature is verified) and an SMTP server (aiosmtpd), with states driven by the simulator."""

from __future__ import annotations

import asyncio
import email
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from atom_health.alerting.notifiers.webhook import signature
from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.serving import ThreadedServer, free_port
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, wait_for

WEBHOOK_SECRET = "whk-Secret-4f9Q2x7Lm"
SLACK_URL_VAR = "ALERTS_SLACK_WEBHOOK_URL"


class Receiver:
    """Records webhook and Slack-webhook posts; can be switched down or slow."""

    def __init__(self) -> None:
        self.posts: list[tuple[str, dict[str, str], bytes]] = []
        self.mode = "up"

        async def record(request: Request) -> JSONResponse:
            if self.mode == "slow":
                await asyncio.sleep(3)
            if self.mode == "down":
                return JSONResponse({"error": "down"}, status_code=503)
            self.posts.append((request.url.path, dict(request.headers), await request.body()))
            return JSONResponse({"ok": True})

        app = Starlette(routes=[Route("/webhook", record, methods=["POST"]),
                                Route("/slack", record, methods=["POST"])])  # fmt: skip
        self.server = ThreadedServer(app)

    def bodies(self, path: str) -> list[dict[str, Any]]:
        import json

        return [json.loads(body) for p, _, body in self.posts if p == path]


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    running = Receiver()
    with running.server:
        yield running


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port  # type: ignore[attr-defined]
    yield box
    controller.stop()


@pytest.fixture
def alerting_app(
    receiver: Receiver,
    mailbox: Mailbox,
    environ: dict[str, str],
    sim_credentials: dict[str, str],
    request: pytest.FixtureRequest,
) -> Iterator[str]:
    environ.update(sim_credentials)
    environ["ALERT_WEBHOOK_SECRET"] = WEBHOOK_SECRET
    environ[SLACK_URL_VAR] = receiver.server.url + "/slack"
    extra = getattr(request, "param", {})
    alerting = {
        "dashboard_url": "http://dashboard.example/",
        "delivery_backoff_max_seconds": 0.5,
        "notifiers": [
            {"type": "webhook", "url": receiver.server.url + "/webhook", "secret_env": "ALERT_WEBHOOK_SECRET"},
            {"type": "slack", "url_env": SLACK_URL_VAR, "routes": ["own", "vendor"]},
            {"type": "email", "host": "127.0.0.1", "port": mailbox.port, "starttls": False,  # type: ignore[attr-defined]
             "sender": "atom-health@example.com", "recipients": ["oncall@example.com"]},
            {"type": "log"},
        ],
        **extra,
    }  # fmt: skip
    settings = Settings.model_validate({"alerting": alerting}).model_copy(
        update={
            "probes": FAST_PROBES,
            "cache_ttl_seconds": 0,
            "refresh_min_interval_seconds": 0,
            "history": HistorySettings(database_url="memory://"),
            "scheduler": SchedulerSettings(enabled=False),
        }
    )
    system = HealthSystem(settings, environ, store=MemoryStore())
    with ThreadedServer(create_app(system)) as server:
        yield server.url


def check(url: str, service: str) -> float:
    started = time.monotonic()
    assert (
        httpx.get(f"{url}/api/{service}/health", params={"refresh": "true"}, timeout=10).status_code
        == 200
    )
    return time.monotonic() - started


def alerts(url: str) -> dict[str, Any]:
    body: dict[str, Any] = httpx.get(url + "/api/alerts").json()
    return body


def test_an_alert_reaches_every_notifier_signed_and_readable(
    alerting_app: str,
    receiver: Receiver,
    mailbox: Mailbox,
    simulator: Simulator,
    sim_credentials: dict[str, str],
) -> None:
    simulator.set_fault("zoom", "reject")
    check(alerting_app, "zoom")  # critical: alerts at the first failure

    wait_for(lambda: receiver.bodies("/webhook") and receiver.bodies("/slack") and mailbox.messages)
    _, headers, body = next(p for p in receiver.posts if p[0] == "/webhook")
    expected = signature(WEBHOOK_SECRET, headers["x-atom-health-timestamp"], body)
    assert headers["x-atom-health-signature"] == expected
    hook = receiver.bodies("/webhook")[0]
    assert (hook["action"], hook["alert"]["key"], hook["alert"]["severity"]) == (
        "opened",
        "down:zoom",
        "critical",
    )
    assert "ZOOM_API_KEY" in hook["alert"]["message"]
    slack = receiver.bodies("/slack")[0]
    assert slack["text"].startswith("🔴 Zoom is unhealthy")
    assert "http://dashboard.example/" in str(slack["blocks"])
    mail = mailbox.messages[0]
    assert "Zoom is unhealthy" in mail["Subject"]
    kinds = {part.get_content_type() for part in mail.walk()}
    assert {"text/plain", "text/html"} <= kinds

    report = alerts(alerting_app)
    assert report["open_alerts"] == 1
    notified = {d["notifier"] for d in report["alerts"][0]["deliveries"] if d["ok"]}
    assert notified == {"webhook", "slack", "email", "log"}

    everything = (
        str(receiver.posts) + "".join(m.as_string() for m in mailbox.messages) + str(report)
    )
    for secret in (WEBHOOK_SECRET, *sim_credentials.values()):
        if "://" not in secret:
            assert secret not in everything


def test_resolved_after_the_success_threshold(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    simulator.set_fault("zoom", "reject")
    check(alerting_app, "zoom")
    simulator.set_fault("zoom", None)
    check(alerting_app, "zoom")
    wait_for(lambda: len(receiver.bodies("/webhook")) == 1)
    check(alerting_app, "zoom")  # the second healthy check resolves

    wait_for(lambda: [b["action"] for b in receiver.bodies("/webhook")] == ["opened", "resolved"])
    assert alerts(alerting_app)["open_alerts"] == 0


def test_a_down_receiver_does_not_delay_checks_and_gets_the_alert_later(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    receiver.mode = "down"
    simulator.set_fault("zoom", "reject")
    durations = [check(alerting_app, "zoom") for _ in range(3)]
    assert max(durations) < 1.0  # checks never wait for notifiers

    wait_for(lambda: any(not d["ok"] for a in alerts(alerting_app)["alerts"] for d in a["deliveries"]
                         if d["notifier"] == "webhook"))  # fmt: skip
    receiver.mode = "up"
    wait_for(lambda: receiver.bodies("/webhook"))

    attempts = [
        d for d in alerts(alerting_app)["alerts"][0]["deliveries"] if d["notifier"] == "webhook"
    ]
    assert attempts[0]["ok"] is False
    assert attempts[0]["error"] == "webhook answered HTTP 503"
    assert attempts[-1]["ok"] is True
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))


def test_a_slow_receiver_does_not_delay_checks(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    receiver.mode = "slow"
    simulator.set_fault("zoom", "reject")
    assert check(alerting_app, "zoom") < 1.0
    assert check(alerting_app, "github") < 1.0
    wait_for(lambda: receiver.bodies("/webhook"), timeout=15)


@pytest.mark.parametrize(
    "alerting_app",
    [{"notifiers": [{"type": "webhook", "url": "http://127.0.0.1:1/webhook", "routes": ["own"]}]}],
    indirect=True,
)
def test_vendor_incidents_are_routed_apart(alerting_app: str, simulator: Simulator) -> None:
    simulator.set_fault("stripe", None, status_page="incident")
    check(alerting_app, "stripe")

    wait_for(lambda: alerts(alerting_app)["alerts"])
    (alert,) = alerts(alerting_app)["alerts"]
    assert (alert["kind"], alert["route"], alert["severity"]) == ("vendor", "vendor", "info")
    assert alert["deliveries"] == []  # the only notifier takes route "own"


NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    "alerting_app",
    [
        {
            "maintenance": [
                {
                    "name": "zoom upgrade",
                    "services": ["zoom"],
                    "start": (NOW - timedelta(hours=1)).isoformat(),
                    "end": (NOW + timedelta(hours=1)).isoformat(),
                }
            ]
        }
    ],
    indirect=True,
)
def test_maintenance_window_silences_delivery(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    simulator.set_fault("zoom", "reject")
    check(alerting_app, "zoom")

    wait_for(lambda: alerts(alerting_app)["alerts"])
    report = alerts(alerting_app)
    assert report["maintenance"] == ["zoom upgrade"]
    (delivery,) = report["alerts"][0]["deliveries"]
    assert delivery["notifier"] == "maintenance"
    assert "zoom upgrade" in delivery["error"]
    time.sleep(0.5)
    assert receiver.posts == []
