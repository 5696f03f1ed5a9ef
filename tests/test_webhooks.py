"""Webhook health: signature schemes (published test vectors), the host-app helpers
(FastAPI dependency, Flask decorator, atom-health's own receiver), the ``webhooks`` part of
the health answer, and the endpoint state the providers' APIs report (simulator)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest
from fastapi import Depends, FastAPI
from flask import Flask

from atom_health.catalog import build_catalog
from atom_health.checks.webhooks import Outcome, Verification, WebhookLedger, verify
from atom_health.config import Settings
from atom_health.frameworks.flask import AtomHealth
from atom_health.frameworks.flask_webhooks import verified_webhook as flask_verified
from atom_health.monitor import HealthMonitor
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem
from atom_health.web.webhooks import verified_webhook
from tests.conftest import FAST_PROBES
from tests.test_frameworks import WsgiServer
from tests.test_secrets import log_lines  # noqa: F401 - the fixture

CATALOG = build_catalog(Settings(), {})


def scheme(service: str):  # type: ignore[no-untyped-def]
    integration = CATALOG.get(service)
    assert integration is not None
    assert integration.webhook is not None
    return integration.webhook


# Published vectors (GitHub's docs, Slack's docs, HubSpot's official SDK tests), and values
# computed from each provider's documented construction (research notes, marked L there).
VECTORS = [
    ("github", "It's a Secret to Everybody", b"Hello, World!", "POST", "https://x.example/h",
     {"X-Hub-Signature-256": "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}, None),
    ("slack", "8f742231b10e8888abcd99yyyzzz85a5",
     b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
     b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
     b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
     b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c", "POST", "https://x.example/s",
     {"X-Slack-Signature": "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503",
      "X-Slack-Request-Timestamp": "1531420618"}, 1531420618),
    ("hubspot", "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", b"{'example_field':'example_value'}", "POST",
     "https://www.example.com/webhook_uri",
     {"X-HubSpot-Signature-v3": "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=",
      "X-HubSpot-Request-Timestamp": "15000000"}, 15000),
    ("stripe", "test_secret", b'{"id":"evt_1"}', "POST", "https://x.example/st",
     {"Stripe-Signature": "t=1700000000,v1=4c37aa57e00dc0b77c9d05fb2e7eef4029eaa8704fb4d1565722b3756924a01d"},
     1700000000),
    ("zoom", "test_secret", b'{"id":"evt_1"}', "POST", "https://x.example/z",
     {"x-zm-signature": "v0=648168589f1a2dc2b5c682268f07236da81ee1230d357405d1773400763dd7ee",
      "x-zm-request-timestamp": "1700000000"}, 1700000000),
    ("linear", "test_secret", b'{"id":"evt_1"}', "POST", "https://x.example/l",
     {"Linear-Signature": "c99dcd69e2f455a559a87dcb03ec937afb162c4907f8a198fff25e657028060d"}, None),
    ("xero", "test_secret", b'{"id":"evt_1"}', "POST", "https://x.example/x",
     {"x-xero-signature": "yZ3NaeL0VaVZqH3LA+yTevsWLEkH+KGY//JeZXAoBg0="}, None),
    ("quickbooks", "test_secret", b'{"id":"evt_1"}', "POST", "https://x.example/q",
     {"intuit-signature": "yZ3NaeL0VaVZqH3LA+yTevsWLEkH+KGY//JeZXAoBg0="}, None),
    ("trello", "test_secret", b'{"id":"evt_1"}', "POST", "https://example.com/trello",
     {"X-Trello-Webhook": "bpnUDl6dX55Z5NRmB4NvjzI4rQk="}, None),
]  # fmt: skip


@pytest.mark.parametrize(("service", "secret", "body", "method", "url", "headers", "now"), VECTORS)
def test_published_vectors_verify_and_a_changed_byte_does_not(
    service: str,
    secret: str,
    body: bytes,
    method: str,
    url: str,
    headers: dict[str, str],
    now: float | None,
) -> None:
    at = now if now is not None else time.time()
    good = verify(service, scheme(service), secret, method, url, headers, body, at)
    tampered = verify(service, scheme(service), secret, method, url, headers, body + b" ", at)
    wrong_key = verify(service, scheme(service), secret + "x", method, url, headers, body, at)

    assert good.outcome is Outcome.verified, good.message
    assert tampered.outcome is Outcome.bad_signature
    assert wrong_key.outcome is Outcome.bad_signature


def test_replays_outside_the_tolerance_are_refused() -> None:
    _, secret, body, method, url, headers, now = VECTORS[1]  # Slack, 5 minutes
    assert now is not None
    late = verify("slack", scheme("slack"), secret, method, url, headers, body, now + 301)
    early = verify("slack", scheme("slack"), secret, method, url, headers, body, now - 301)
    assert (late.outcome, early.outcome) == (Outcome.stale, Outcome.stale)
    assert "tolerance" in late.message


def stripe_signed(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    stamp = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Stripe-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def slack_signed(secret: str, body: bytes, at: float | None = None) -> dict[str, str]:
    stamp = str(int(at if at is not None else time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + stamp.encode() + b":" + body, hashlib.sha256)
    return {"X-Slack-Signature": "v0=" + digest.hexdigest(), "X-Slack-Request-Timestamp": stamp}


EVENT = json.dumps(
    {"id": "evt_1", "object": "event", "data": {"email": "pat@example.org"}}
).encode()


@pytest.fixture
def configured(environ: dict[str, str], sim_credentials: dict[str, str]) -> dict[str, str]:
    environ.update(sim_credentials)
    return environ


def health(api: httpx.Client, service: str) -> dict[str, object]:
    body = api.get(f"/api/{service}/health", params={"refresh": True}).json()
    assert isinstance(body, dict)
    return body


@pytest.mark.usefixtures("configured")
def test_a_delivery_signed_right_passes_and_is_recorded(
    api: httpx.Client, sim_credentials: dict[str, str]
) -> None:
    secret = sim_credentials["STRIPE_WEBHOOK_SECRET"]
    answer = api.post("/webhooks/stripe", content=EVENT, headers=stripe_signed(secret, EVENT))
    parts = health(api, "stripe")["services"]

    assert answer.status_code == 200, answer.text
    assert answer.json()["outcome"] == "verified"
    assert isinstance(parts, dict)
    hooks = parts["webhooks"]
    assert hooks["status"] == "pass"
    assert hooks["deliveries_last_hour"] == 1
    assert hooks["signature_failures_last_hour"] == 0
    assert hooks["last_verified_at"] is not None
    assert hooks["signing_secret_env"] == "STRIPE_WEBHOOK_SECRET"
    assert hooks["endpoint"]["state"] == "enabled"  # GET /v1/webhook_endpoints, status enabled
    assert (parts["api"]["status"], parts["auth"]["status"]) == ("pass", "pass")


@pytest.mark.usefixtures("configured")
def test_a_wrong_signing_secret_is_credentials_rejected_naming_the_variable(
    api: httpx.Client, sim_credentials: dict[str, str]
) -> None:
    for _ in range(3):
        answer = api.post(
            "/webhooks/stripe", content=EVENT, headers=stripe_signed("whsec_not_ours", EVENT)
        )
        assert answer.status_code == 401
    body = health(api, "stripe")
    hooks = body["services"]["webhooks"]  # type: ignore[index]

    assert answer.json()["outcome"] == "bad_signature"
    assert hooks["status"] == "fail"
    assert hooks["category"] == "credentials_rejected"
    assert "STRIPE_WEBHOOK_SECRET" in hooks["message"]
    assert hooks["signature_failures_last_hour"] == 3
    assert body["services"]["api"]["status"] == "pass"  # type: ignore[index]
    assert body["services"]["auth"]["status"] == "pass"  # type: ignore[index]
    assert sim_credentials["STRIPE_WEBHOOK_SECRET"] not in json.dumps(body)


@pytest.mark.usefixtures("configured")
def test_a_replay_outside_the_tolerance_and_an_unsigned_delivery_warn(
    api: httpx.Client, sim_credentials: dict[str, str]
) -> None:
    secret = sim_credentials["SLACK_SIGNING_SECRET"]
    replayed = api.post(
        "/webhooks/slack", content=EVENT, headers=slack_signed(secret, EVENT, time.time() - 600)
    )
    unsigned = api.post("/webhooks/slack", content=EVENT)
    hooks = health(api, "slack")["services"]["webhooks"]  # type: ignore[index]

    assert (replayed.status_code, replayed.json()["outcome"]) == (401, "stale")
    assert (unsigned.status_code, unsigned.json()["outcome"]) == (401, "unsigned")
    assert hooks["status"] == "warn"
    assert hooks["category"] is None  # not a wrong secret
    assert "1 unsigned" in hooks["message"]
    assert "1 stale" in hooks["message"]
    assert hooks["signature_failures_last_hour"] == 2


def test_the_receiver_answers_unknown_unschemed_and_unconfigured(
    api: httpx.Client, environ: dict[str, str]
) -> None:
    assert api.post("/webhooks/myspace", content=b"{}").status_code == 404
    assert api.post("/webhooks/salesforce", content=b"{}").status_code == 422
    no_secret = api.post("/webhooks/github", content=b"{}")
    assert no_secret.status_code == 503
    assert "GITHUB_WEBHOOK_SECRET" in no_secret.json()["message"]
    hooks = health(api, "github")["services"]["webhooks"]  # type: ignore[index]
    assert hooks["status"] == "skip"
    assert "GITHUB_WEBHOOK_SECRET" in hooks["message"]


@pytest.mark.usefixtures("configured")
def test_the_providers_report_of_our_endpoint_is_read(
    api: httpx.Client, environ: dict[str, str], simulator: Simulator
) -> None:
    simulator.set_webhook_state("stripe", "disabled")
    environ.update(
        GITHUB_WEBHOOK_SECRET="gh-hook-secret", GITHUB_WEBHOOK_OWNER="octo",
        GITHUB_WEBHOOK_REPO="hello", GITHUB_WEBHOOK_HOOK_ID="12345678",
    )  # fmt: skip
    simulator.set_webhook_state("github", "failing")
    stripe = health(api, "stripe")["services"]["webhooks"]  # type: ignore[index]
    github = health(api, "github")["services"]["webhooks"]  # type: ignore[index]

    assert (stripe["status"], stripe["endpoint"]["state"]) == ("warn", "disabled")
    assert "disabled" in stripe["message"]
    assert (github["status"], github["endpoint"]["state"]) == ("warn", "failing")
    assert "last 3 webhook deliveries" in github["message"]
    assert github["endpoint"]["source"].startswith("GET /repos/")

    simulator.set_webhook_state("github", "ok")
    github = health(api, "github")["services"]["webhooks"]  # type: ignore[index]
    assert github["endpoint"]["state"] == "ok"


def test_silence_beyond_the_expected_interval_warns() -> None:
    now = [1000.0]
    settings = Settings.model_validate(
        {"integrations": {"slack": {"webhook": {
            "secret": "SLACK_SIGNING_SECRET", "signature_header": "X-Slack-Signature",
            "prefix": "v0=", "signed": "v0:{timestamp}:{body}",
            "timestamp_header": "X-Slack-Request-Timestamp", "tolerance_seconds": 300,
            "expected_interval_seconds": 600}}}}
    )  # fmt: skip
    environ = {"SLACK_SIGNING_SECRET": "sig"}
    catalog = build_catalog(settings, environ)
    ledger = WebhookLedger(catalog.get, environ, clock=lambda: now[0])
    slack = catalog.get("slack")
    assert slack is not None

    assert ledger.part(slack).status == "skip"  # nothing yet, within the interval
    verdict = ledger.verify("slack", "POST", "https://x", slack_signed("sig", b"{}", now[0]), b"{}")
    assert verdict.ok
    assert ledger.part(slack).status == "pass"
    now[0] += 601
    quiet = ledger.part(slack)
    assert quiet.status == "warn"
    assert "601 s ago" in quiet.message
    assert "every 600 s" in quiet.message
    now[0] += 3600
    assert ledger.part(slack).deliveries_last_hour == 0


@pytest.fixture
def host_monitor(configured: dict[str, str]) -> HealthMonitor:
    settings = Settings(probes=FAST_PROBES)
    return HealthMonitor(build_catalog(settings, configured), settings=settings, environ=configured)


def test_fastapi_dependency_guards_the_host_route(
    host_monitor: HealthMonitor, sim_credentials: dict[str, str]
) -> None:
    app = FastAPI()

    @app.post("/hooks/stripe")
    async def receive(
        verdict: Verification = Depends(verified_webhook("stripe", monitor=host_monitor)),
    ) -> dict[str, str]:
        return {"handled": verdict.outcome.value}

    secret = sim_credentials["STRIPE_WEBHOOK_SECRET"]
    with ThreadedServer(app) as server:
        good = httpx.post(
            server.url + "/hooks/stripe", content=EVENT, headers=stripe_signed(secret, EVENT)
        )
        bad = httpx.post(
            server.url + "/hooks/stripe", content=EVENT, headers=stripe_signed("nope", EVENT)
        )
    stripe = host_monitor.catalog.get("stripe")
    assert stripe is not None

    assert (good.status_code, good.json()) == (200, {"handled": "verified"})
    assert (bad.status_code, bad.json()["detail"]["outcome"]) == (401, "bad_signature")
    part = host_monitor.webhooks.part(stripe)
    assert (part.deliveries_last_hour, part.signature_failures_last_hour) == (2, 1)


def test_flask_decorator_guards_the_host_view(
    configured: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    app = Flask("host")
    settings = Settings(probes=FAST_PROBES)
    system = HealthSystem(settings, configured, store=MemoryStore(), scheduler=False)
    extension = AtomHealth(app, settings=settings, system=system, environ=configured)

    @app.post("/hooks/slack")
    @flask_verified("slack")
    def receive() -> dict[str, str]:
        return {"handled": "yes"}

    secret = sim_credentials["SLACK_SIGNING_SECRET"]
    try:
        with WsgiServer(app) as server:
            good = httpx.post(
                server.url + "/hooks/slack", content=EVENT, headers=slack_signed(secret, EVENT)
            )
            bad = httpx.post(server.url + "/hooks/slack", content=EVENT)
            health_body = httpx.get(
                server.url + "/api/slack/health?refresh=true", timeout=10
            ).json()
    finally:
        extension.stop()

    assert (good.status_code, good.json()) == (200, {"handled": "yes"})
    assert (bad.status_code, bad.json()["detail"]["outcome"]) == (401, "unsigned")
    assert health_body["services"]["webhooks"]["deliveries_last_hour"] == 2


@pytest.mark.usefixtures("configured")
def test_no_secret_signature_or_body_in_any_log_line(
    api: httpx.Client,
    sim_credentials: dict[str, str],
    log_lines: list[str],  # noqa: F811 - the fixture imported above
) -> None:
    secret = sim_credentials["STRIPE_WEBHOOK_SECRET"]
    headers = stripe_signed(secret, EVENT)
    api.post("/webhooks/stripe", content=EVENT, headers=headers)
    api.post("/webhooks/stripe", content=EVENT, headers=stripe_signed("whsec_wrong_one", EVENT))
    health(api, "stripe")

    signature = headers["Stripe-Signature"].split("v1=")[1]
    for line in log_lines:
        for value in (secret, "whsec_wrong_one", signature, "pat@example.org"):
            assert value not in line, line
