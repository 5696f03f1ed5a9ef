"""Diagnosis depth against the simulator, table-driven per provider: quota headroom,
permission dialects, Retry-After in every form, credential lifecycle, test keys."""

from __future__ import annotations

import hashlib
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atom_health.config import ConfigError, Settings
from atom_health.config.installation_key import installation_key
from atom_health.monitor import HealthMonitor
from atom_health.simulator import Simulator
from tests.conftest import FAST_PROBES
from tests.conftest import check_once as check

pytestmark = pytest.mark.usefixtures("configured")

QUOTA_PROVIDERS = ["github", "salesforce", "zoom", "trello", "hubspot", "jira", "linear", "xero"]
RESETS_REPORTED = {"github", "jira", "linear"}


@pytest.mark.parametrize("service", QUOTA_PROVIDERS)
async def test_full_quota_is_reported_and_healthy(monitor: HealthMonitor, service: str) -> None:
    result = await check(monitor, service)

    quota = result.checks.api_access.quota
    assert result.status == "healthy", result.message
    assert quota is not None
    assert quota.limit is not None
    assert 0 < quota.remaining < quota.limit


@pytest.mark.parametrize("service", QUOTA_PROVIDERS)
async def test_spent_quota_is_rate_limited_with_its_reset(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, "quota_spent")

    result = await check(monitor, service)

    api = result.checks.api_access
    assert (result.status, api.status, api.category) == ("degraded", "warn", "rate_limited")
    assert api.quota is not None
    assert api.quota.remaining == 0
    assert "quota is spent" in api.message
    if service in RESETS_REPORTED:
        assert api.quota.resets_at is not None
        assert api.quota.resets_at > datetime.now(UTC)
        assert "resets at" in api.message


@pytest.mark.parametrize("service", QUOTA_PROVIDERS)
async def test_low_quota_warns_below_the_configured_share(
    make_monitor: object, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, "quota_low")  # 5 % left

    warned = await check(make_monitor(), service)  # type: ignore[operator]
    relaxed = Settings(probes=FAST_PROBES.model_copy(update={"quota_warn_share": 0.01}))
    simulator.set_fault(service, "quota_low")
    fine = await check(make_monitor(relaxed), service)  # type: ignore[operator]

    api = warned.checks.api_access
    assert (warned.status, api.status, api.category) == ("degraded", "warn", None)
    assert "quota is low" in api.message
    assert api.quota is not None
    assert 0 < api.quota.remaining < api.quota.limit / 10  # type: ignore[operator]
    assert fine.status == "healthy", fine.message


# provider -> (the provider's code, the scopes it names as missing)
PERMISSION_DIALECTS = {
    "zoom": ("4711", ["user:read:user", "user:read:user:admin"]),
    "notion": ("restricted_resource", []),
    "trello": ("unauthorized permission requested", []),
    "stripe": ("invalid_request_error", []),
    "quickbooks": ("3100", []),
    "github": (None, []),
    "salesforce": ("API_DISABLED_FOR_ORG", []),
    "googledrive": (
        "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
        ["https://www.googleapis.com/auth/drive.metadata.readonly"],
    ),
    "dropbox": ("missing_scope", ["account_info.read"]),
    "slack": ("missing_scope", ["users:read"]),
    "hubspot": ("MISSING_SCOPES", ["crm.objects.contacts.read"]),
    "jira": ("scope does not match", []),
    "linear": ("FORBIDDEN", []),
    "xero": ("AuthorizationUnsuccessful", []),
}


@pytest.mark.parametrize("service", list(PERMISSION_DIALECTS))
async def test_each_permission_dialect_is_permission_denied(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    code, scopes = PERMISSION_DIALECTS[service]
    simulator.set_fault(service, "missing_scope")

    result = await check(monitor, service)

    api = result.checks.api_access
    assert (result.status, api.category) == ("unhealthy", "permission_denied"), api.message
    assert api.provider_code == code
    if code is not None:
        assert code in api.message
    if scopes:
        assert api.scopes is not None
        assert api.scopes.missing == scopes
        assert all(scope in api.message for scope in scopes)
    assert api.attempts == 1  # a refusal is never retried


async def test_slack_wrong_token_type_is_permission_denied(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("slack", "wrong_token_type")

    api = (await check(monitor, "slack")).checks.api_access

    assert (api.category, api.provider_code) == ("permission_denied", "not_allowed_token_type")
    assert "not_allowed_token_type" in api.message


# provider -> (the scopes its simulated token was granted, a needed scope it lacks)
GRANTED = {
    "github": (["read:user", "repo"], "admin:org"),
    "slack": (["chat:write", "channels:read", "users:read"], "files:write"),
}


@pytest.mark.parametrize("service", list(GRANTED))
async def test_needed_scopes_not_granted_are_named(
    make_monitor: object, simulator: Simulator, service: str
) -> None:
    granted, lacking = GRANTED[service]
    needed = [granted[0], lacking]
    settings = Settings.model_validate(
        {"probes": FAST_PROBES.model_dump(), "integrations": {service: {"needed_scopes": needed}}}
    )
    enough = Settings.model_validate(
        {"probes": FAST_PROBES.model_dump(), "integrations": {service: {"needed_scopes": granted}}}
    )

    result = await check(make_monitor(settings), service)  # type: ignore[operator]
    fine = await check(make_monitor(enough), service)  # type: ignore[operator]

    api = result.checks.api_access
    assert api.scopes is not None
    assert api.scopes.granted == granted
    assert api.scopes.needed == needed
    assert api.scopes.missing == [lacking]
    assert (result.status, api.category) == ("unhealthy", "permission_denied")
    assert lacking in api.message
    assert fine.status == "healthy"
    assert fine.checks.api_access.scopes is not None
    assert fine.checks.api_access.scopes.missing == []


async def test_xero_without_a_tenant_is_not_healthy(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("xero", "empty")

    result = await check(monitor, "xero")

    api = result.checks.api_access
    assert (result.status, api.category) == ("unhealthy", "permission_denied")
    assert "no organisation is connected" in api.message


# (provider, form): every way a provider states how long to wait.
RETRY_AFTER_FORMS = [
    ("slack", "seconds"),
    ("slack", "http_date"),
    ("slack", "body"),  # ok:false ratelimited in a 200 body
    ("linear", "seconds"),
    ("linear", "body"),  # GraphQL RATELIMITED in a 200 body
    ("notion", "http_date"),
    ("github", "reset_epoch"),  # X-RateLimit-Reset epoch with nothing remaining
    ("dropbox", "body"),  # retry_after inside the error body
]


@pytest.mark.parametrize(("service", "form"), RETRY_AFTER_FORMS)
async def test_retry_after_is_honoured_in_every_form(
    make_monitor: object, simulator: Simulator, service: str, form: str
) -> None:
    probes = FAST_PROBES.model_copy(
        update={
            "deadline_seconds": 8.0,
            "retry_after_cap_seconds": 4.0,
            "attempt_timeout_seconds": 3.0,
        }
    )
    simulator.set_fault(service, "rate_limit", retry_after=2, retry_after_form=form, times=1)

    started = time.monotonic()
    result = await check(make_monitor(Settings(probes=probes)), service)  # type: ignore[operator]
    elapsed = time.monotonic() - started

    api = result.checks.api_access
    assert api.attempts == 2, api.message
    assert result.status == "degraded"  # passed after a transient failure
    # Without honouring the wait, the retry would come after at most 0.05 s of backoff.
    assert elapsed >= 0.9


async def test_retry_after_longer_than_the_deadline_gives_up_in_time(
    make_monitor: object, simulator: Simulator
) -> None:
    simulator.set_fault("linear", "rate_limit", retry_after=30, retry_after_form="body")
    probes = FAST_PROBES.model_copy(update={"retry_after_cap_seconds": 30.0})

    result = await check(make_monitor(Settings(probes=probes)), "linear")  # type: ignore[operator]

    api = result.checks.api_access
    assert (api.category, api.provider_code, api.attempts) == ("rate_limited", "RATELIMITED", 1)
    assert "retry after 30 s" in api.message


# provider -> the variable whose credential expires
EXPIRING = {"github": "GITHUB_TOKEN", "googledrive": "GOOGLE_REFRESH_TOKEN"}


@pytest.mark.parametrize("service", list(EXPIRING))
async def test_expiring_credential_is_degraded_naming_the_variable(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, "expiring", expires_in_days=3)

    result = await check(monitor, service)

    api = result.checks.api_access
    assert (result.status, api.category) == ("degraded", "credential_expiring"), api.message
    assert api.credential is not None
    assert api.credential.variable == EXPIRING[service]
    assert 2.5 < api.credential.days_left <= 3
    assert EXPIRING[service] in api.message


@pytest.mark.parametrize("service", list(EXPIRING))
async def test_credential_far_from_expiry_is_reported_and_healthy(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, "expiring", expires_in_days=60)

    result = await check(monitor, service)

    assert result.status == "healthy"
    assert result.checks.api_access.credential is not None
    assert result.checks.api_access.credential.days_left > 14


async def test_test_key_in_production_is_its_own_finding(make_monitor: object) -> None:
    production = Settings(probes=FAST_PROBES, environment="production")

    found = await check(make_monitor(production), "stripe")  # type: ignore[operator]
    staging = await check(
        make_monitor(Settings(probes=FAST_PROBES, environment="staging")), "stripe"
    )  # type: ignore[operator]

    api = found.checks.api_access
    assert (found.status, api.category) == ("unhealthy", "test_credentials")
    assert "STRIPE_API_KEY" in api.message
    assert "sk_test_sim" not in api.message
    assert staging.status == "healthy"


def test_quota_and_credential_expiry_are_exported_as_metrics(
    api: httpx.Client, simulator: Simulator
) -> None:
    simulator.set_fault("github", "quota_low")
    api.get("/api/github/health", params={"refresh": "true"})
    simulator.set_fault("github", "expiring", expires_in_days=5)
    api.get("/api/github/health", params={"refresh": "true"})

    families = {f.name: f for f in text_string_to_metric_families(api.get("/metrics").text)}

    def value(family: str) -> float:
        samples = families[family].samples
        return next(s.value for s in samples if s.labels["integration"] == "github")

    assert value("atom_health_quota_limit") == 5000
    assert 0 < value("atom_health_quota_remaining") < 5000
    assert value("atom_health_quota_resets_at_seconds") > time.time()
    expiry = value("atom_health_credential_expiry_timestamp_seconds")
    assert 4 * 86400 < expiry - time.time() <= 5 * 86400


def test_configuration_check_shows_a_fingerprint_of_each_secret(
    monitor: HealthMonitor, configured: dict[str, str]
) -> None:
    integration = monitor.resolve("slack")

    before = monitor.configuration(integration).fingerprints
    again = monitor.configuration(integration).fingerprints
    configured["SLACK_BOT_TOKEN"] = "xoxb-rotated-token-value"
    after = monitor.configuration(integration).fingerprints

    assert set(before) == {
        "SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"
    }  # fmt: skip
    assert all(re.fullmatch(r"[0-9a-f]{12}", mark) for mark in before.values())
    assert before == again
    assert after["SLACK_BOT_TOKEN"] != before["SLACK_BOT_TOKEN"]
    assert after["SLACK_CLIENT_ID"] == before["SLACK_CLIENT_ID"]
    plain = hashlib.sha256(configured["SLACK_CLIENT_ID"].encode()).hexdigest()
    assert not plain.startswith(before["SLACK_CLIENT_ID"])  # keyed, not a plain hash


def test_installation_key_is_kept_beside_the_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/atom-health.db"

    first = installation_key(Settings(), url)
    second = installation_key(Settings(), url)
    key_file = tmp_path / "atom-health.db.key"

    assert first == second
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert installation_key(Settings(), "memory://") != first  # no file: this process only
    chosen = Settings(fingerprint_key="a-configured-key-0123456789")
    assert installation_key(chosen, url) == b"a-configured-key-0123456789"
    key_file.write_text("not hex")
    with pytest.raises(ConfigError, match="fingerprint key file"):
        installation_key(Settings(), url)
