"""The classifier, table by table, and the mechanics it relies on (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from atom_health.catalog import build_catalog
from atom_health.checks.vendor_status import PARSERS, unknown
from atom_health.classify import attribute_to_vendor, check_status_for, classify, overall_status
from atom_health.config import Settings
from atom_health.model.results import (
    ApiAccessCheck,
    Category,
    CheckStatus,
    ConfigurationCheck,
    Status,
    VendorState,
    VendorStatus,
)
from atom_health.services.breaker import CircuitBreaker
from atom_health.services.http import parse_retry_after
from atom_health.services.rate_limit import TokenBucket
from atom_health.services.retry import RetryPolicy

CONFIGURED = ConfigurationCheck(
    status=CheckStatus.passed,
    configured=True,
    required_env_vars=["X"],
    present_env_vars=["X"],
    missing_env_vars=[],
    configuration_percentage=100,
)
NOT_CONFIGURED = CONFIGURED.model_copy(
    update={"status": CheckStatus.failed, "configured": False, "present_env_vars": [],
            "missing_env_vars": ["X"], "configuration_percentage": 0}
)  # fmt: skip


def vendor(state: VendorState, incidents: list[str] | None = None) -> VendorStatus:
    return VendorStatus(vendor="Acme", state=state, incidents=incidents or [], message="m")


def api(status: CheckStatus, category: Category | None = None) -> ApiAccessCheck:
    return ApiAccessCheck(status=status, message="Acme did something", category=category)


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        (Category.not_configured, CheckStatus.failed),
        (Category.credentials_rejected, CheckStatus.failed),
        (Category.permission_denied, CheckStatus.failed),
        (Category.rate_limited, CheckStatus.warn),
        (Category.timeout, CheckStatus.failed),
        (Category.dns, CheckStatus.failed),
        (Category.tls, CheckStatus.failed),
        (Category.connect, CheckStatus.failed),
        (Category.server_error, CheckStatus.failed),
        (Category.bad_response, CheckStatus.failed),
        (Category.vendor_outage, CheckStatus.failed),
    ],
)
def test_every_category_has_a_check_status(category: Category, expected: CheckStatus) -> None:
    assert check_status_for(category) is expected


@pytest.mark.parametrize(
    ("configuration", "api_access", "vendor_status", "expected"),
    [
        (NOT_CONFIGURED, None, None, Status.unhealthy),
        (NOT_CONFIGURED, api(CheckStatus.passed), None, Status.unhealthy),
        (CONFIGURED, None, None, Status.healthy),  # configuration-only request
        (CONFIGURED, api(CheckStatus.passed), None, Status.healthy),
        (CONFIGURED, api(CheckStatus.passed), vendor(VendorState.operational), Status.healthy),
        (CONFIGURED, api(CheckStatus.passed), vendor(VendorState.unknown), Status.healthy),
        (CONFIGURED, api(CheckStatus.passed), vendor(VendorState.degraded), Status.degraded),
        (CONFIGURED, api(CheckStatus.passed), vendor(VendorState.operational, ["x"]), Status.degraded),
        (CONFIGURED, api(CheckStatus.warn, Category.rate_limited), None, Status.degraded),
        (CONFIGURED, api(CheckStatus.warn), None, Status.degraded),
        (CONFIGURED, api(CheckStatus.skip), None, Status.degraded),
        (CONFIGURED, api(CheckStatus.failed, Category.credentials_rejected), None, Status.unhealthy),
        (CONFIGURED, api(CheckStatus.failed, Category.timeout), None, Status.unhealthy),
    ],
)  # fmt: skip
def test_classify(
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck | None,
    vendor_status: VendorStatus | None,
    expected: Status,
) -> None:
    assert classify(configuration, api_access, vendor_status) is expected


@pytest.mark.parametrize(
    ("category", "vendor_state", "becomes_vendor_outage"),
    [
        (Category.timeout, VendorState.outage, True),
        (Category.server_error, VendorState.degraded, True),
        (Category.connect, VendorState.outage, True),
        (Category.bad_response, VendorState.outage, True),
        (Category.credentials_rejected, VendorState.outage, False),  # our key, whatever they say
        (Category.dns, VendorState.outage, False),  # our network
        (Category.timeout, VendorState.operational, False),
        (Category.timeout, VendorState.unknown, False),  # an unreadable page proves nothing
    ],
)
def test_vendor_attribution(
    category: Category, vendor_state: VendorState, becomes_vendor_outage: bool
) -> None:
    result = attribute_to_vendor(api(CheckStatus.failed, category), vendor(vendor_state))

    assert (result.category is Category.vendor_outage) is becomes_vendor_outage
    if becomes_vendor_outage:
        assert "on Acme's side, not your configuration" in result.message


@pytest.mark.parametrize(
    ("statuses", "expected"),
    [
        ([], Status.unknown),
        ([Status.healthy, Status.healthy], Status.healthy),
        ([Status.healthy, Status.degraded], Status.degraded),
        ([Status.healthy, Status.unhealthy], Status.degraded),
        ([Status.degraded, Status.unhealthy], Status.unhealthy),
        ([Status.unhealthy], Status.unhealthy),
    ],
)
def test_overall_status(statuses: list[Status], expected: Status) -> None:
    assert overall_status(statuses) is expected


def integration(service: str) -> Any:
    found = build_catalog(Settings(), {}).get(service)
    assert found is not None
    return found


STATUSPAGE_INCIDENT = {
    "status": {"indicator": "minor", "description": "Minor Service Outage"},
    "components": [
        {"name": "API Requests", "status": "degraded_performance", "group": False},
        {"name": "Git Operations", "status": "operational"},
        {"name": "Group", "status": "partial_outage", "group": True},
    ],
    "incidents": [
        {"name": "Delays in webhooks", "status": "investigating"},
        {"name": "Old", "status": "resolved"},
    ],
    "scheduled_maintenances": [{"name": "DB upgrade", "status": "scheduled"}],
}


@pytest.mark.parametrize(
    ("service", "payload", "state", "incidents"),
    [
        ("github", STATUSPAGE_INCIDENT, VendorState.degraded, ["Delays in webhooks"]),
        ("github", {"status": {"indicator": "none", "description": "All Systems Operational"}},
         VendorState.operational, []),
        ("github", {"status": {"indicator": "critical"}}, VendorState.outage, []),
        ("slack", {"status": "ok", "active_incidents": []}, VendorState.operational, []),
        ("slack", {"status": "active", "active_incidents": [
            {"title": "Files slow", "type": "incident", "services": ["Files"]}]},
         VendorState.degraded, ["Files slow"]),
        ("slack", {"status": "active", "active_incidents": [
            {"title": "Down", "type": "outage", "services": ["Messaging"]}]},
         VendorState.outage, ["Down"]),
        ("slack", {"status": "active", "active_incidents": [{"title": "FYI", "type": "notice"}]},
         VendorState.operational, []),
        ("stripe", {"message": "All services are online.", "overallStatus": "up"},
         VendorState.operational, []),
        ("stripe", {"message": "API errors", "UptimeStatus": "degraded"}, VendorState.degraded,
         ["API errors"]),
        ("googledrive", [{"end": None, "severity": "high", "external_desc": "Drive down",
                          "affected_products": [{"title": "Google Drive"}]},
                         {"end": None, "severity": "high", "external_desc": "Gmail down",
                          "affected_products": [{"title": "Gmail"}]},
                         {"end": "2026-01-01", "external_desc": "Old",
                          "affected_products": [{"title": "Google Drive"}]}],
         VendorState.outage, ["Drive down"]),
    ],
)  # fmt: skip
def test_vendor_feeds_are_parsed(
    service: str, payload: Any, state: VendorState, incidents: list[str]
) -> None:
    entry = integration(service)

    result = PARSERS[entry.status_format](entry, "https://status.example", payload)

    assert (result.state, result.incidents) == (state, incidents)


def test_statuspage_details() -> None:
    result = PARSERS[integration("github").status_format](
        integration("github"), "https://status.example", STATUSPAGE_INCIDENT
    )

    assert [(c.name, c.status) for c in result.affected_components] == [
        ("API Requests", "degraded_performance")
    ]
    assert result.scheduled_maintenance == ["DB upgrade"]
    assert result.indicator == "minor"


def test_unreadable_status_page_is_unknown_and_not_trouble() -> None:
    result = unknown(integration("github"), "https://status.example", "it failed")

    assert result.state is VendorState.unknown
    assert not result.reports_trouble


def test_retry_policy() -> None:
    policy = RetryPolicy(max_retries=2, base_delay=0.1, max_delay=0.3, retry_after_cap=5)

    assert policy.should_retry(Category.server_error, 0)
    assert policy.should_retry(Category.rate_limited, 1)
    assert not policy.should_retry(Category.server_error, 2)  # bounded
    assert not policy.should_retry(Category.credentials_rejected, 0)
    assert not policy.should_retry(Category.permission_denied, 0)
    assert policy.delay(0, retry_after=3) == 3
    assert policy.delay(0, retry_after=60) == 5  # capped
    assert all(0 <= policy.delay(5, None) <= 0.3 for _ in range(100))  # jittered, capped


def test_retry_after_parsing() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    in_ten = format_datetime(datetime.now(UTC) + timedelta(seconds=10), usegmt=True)
    parsed = parse_retry_after(in_ten)
    assert parsed is not None
    assert 8 <= parsed <= 10


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_half_opens_and_closes() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(threshold=2, reset_after=10, clock=clock)

    breaker.record_failure(Category.timeout)
    assert breaker.allow()
    breaker.record_failure(Category.timeout)
    assert breaker.state == "open"
    assert not breaker.allow()
    assert breaker.snapshot().retry_in_seconds == 10

    clock.now = 10
    assert breaker.state == "half_open"
    assert breaker.allow()  # one trial
    assert not breaker.allow()  # and only one
    breaker.record_failure(Category.timeout)
    assert breaker.state == "open"  # a failed trial opens it again

    clock.now = 20
    assert breaker.allow()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.snapshot().consecutive_failures == 0


def test_token_bucket() -> None:
    clock = FakeClock()
    bucket = TokenBucket(requests=2, per_seconds=10, clock=clock)

    assert bucket.try_acquire()
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    assert bucket.wait_seconds() == pytest.approx(5)
    clock.now = 5
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
