"""The dialects read answers by catalog data: codes kept, success judged by meaning."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from atom_health.catalog import build_catalog
from atom_health.catalog.probe_spec import ExpectSpec, SandboxSpec
from atom_health.checks import dialects
from atom_health.checks.dialects import oauth
from atom_health.checks.lifecycle import jwt_expiry, sandbox_marker
from atom_health.config import Settings
from atom_health.services.http import Reply, parse_moment, parse_retry_after, status_failure


def reply(body: Any, status: int = 200, **headers: str) -> Reply:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(status=status, headers=headers, body=raw, latency_ms=1.0)


def expect_of(service: str, probe: int = 0) -> ExpectSpec:
    integration = build_catalog(Settings(), {}).get(service)
    assert integration is not None
    request = integration.probes[probe].request
    assert request is not None
    return request.expect


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ("upgrade_required", "bad_response"),
        ("request_timeout", "bad_response"),
        ("not_allowed_token_type", "permission_denied"),
        ("ratelimited", "rate_limited"),
        ("fatal_error", "server_error"),
        ("some_new_code", "bad_response"),
    ],
)
def test_slack_codes_are_kept_and_mapped(code: str, category: str) -> None:
    failure = dialects.interpret(reply({"ok": False, "error": code}), expect_of("slack"))

    assert failure is not None
    assert (failure.category, failure.code) == (category, code)
    assert code in failure.detail


@pytest.mark.parametrize(
    ("service", "body", "meaning"),
    [
        ("xero", [], "no organisation is connected"),
        ("xero", {"id": 1}, "where an array is expected"),
        ("hubspot", "a JSON string", "JSON string where an object is expected"),
        ("stripe", {"object": "charge"}, "'object' is not 'balance'"),
        ("dropbox", {"result": "something else"}, "'result' is not 'atom-health'"),
        ("linear", {"data": {"viewer": None}}, "'data.viewer.id'"),
    ],
)
def test_success_is_judged_by_meaning(service: str, body: Any, meaning: str) -> None:
    failure = dialects.interpret(reply(body), expect_of(service))

    assert failure is not None
    assert meaning in failure.detail


def test_graphql_codes_read_from_extensions_type_too() -> None:
    body = {"errors": [{"message": "x", "extensions": {"type": "usage limit exceeded"}}]}

    failure = dialects.interpret(reply(body), expect_of("linear"))

    assert failure is not None
    assert (failure.category, failure.code) == ("permission_denied", "usage limit exceeded")


def test_a_graphql_rate_limit_in_a_200_body_carries_its_wait() -> None:
    body = {"errors": [{"message": "x", "extensions": {"code": "RATELIMITED"}}]}

    failure = dialects.interpret(reply(body, **{"Retry-After": "7"}), expect_of("linear"))

    assert failure is not None
    assert (failure.category, failure.retry_after) == ("rate_limited", 7)


def test_a_provider_message_never_becomes_the_code() -> None:
    body = {"message": "Bad credentials: token ghp_secretvalue is revoked"}

    failure = dialects.interpret(reply(body, 401), expect_of("github"))

    assert failure is not None
    assert failure.code is None
    assert "ghp_" not in failure.detail


def test_retry_after_forms() -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    assert parse_retry_after("12") == 12
    http_date = parse_retry_after(format_datetime(soon, usegmt=True))
    assert http_date is not None
    assert 25 < http_date <= 30
    iso = parse_retry_after(soon.strftime("%Y-%m-%dT%H:%M:%SZ"))  # Zoom's documented form
    assert iso is not None
    assert 25 < iso <= 30
    epoch = status_failure(
        reply(
            {},
            403,
            **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time()) + 30)},
        )
    )
    assert epoch is not None
    assert epoch.retry_after is not None
    assert 25 < epoch.retry_after <= 30


@pytest.mark.parametrize(
    ("value", "form", "expected"),
    [
        ("1795000000", "epoch_seconds", datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)),
        ("1795000000000", "auto", datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)),
        ("2026-11-18T09:06Z", "iso8601", datetime(2026, 11, 18, 9, 6, tzinfo=UTC)),
        ("2026-11-18 11:06:40 UTC", "auto", datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)),
        ("not a time", "auto", None),
    ],
)
def test_moments_in_each_providers_form(value: str, form: Any, expected: datetime | None) -> None:
    assert parse_moment(value, form) == expected


def _jwt(claims: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.c2ln"


def test_jwt_expiry_is_read_without_verifying() -> None:
    assert jwt_expiry(_jwt({"exp": 1795000000})) == datetime(2026, 11, 18, 11, 6, 40, tzinfo=UTC)
    assert jwt_expiry(_jwt({"sub": "x"})) is None
    assert jwt_expiry("xoxb-not-a-jwt") is None
    assert jwt_expiry("eyJ.not.json") is None


def test_test_mode_markers() -> None:
    spec = SandboxSpec(
        prefixes={"KEY": ["sk_test_"]},
        answer_equals={"livemode": False},
        base_url_contains=["sandbox-quickbooks"],
    )
    values = {"KEY": "sk_live_abc"}.get

    def value(name: str) -> str:
        return values(name) or ""

    assert (
        sandbox_marker(spec, lambda n: "sk_test_1", str.lower, None, {}) == "key holds a test key"
    )
    assert sandbox_marker(spec, value, str, None, {"livemode": False}) is not None
    assert (
        sandbox_marker(spec, value, str, "https://sandbox-quickbooks.api.intuit.com", {})
        is not None
    )
    assert (
        sandbox_marker(spec, value, str, "https://quickbooks.api.intuit.com", {"livemode": True})
        is None
    )


def test_status_page_text_is_capped_and_stripped_of_control_characters() -> None:
    from atom_health.checks.vendor_status import parse_statuspage

    integration = build_catalog(Settings(), {}).get("github")
    assert integration is not None
    title = "Outage\x1b[31m <b>now</b>\x00 " + "x" * 500
    page = {
        "status": {"indicator": "major", "description": "Partial"},
        "components": [],
        "incidents": [{"name": title, "status": "investigating"}],
        "scheduled_maintenances": [],
    }

    vendor = parse_statuspage(integration, "https://status.example", page)

    shown = vendor.incidents[0]
    assert len(shown) <= 200
    assert "\x1b" not in shown
    assert "\x00" not in shown


@pytest.mark.parametrize(
    ("service", "code", "category"),
    [
        ("salesforce", "invalid_grant", "not_configured"),  # no run-as user in the app
        ("salesforce", "invalid_client", "credentials_rejected"),
        ("xero", "invalid_scope", "not_configured"),
        ("googledrive", "invalid_grant", "credentials_rejected"),  # refresh token revoked
    ],
)
def test_token_endpoint_codes_with_a_meaning_of_their_own(
    service: str, code: str, category: str
) -> None:
    integration = build_catalog(Settings(), {}).get(service)
    assert integration is not None
    grant = integration.probes[0].grant
    assert grant is not None

    failure = oauth.interpret(reply({"error": code}, 400), grant)

    assert failure is not None
    assert (failure.category, failure.code) == (category, code)


def test_status_page_summary_is_in_our_words() -> None:
    from atom_health.checks.vendor_status import parse_statuspage

    integration = build_catalog(Settings(), {}).get("github")
    assert integration is not None
    page = {
        "status": {"indicator": "major", "description": "Partial System Outage"},
        "components": [],
        "incidents": [{"name": "Webhooks delayed for org acme", "status": "investigating"}],
        "scheduled_maintenances": [],
    }

    vendor = parse_statuspage(integration, "https://status.example", page)

    assert vendor.incidents == ["Webhooks delayed for org acme"]  # kept where it belongs
    assert vendor.message == "GitHub reports outage, 1 open incident on its status page"
