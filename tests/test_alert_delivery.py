"""Alerts delivered to real receivers on loopback: a webhook and Slack-webhook recorder (the
signature is verified) and an SMTP server (aiosmtpd), with states driven by the simulator."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from atom_health.alerting.notifiers.webhook import signature
from atom_health.cli import app
from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, FULL_ENV, wait_for
from tests.receivers import SLOW_SECONDS, Mailbox, Receiver

WEBHOOK_SECRET = "whk-Secret-4f9Q2x7Lm"
SLACK_URL_VAR = "ALERTS_SLACK_WEBHOOK_URL"


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
            {"type": "webhook", "url": receiver.server.url + "/webhook", "secret_env": "ALERT_WEBHOOK_SECRET",
             "timeout_seconds": 30},
            {"type": "slack", "url_env": SLACK_URL_VAR, "routes": ["own", "vendor"], "timeout_seconds": 30},
            {"type": "email", "host": "127.0.0.1", "port": mailbox.port, "starttls": False,
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

    assert headers["idempotency-key"] == hook["idempotency_key"] != ""
    assert mail["Message-ID"] == f"<{hook['idempotency_key']}@atom-health>"

    wait_for(lambda: all(n["state"] == "delivered"
                         for n in alerts(alerting_app)["alerts"][0]["notifications"]))  # fmt: skip
    report = alerts(alerting_app)
    assert report["open_alerts"] == 1
    notifications = report["alerts"][0]["notifications"]
    assert {n["notifier"] for n in notifications} == {"webhook", "slack", "email", "log"}
    assert {n["idempotency_key"] for n in notifications} == {hook["idempotency_key"]}

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
    for _ in range(3):
        check(alerting_app, "zoom")

    def webhook() -> dict[str, Any]:
        (alert,) = alerts(alerting_app)["alerts"]
        found: dict[str, Any] = next(
            n for n in alert["notifications"] if n["notifier"] == "webhook"
        )
        return found

    wait_for(lambda: webhook()["attempts"] >= 2)
    assert webhook()["state"] == "pending"
    receiver.mode = "up"
    wait_for(lambda: receiver.bodies("/webhook"))
    wait_for(lambda: webhook()["state"] == "delivered")

    attempts = webhook()["deliveries"]
    assert attempts[0]["ok"] is False
    assert attempts[0]["error"] == "webhook answered HTTP 503"
    assert attempts[-1]["ok"] is True
    assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))


def test_a_slow_receiver_does_not_delay_checks(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    receiver.mode = "slow"
    simulator.set_fault("zoom", "reject")
    assert check(alerting_app, "zoom") < SLOW_SECONDS / 2
    assert check(alerting_app, "github") < SLOW_SECONDS / 2
    wait_for(lambda: receiver.bodies("/webhook"), timeout=30)


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
    assert alert["notifications"] == []  # the only notifier takes route "own"


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
    notifications = report["alerts"][0]["notifications"]
    assert {n["state"] for n in notifications} == {"silenced"}
    assert all("zoom upgrade" in n["last_error"] for n in notifications)
    assert all(n["deliveries"] == [] for n in notifications)
    time.sleep(0.5)
    assert receiver.posts == []


cli = CliRunner()


def run_cli(*args: str) -> Result:
    return cli.invoke(app, ["alerts", *args])


def test_acknowledge_silence_and_history_through_the_api_and_the_cli(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    simulator.set_fault("zoom", "reject")
    check(alerting_app, "zoom")
    wait_for(lambda: alerts(alerting_app)["open_alerts"] == 1)
    (opened,) = alerts(alerting_app)["alerts"]

    acked = run_cli(
        "ack", str(opened["id"]), "--author", "alice", "-m", "on it", "--url", alerting_app
    )
    assert acked.exit_code == 0, acked.output
    (mine,) = httpx.get(alerting_app + "/api/alerts", params={"state": "acknowledged"}).json()[
        "alerts"
    ]
    assert mine["acknowledged"]["by"] == "alice"
    assert mine["acknowledged"]["comment"] == "on it"
    missing = httpx.post(f"{alerting_app}/api/alerts/999/acknowledge", json={"author": "bob"})
    assert (missing.status_code, missing.json()["message"]) == (404, "No alert 999")
    nameless = httpx.post(f"{alerting_app}/api/alerts/{opened['id']}/acknowledge", json={})
    assert nameless.status_code == 422

    silenced = run_cli("silence", "slack", "--duration", "1h", "-m", "vendor work",
                       "--author", "alice", "--url", alerting_app)  # fmt: skip
    assert silenced.exit_code == 0, silenced.output
    listed = json.loads(run_cli("silences", "--json", "--url", alerting_app).output)["silences"]
    assert [(s["integrations"], s["created_by"], s["active"]) for s in listed] == [
        (["slack"], "alice", True)
    ]
    simulator.set_fault("slack", "reject")
    check(alerting_app, "slack")
    wait_for(
        lambda: httpx.get(alerting_app + "/api/alerts", params={"integration": "slack"}).json()[
            "total"
        ]
    )
    (slack,) = httpx.get(alerting_app + "/api/alerts", params={"integration": "slack"}).json()[
        "alerts"
    ]
    assert {n["state"] for n in slack["notifications"]} == {"silenced"}
    assert f"silence #{listed[0]['id']} by alice" in slack["notifications"][0]["last_error"]
    time.sleep(0.3)
    assert all(b["alert"]["key"] != "down:slack" for b in receiver.bodies())

    ended = run_cli("unsilence", str(listed[0]["id"]), "--url", alerting_app)
    assert ended.exit_code == 0, ended.output
    assert json.loads(run_cli("silences", "--json", "--url", alerting_app).output)["silences"] == []
    everything = run_cli("silences", "--expired", "--json", "--url", alerting_app).output
    assert json.loads(everything)["silences"][0]["active"] is False

    page = httpx.get(alerting_app + "/api/alerts", params={"limit": 1}).json()
    assert (page["total"], page["next_offset"], len(page["alerts"])) == (2, 1, 1)
    assert page["alerts"][0]["key"] == "down:slack"  # newest first
    assert (
        httpx.get(alerting_app + "/api/alerts", params={"state": "resolved"}).json()["total"] == 0
    )
    later = httpx.get(alerting_app + "/api/alerts", params={"since": "2100-01-01T00:00:00Z"})
    assert later.json()["total"] == 0
    table = run_cli("list", "--url", alerting_app)
    assert table.exit_code == 0
    assert "alice" in table.output  # acknowledged by
    shown = run_cli("show", str(opened["id"]), "--url", alerting_app)
    assert "webhook" in shown.output


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"integrations": ["myspace"], "duration": "1h"}, "Unknown integration: myspace"),
        ({"integrations": ["zoom"], "duration": "0m"}, "duration must be positive"),
        ({"integrations": ["zoom"]}, "give either duration"),
        ({"integrations": ["zoom"], "ends_at": "2001-01-01T00:00:00Z"}, "must end in the future"),
    ],
)
def test_bad_silences_are_refused_with_a_reason(
    api: httpx.Client, body: dict[str, Any], message: str
) -> None:
    answer = api.post("/api/alerts/silences", json={**body, "created_by": "bob", "comment": "x"})
    assert answer.status_code == 422
    assert message in answer.json()["message"]


def test_the_cli_explains_a_refusal_and_an_unreachable_server(api: httpx.Client) -> None:
    url = str(api.base_url)
    refused = run_cli("silence", "myspace", "-d", "1h", "-m", "x", "--url", url)
    assert refused.exit_code == 2
    assert "HTTP 422: Unknown integration: myspace" in refused.output
    gone = run_cli("list", "--url", "http://127.0.0.1:9")
    assert gone.exit_code == 2
    assert "cannot reach atom-health at http://127.0.0.1:9" in gone.output
    assert run_cli("silence", "zoom", "-m", "x", "--url", url).exit_code == 2  # no duration


def test_a_down_receiver_gets_everything_in_order_per_alert_when_back(
    alerting_app: str, receiver: Receiver, simulator: Simulator
) -> None:
    receiver.mode = "down"
    for fault in ("reject", None, None, "reject", None, None):
        simulator.set_fault("zoom", fault)
        check(alerting_app, "zoom")
    wait_for(lambda: len(alerts(alerting_app)["alerts"]) == 2)
    receiver.mode = "up"

    wait_for(lambda: len([b for b in receiver.bodies() if b["alert"]["key"] == "down:zoom"]) >= 4,
             timeout=30)  # fmt: skip
    by_alert: dict[int, list[str]] = {}
    for body in receiver.bodies():
        by_alert.setdefault(body["alert"]["id"], []).append(body["action"])
    assert list(by_alert.values()) == [["opened", "resolved"], ["opened", "resolved"]]


def test_atom_health_test_never_notifies_unless_asked(
    receiver: Receiver, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in FULL_ENV:
        monkeypatch.delenv(name, raising=False)  # zoom is not configured: a critical alert
    config = tmp_path / "atom.yaml"
    config.write_text(json.dumps({"alerting": {"notifiers": [
        {"type": "webhook", "url": receiver.server.url + "/webhook"}]}}))  # fmt: skip
    reports = ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html")]

    quiet = cli.invoke(app, ["test", "zoom", "--config", str(config), *reports])
    assert quiet.exit_code == 1, quiet.output
    assert receiver.posts == []  # and the in-process server is gone: nothing can follow

    loud = cli.invoke(app, ["test", "zoom", "--notify", "--config", str(config), *reports])
    assert loud.exit_code == 1, loud.output
    wait_for(lambda: receiver.bodies())
    assert receiver.bodies()[0]["alert"]["message"].endswith(
        "ZOOM_API_KEY and ZOOM_API_SECRET are missing"
    )


@pytest.mark.parametrize(
    "alerting_app",
    [{"outbox_limit": 10, "success_threshold": 1, "flapping": {"max_changes": 1000},
      "notifiers": [{"type": "webhook", "url": "http://127.0.0.1:9/down", "routes": ["own"]}]}],
    indirect=True,
)  # fmt: skip
def test_past_the_outbox_bound_the_oldest_drop_and_are_counted(
    alerting_app: str, simulator: Simulator
) -> None:
    for round_ in range(6):  # 12 events for a receiver that never answers; the bound is 10
        simulator.set_fault("zoom", "reject" if round_ % 2 == 0 else None)
        check(alerting_app, "zoom")
        simulator.set_fault("github", "reject" if round_ % 2 == 0 else None)
        check(alerting_app, "github")

    def dropped() -> list[dict[str, Any]]:
        body = httpx.get(alerting_app + "/api/alerts/notifications", params={"state": "dropped"})
        found: list[dict[str, Any]] = body.json()["notifications"]
        return found

    def counted() -> float:
        metrics = httpx.get(alerting_app + "/metrics").text
        found = re.search(
            r'^atom_health_alert_notifications_dropped_total\{notifier="webhook"\} (\S+)$',
            metrics,
            re.M,
        )
        return float(found[1]) if found else 0.0

    # at least the two past the bound (a slow machine may drop more); each one counted
    wait_for(lambda: len(dropped()) >= 2 and counted() == len(dropped()))
    # The oldest first, except one being sent (one per alert key at most): it is kept.
    every = httpx.get(alerting_app + "/api/alerts/notifications", params={"limit": 1000})
    ids = [n["id"] for n in every.json()["notifications"]]
    first_two = [n["id"] for n in dropped()][:2]
    assert first_two == sorted(first_two)
    assert set(first_two) <= set(sorted(ids)[:4])
