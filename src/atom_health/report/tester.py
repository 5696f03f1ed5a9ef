"""``atom-health test``: a suite per integration against a running server, over HTTP.

For each integration: configuration complete; the live probe passes (its failure category
otherwise); every health route and alias answers 200 with a body that validates against
its schema; probe and route latency within the targets; the vendor's status.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import ValidationError

from atom_health.classify import health_score
from atom_health.model import routes as paths
from atom_health.model.results import Criticality, ServiceHealth, Status, utc_now
from atom_health.report.models import IntegrationReport, Outcome, TestCase, TestReport

FULL_CHECK_TARGET_MS = 500.0  # the original system's target for a full check
CONFIG_CHECK_TARGET_MS = 10.0  # ...and for a configuration check


@dataclass(frozen=True)
class LatencyTargets:
    """What the latency tests hold answers to (the original system's targets by default)."""

    config_check_ms: float = CONFIG_CHECK_TARGET_MS
    full_check_ms: float = FULL_CHECK_TARGET_MS


ROUTES = (paths.SERVICE_HEALTH, *paths.SERVICE_HEALTH_ALIASES)


def _case(name: str, outcome: Outcome, started: float, detail: str) -> TestCase:
    return TestCase(
        name=name,
        outcome=outcome,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        detail=detail,
    )


def test_integration(
    client: httpx.Client, service: str, targets: LatencyTargets
) -> IntegrationReport:
    cases: list[TestCase] = []

    started = time.perf_counter()
    answer = client.get(paths.SERVICE_HEALTH.format(service=service), params={"refresh": "true"})
    result = ServiceHealth.model_validate_json(answer.content)
    configuration = result.checks.configuration
    api = result.checks.api_access
    cases.append(_case(
        "configuration complete",
        "pass" if configuration.configured else "fail",
        started,
        "all required variables are set" if configuration.configured
        else f"missing: {', '.join(configuration.missing_env_vars)}",
    ))  # fmt: skip

    if not configuration.configured:
        cases.append(_case("live probe", "skip", started, "not configured"))
    else:
        probe_passed = api.status == "pass"
        detail = api.message if probe_passed else f"{api.category or api.status}: {api.message}"
        cases.append(_case("live probe", "pass" if probe_passed else "fail", started, detail))

    for pattern in ROUTES:
        path = pattern.format(service=service)
        started = time.perf_counter()
        answer = client.get(path, params={"check_api": "false"})
        try:
            body = ServiceHealth.model_validate_json(answer.content)
            good = answer.status_code == 200 and body.service == service
            detail = (
                f"HTTP {answer.status_code}, body valid"
                if good
                else f"HTTP {answer.status_code}, service {body.service!r}"
            )
        except ValidationError as exc:
            good, detail = (
                False,
                f"HTTP {answer.status_code}, body invalid: {exc.error_count()} problem(s)",
            )
        cases.append(_case(f"route {pattern}", "pass" if good else "fail", started, detail))

    started = time.perf_counter()
    client.get(paths.SERVICE_HEALTH.format(service=service), params={"check_api": "false"})
    route_ms = (time.perf_counter() - started) * 1000
    cases.append(_case(
        "configuration check latency", "pass" if route_ms < targets.config_check_ms else "fail",
        started, f"{route_ms:.1f} ms (target < {targets.config_check_ms:.0f} ms)",
    ))  # fmt: skip
    if api.latency_ms is None:
        cases.append(_case("probe latency", "skip", time.perf_counter(), "no live probe ran"))
    else:
        fast = api.latency_ms < targets.full_check_ms
        cases.append(_case(
            "probe latency", "pass" if fast else "fail", time.perf_counter(),
            f"{api.latency_ms:.0f} ms (target < {targets.full_check_ms:.0f} ms)",
        ))  # fmt: skip

    vendor = result.checks.vendor_status
    if vendor is None or vendor.state == "unknown":
        cases.append(_case("vendor status", "skip", time.perf_counter(),
                           vendor.message if vendor else "no status feed checked"))  # fmt: skip
    else:
        calm = not vendor.reports_trouble
        cases.append(
            _case("vendor status", "pass" if calm else "fail", time.perf_counter(), vendor.message)
        )

    passed = sum(1 for c in cases if c.outcome == "pass")
    failed = sum(1 for c in cases if c.outcome == "fail")
    return IntegrationReport(
        service=service,
        name=result.name,
        criticality=result.criticality,
        status=result.status,
        category=api.category,
        probe_latency_ms=api.latency_ms,
        pass_rate=round(100 * passed / (passed + failed), 1) if passed + failed else None,
        tests=cases,
    )


def recommendations(reports: Iterable[IntegrationReport]) -> list[str]:
    """What to do about each failure, in plain words."""
    advice: list[str] = []
    for report in reports:
        for case in report.tests:
            if case.outcome != "fail":
                continue
            if case.name == "configuration complete":
                advice.append(f"{report.name}: set {case.detail.removeprefix('missing: ')}.")
            elif case.name == "live probe":
                advice.append(f"{report.name}: {case.detail.split(': ', 1)[-1]}")
            elif case.name.startswith("route"):
                advice.append(
                    f"{report.name}: {case.name} returned a bad answer ({case.detail}); check the server version."
                )
            elif case.name == "probe latency":
                advice.append(
                    f"{report.name}: the provider answered slowly ({case.detail}); watch its status page and our network path."
                )
            elif case.name == "configuration check latency":
                advice.append(
                    f"{report.name}: the server itself is slow ({case.detail}); check its load."
                )
            elif case.name == "vendor status":
                advice.append(
                    f"{report.name}: the vendor reports trouble: {case.detail}. Wait for them; it is not your configuration."
                )
    return advice


def run_tests(
    client: httpx.Client,
    services: list[str],
    target: str,
    progress: Callable[[str], None] | None = None,
    targets: LatencyTargets = LatencyTargets(),
) -> TestReport:
    started = time.perf_counter()
    reports = []
    for service in services:
        reports.append(test_integration(client, service, targets))
        if progress is not None:
            progress(service)
    cases = [case for report in reports for case in report.tests]
    failed = sum(1 for c in cases if c.outcome == "fail")
    passed = sum(1 for c in cases if c.outcome == "pass")
    return TestReport(
        ok=failed == 0,
        generated_at=utc_now(),
        target=target,
        duration_seconds=round(time.perf_counter() - started, 3),
        health_score=health_score(
            (r.status, r.criticality is Criticality.critical) for r in reports
        ),
        pass_rate=round(100 * passed / (passed + failed), 1) if passed + failed else None,
        passed=passed,
        failed=failed,
        skipped=sum(1 for c in cases if c.outcome == "skip"),
        integrations=reports,
        recommendations=recommendations(reports),
    )


def deploy_gate(report: TestReport, fail_under: float) -> tuple[bool, str]:
    """``--fail-under``: holds when the health score is at least ``fail_under`` and no
    critical integration is unhealthy, whatever the score. Returns (held, the reason)."""
    down = [
        r.service
        for r in report.integrations
        if r.criticality is Criticality.critical and r.status is Status.unhealthy
    ]
    if down:
        return False, f"failed: critical integration unhealthy: {', '.join(down)}"
    score = report.health_score
    if score is None or score < fail_under:
        return False, f"failed: health score {score} is under {fail_under:g}"
    return True, f"passed: health score {score} >= {fail_under:g}, no critical integration down"


def known_services(client: httpx.Client) -> list[str]:
    body: dict[str, Any] = client.get(paths.CONFIGURATION).raise_for_status().json()
    return list(body["integrations"])


def resolve_services(client: httpx.Client, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """The integration ids that ``names`` (ids or aliases, any case) stand for, as the server's
    catalog resolves them, without repeats; and the names it does not know."""
    ids: list[str] = []
    unknown: list[str] = []
    for name in names:
        path = paths.SERVICE_HEALTH.format(service=quote(name, safe=""))
        answer = client.get(path, params={"check_api": "false"})
        if answer.status_code == 200:
            ids.append(ServiceHealth.model_validate_json(answer.content).service)
        else:
            unknown.append(name)
    return list(dict.fromkeys(ids)), unknown
