"""Live probes of every built-in provider against the simulator: passes, refusals, faults."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from atom_health.config import Settings
from atom_health.monitor import HealthMonitor
from atom_health.simulator import PROVIDERS, Simulator
from tests.conftest import FAST_PROBES
from tests.conftest import check_once as check

ALL = list(PROVIDERS)

# One credential per provider whose corruption the provider must notice.
KEY_CREDENTIAL = {
    "zoom": "ZOOM_API_SECRET",
    "notion": "NOTION_TOKEN",
    "trello": "TRELLO_TOKEN",
    "stripe": "STRIPE_API_KEY",
    "quickbooks": "QUICKBOOKS_ACCESS_TOKEN",
    "github": "GITHUB_TOKEN",
    "salesforce": "SALESFORCE_CLIENT_SECRET",
    "googledrive": "GOOGLE_REFRESH_TOKEN",
    "dropbox": "DROPBOX_ACCESS_TOKEN",
    "slack": "SLACK_BOT_TOKEN",
    "hubspot": "HUBSPOT_ACCESS_TOKEN",
    "jira": "JIRA_API_TOKEN",
    "linear": "LINEAR_API_KEY",
    "xero": "XERO_CLIENT_SECRET",
}
WRONG = "Wr0ngV4lue-NotTheKey-9Q"


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ALL)
async def test_valid_credentials_pass(monitor: HealthMonitor, service: str) -> None:
    result = await check(monitor, service)

    api = result.checks.api_access
    assert (result.status, api.status, api.category) == ("healthy", "pass", None), api.message
    assert api.http_status == 200
    assert api.evidence == "full"
    assert api.method
    assert api.latency_ms is not None
    assert api.latency_ms > 0
    assert result.message == f"{result.name} integration is operational"
    vendor = result.checks.vendor_status
    if service == "salesforce":
        assert vendor is None  # no machine-readable status feed
    else:
        assert vendor is not None
        assert vendor.state == "operational"


@pytest.mark.parametrize("service", ALL)
async def test_wrong_credential_is_rejected_and_named(
    monitor: HealthMonitor, configured: dict[str, str], service: str
) -> None:
    variable = KEY_CREDENTIAL[service]
    configured[variable] = WRONG

    result = await check(monitor, service)

    api = result.checks.api_access
    assert (result.status, api.status, api.category) == (
        "unhealthy",
        "fail",
        "credentials_rejected",
    ), api.message
    assert variable in api.message
    assert WRONG not in api.message
    assert api.message.startswith(f"{result.name} rejected the credentials")
    assert api.attempts == 1  # a rejected credential is never retried


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ALL)
async def test_reject_fault_in_the_providers_own_shape(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, "reject")

    result = await check(monitor, service)

    assert result.checks.api_access.category == "credentials_rejected"
    assert result.status == "unhealthy"


FAULTS = [
    ("forbidden", "permission_denied", "fail", "unhealthy"),
    ("rate_limit", "rate_limited", "warn", "degraded"),
    ("server_error", "server_error", "fail", "unhealthy"),
    ("malformed", "bad_response", "fail", "unhealthy"),
    ("reset", "connect", "fail", "unhealthy"),
]


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ALL)
@pytest.mark.parametrize(("fault", "category", "check_status", "status"), FAULTS)
async def test_each_fault_has_its_category(
    monitor: HealthMonitor,
    simulator: Simulator,
    service: str,
    fault: str,
    category: str,
    check_status: str,
    status: str,
) -> None:
    simulator.set_fault(service, fault, retry_after=0)

    result = await check(monitor, service)

    api = result.checks.api_access
    assert (api.category, api.status, result.status) == (category, check_status, status), (
        api.message
    )
    assert result.message == api.message


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ["stripe", "slack", "linear", "zoom"])
async def test_slow_provider_is_degraded(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator, service: str
) -> None:
    probes = FAST_PROBES.model_copy(update={"slow_threshold_ms": 100})
    simulator.set_fault(service, "slow", delay_ms=400)  # at least 400 ms, however fast the machine

    result = await check(make_monitor(Settings(probes=probes)), service)

    api = result.checks.api_access
    assert (api.status, result.status) == ("warn", "degraded")
    assert "answered slowly" in api.message


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ["github", "xero"])
async def test_hung_provider_is_bounded_by_the_deadline(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator, service: str
) -> None:
    probes = FAST_PROBES.model_copy(
        update={"deadline_seconds": 0.6, "attempt_timeout_seconds": 0.25}
    )
    simulator.set_fault(service, "hang")
    started = time.monotonic()

    result = await check(make_monitor(Settings(probes=probes)), service)

    assert time.monotonic() - started < 3.0  # the simulator would hang for 120 s
    assert result.checks.api_access.category == "timeout"
    assert result.status == "unhealthy"


@pytest.mark.usefixtures("configured")
async def test_retries_honour_retry_after(monitor: HealthMonitor, simulator: Simulator) -> None:
    simulator.set_fault("slack", "rate_limit", retry_after=1, times=1)
    started = time.monotonic()

    result = await check(monitor, "slack")

    elapsed = time.monotonic() - started
    api = result.checks.api_access
    assert 1.0 <= elapsed < 3.0  # waited as told, not the 0.01 s backoff
    assert api.attempts == 2
    assert simulator.state("slack")["api_requests"] == 2
    assert (api.status, result.status) == ("warn", "degraded")  # passed after a transient error
    assert "after 2 attempts" in api.message


@pytest.mark.usefixtures("configured")
async def test_retry_after_is_capped(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    probes = FAST_PROBES.model_copy(update={"retry_after_cap_seconds": 0.2, "deadline_seconds": 5})
    simulator.set_fault("notion", "rate_limit", retry_after=60, times=1)
    started = time.monotonic()

    result = await check(make_monitor(Settings(probes=probes)), "notion")

    assert time.monotonic() - started < 3.0  # not the 60 s the provider asked for
    assert result.checks.api_access.attempts == 2


@pytest.mark.usefixtures("configured")
async def test_transient_errors_are_retried_then_fail(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("hubspot", "server_error")

    result = await check(monitor, "hubspot")

    assert result.checks.api_access.attempts == 3  # one try + max_retries (2)
    assert simulator.state("hubspot")["api_requests"] == 3
    assert "after 3 attempts" in result.message


@pytest.mark.usefixtures("configured")
async def test_breaker_opens_and_recovers(monitor: HealthMonitor, simulator: Simulator) -> None:
    simulator.set_fault("hubspot", "server_error")
    async with monitor:
        for _ in range(3):  # breaker_threshold in FAST_PROBES
            await monitor.check("hubspot", refresh=True)
        calls_before = simulator.state("hubspot")["api_requests"]

        opened = await monitor.check("hubspot", refresh=True)

        api = opened.checks.api_access
        assert simulator.state("hubspot")["api_requests"] == calls_before  # not called
        assert api.breaker is not None
        assert api.breaker.state == "open"
        assert api.breaker.consecutive_failures == 3
        assert "circuit open" in api.message
        assert opened.status == "unhealthy"

        simulator.set_fault("hubspot", None)
        await asyncio.sleep(0.6)  # breaker_reset_seconds: half-open, one trial allowed
        recovered = await monitor.check("hubspot", refresh=True)

    assert recovered.status == "healthy"
    assert recovered.checks.api_access.breaker is not None
    assert recovered.checks.api_access.breaker.state == "closed"


@pytest.mark.usefixtures("configured")
async def test_concurrent_requests_share_one_in_flight_check(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("stripe", "slow", delay_ms=150)
    async with monitor:
        results = await asyncio.gather(*(monitor.check("stripe") for _ in range(20)))

    # One check for 20 callers: its probe and its read of Stripe's webhook endpoints.
    assert simulator.state("stripe")["api_requests"] == 2
    assert len({r.timestamp for r in results}) == 1  # every caller got the one result


@pytest.mark.usefixtures("configured")
async def test_results_are_cached_for_the_ttl(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator, configured: dict[str, str]
) -> None:
    monitor = make_monitor(
        Settings(probes=FAST_PROBES, cache_ttl_seconds=0.4, refresh_min_interval_seconds=0)
    )
    async with monitor:
        first = await monitor.check("github")
        second = await monitor.check("github")
        assert (first.cached, second.cached) == (False, True)
        assert simulator.state("github")["api_requests"] == 1

        await monitor.check("github", refresh=True)
        assert simulator.state("github")["api_requests"] == 2

        await asyncio.sleep(0.45)
        third = await monitor.check("github")
        assert third.cached is False
        assert simulator.state("github")["api_requests"] == 3

        configured["GITHUB_TOKEN"] = WRONG  # a changed variable bypasses the cache
        changed = await monitor.check("github")
    assert changed.status == "unhealthy"


@pytest.mark.usefixtures("configured")
async def test_oauth_tokens_are_cached_and_renewed_when_refused(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    async with monitor:
        await monitor.check("zoom", refresh=True)
        await monitor.check("zoom", refresh=True)
        assert simulator.state("zoom")["token_requests"] == 1

        simulator.revoke_tokens("zoom")  # the cached token no longer works
        renewed = await monitor.check("zoom", refresh=True)

    assert renewed.status == "healthy"
    assert simulator.state("zoom")["token_requests"] == 2


async def test_app_credentials_only_give_a_warning_naming_the_full_check_variable(
    monitor: HealthMonitor, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    for name in ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_SIGNING_SECRET"):
        environ[name] = sim_credentials[name]

    result = await check(monitor, "slack")

    api = result.checks.api_access
    assert (result.status, api.status, api.evidence) == ("degraded", "warn", "client")
    assert api.message == (
        "Slack recognised the OAuth client id and secret at its token endpoint "
        "(answer: invalid_code); set SLACK_BOT_TOKEN for a full check"
    )


async def test_app_credentials_that_are_wrong_fail(
    monitor: HealthMonitor, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ.update(GOOGLE_CLIENT_ID=sim_credentials["GOOGLE_CLIENT_ID"], GOOGLE_CLIENT_SECRET=WRONG)

    result = await check(monitor, "googledrive")

    api = result.checks.api_access
    assert (result.status, api.category) == ("unhealthy", "credentials_rejected")
    assert "GOOGLE_CLIENT_ID and GOOGLE_CLIENT_SECRET" in api.message


async def test_dropbox_app_credentials_are_full_evidence(
    monitor: HealthMonitor, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ.update({n: sim_credentials[n] for n in ("DROPBOX_APP_KEY", "DROPBOX_APP_SECRET")})

    result = await check(monitor, "dropbox")

    assert result.status == "healthy"
    assert result.checks.api_access.method == "POST /2/check/app"


async def test_without_any_runnable_probe_the_missing_variable_is_named(
    monitor: HealthMonitor, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ.update({n: sim_credentials[n] for n in ("TRELLO_API_KEY", "TRELLO_API_SECRET")})

    result = await check(monitor, "trello")

    assert result.status == "degraded"
    assert result.checks.api_access.message == (
        "Trello is configured, but its credentials cannot be verified live: "
        "set TRELLO_TOKEN for a live check"
    )


async def test_salesforce_needs_its_instance_url(
    make_monitor: Callable[..., HealthMonitor],
    environ: dict[str, str],
    sim_credentials: dict[str, str],
) -> None:
    del environ["ATOM_HEALTH_SALESFORCE_BASE_URL"]  # read when the catalog is built
    environ.update(
        {n: sim_credentials[n] for n in ("SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET")}
    )
    monitor = make_monitor()

    result = await check(monitor, "salesforce")

    assert result.status == "degraded"
    assert result.checks.api_access.message.endswith("set SALESFORCE_INSTANCE_URL for a live check")

    environ["SALESFORCE_INSTANCE_URL"] = sim_credentials["SALESFORCE_INSTANCE_URL"]
    assert (await check(monitor, "salesforce")).status == "healthy"


async def test_renamed_variables_are_used_by_probes(
    make_monitor: Callable[..., HealthMonitor],
    environ: dict[str, str],
    sim_credentials: dict[str, str],
) -> None:
    settings = Settings.model_validate(
        {"integrations": {"linear": {"env": {"LINEAR_API_KEY": "ACME_LINEAR"}}}}
    )
    settings = settings.model_copy(update={"probes": FAST_PROBES})
    environ["ACME_LINEAR"] = sim_credentials["LINEAR_API_KEY"]

    result = await check(make_monitor(settings), "linear")

    assert result.status == "healthy"


async def test_local_rate_budget_protects_the_provider(
    make_monitor: Callable[..., HealthMonitor],
    simulator: Simulator,
    configured: dict[str, str],
) -> None:
    settings = Settings.model_validate(
        {"integrations": {"trello": {"rate_limit": {"requests": 2, "per_seconds": 900}}}}
    ).model_copy(update={"probes": FAST_PROBES})
    async with make_monitor(settings) as monitor:
        trello = monitor.resolve("trello")
        for _ in range(2):
            assert (await monitor.live_prober.probe(trello)).status == "pass"
        held = await monitor.live_prober.probe(trello)

    assert simulator.state("trello")["api_requests"] == 2
    assert held.category == "rate_limited"
    assert "local request budget" in held.message


async def test_refreshes_never_spend_the_request_budget(
    make_monitor: Callable[..., HealthMonitor],
    simulator: Simulator,
    configured: dict[str, str],
) -> None:
    """Our own traffic is spaced to half the budget: the integration never looks degraded."""
    settings = Settings.model_validate(
        {"integrations": {"trello": {"rate_limit": {"requests": 2, "per_seconds": 900}}}}
    ).model_copy(update={"probes": FAST_PROBES})
    async with make_monitor(settings) as monitor:
        results = [await monitor.check("trello", refresh=True) for _ in range(5)]

    assert simulator.state("trello")["api_requests"] == 1
    assert {r.status for r in results} == {"healthy"}
    assert [r.cached for r in results] == [False, True, True, True, True]
    assert all(r.age_seconds is not None and r.age_seconds >= 0 for r in results[1:])


@pytest.mark.usefixtures("configured")
async def test_refresh_inside_the_window_returns_the_newest_result_with_its_age(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    monitor = make_monitor(Settings(probes=FAST_PROBES, refresh_min_interval_seconds=60))
    async with monitor:
        first = await monitor.check("github", refresh=True)
        again = await monitor.check("github", refresh=True)

    assert simulator.state("github")["api_requests"] == 1
    assert (first.cached, again.cached) == (False, True)
    assert again.timestamp == first.timestamp
    assert again.age_seconds is not None
    assert 0 <= again.age_seconds < 60


@pytest.mark.usefixtures("configured")
async def test_refresh_floods_share_one_flight_whatever_the_timing(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator
) -> None:
    """Waves of refreshes, some arriving while a check runs and some just after it ended."""
    monitor = make_monitor(Settings(probes=FAST_PROBES, refresh_min_interval_seconds=60))
    simulator.set_fault("stripe", "slow", delay_ms=30)
    async with monitor:
        for _ in range(10):
            await asyncio.gather(*(monitor.check("stripe", refresh=True) for _ in range(20)))
            await asyncio.sleep(0.01)

    # One check: its probe and its read of Stripe's webhook endpoints.
    assert simulator.state("stripe")["api_requests"] == 2


@pytest.mark.usefixtures("configured")
async def test_vendor_incident_with_failure_is_the_vendors_fault(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("stripe", "server_error", status_page="incident")

    result = await check(monitor, "stripe")

    api = result.checks.api_access
    assert api.category == "vendor_outage"
    assert "on Stripe's side, not your configuration" in api.message
    assert result.checks.vendor_status is not None
    assert result.checks.vendor_status.incidents == ["Elevated error rates on the Stripe API"]
    # The incident's title is the vendor's free text: it stays in vendor_status.
    assert "Elevated" not in api.message
    assert "Elevated" not in result.message


@pytest.mark.usefixtures("configured")
@pytest.mark.parametrize("service", ["slack", "stripe", "googledrive", "github"])
async def test_vendor_incident_while_working_is_degraded(
    monitor: HealthMonitor, simulator: Simulator, service: str
) -> None:
    simulator.set_fault(service, None, status_page="incident")

    result = await check(monitor, service)

    assert result.checks.api_access.status == "pass"
    assert result.status == "degraded"
    assert "reports an incident (status page:" in result.message
    assert "Elevated" not in result.message  # the vendor's own words stay in vendor_status


@pytest.mark.usefixtures("configured")
async def test_broken_status_page_is_unknown_not_down(
    monitor: HealthMonitor, simulator: Simulator
) -> None:
    simulator.set_fault("github", None, status_page="broken")

    result = await check(monitor, "github")

    assert result.status == "healthy"
    vendor = result.checks.vendor_status
    assert vendor is not None
    assert vendor.state == "unknown"
    assert "HTTP 502" in vendor.message


@pytest.mark.usefixtures("configured")
async def test_service_metrics_count_failed_answers_as_failures(
    monitor: HealthMonitor, configured: dict[str, str]
) -> None:
    async with monitor:
        await monitor.check("slack", refresh=True)
        configured["SLACK_BOT_TOKEN"] = WRONG  # Slack refuses with HTTP 200 and ok: false
        await monitor.check("slack", refresh=True)
        stats = monitor.live_prober.service(monitor.resolve("slack")).metrics.snapshot()

    assert (stats.calls, stats.successes) == (2, 1)
    assert stats.errors == {"credentials_rejected": 1}
    assert stats.success_rate == 0.5
    assert stats.latency_p50_ms is not None


async def test_all_integrations_checked_concurrently(
    make_monitor: Callable[..., HealthMonitor], simulator: Simulator, configured: dict[str, str]
) -> None:
    probes = FAST_PROBES.model_copy(
        update={"attempt_timeout_seconds": 10.0, "deadline_seconds": 20.0}
    )
    simulator.set_latency(1000)  # each provider call takes at least a second
    async with make_monitor(Settings(probes=probes)) as monitor:
        overview = await monitor.overview()

    assert overview.summary.healthy_services == 14, overview.services
    # One after another, the simulator would never hold more than one call at a time.
    assert simulator.peak_in_flight() >= 7
