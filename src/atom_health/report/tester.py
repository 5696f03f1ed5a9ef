"""``atom-health test``: a suite per integration against a running server, over HTTP, and the
routes that answer for every integration.

For each integration: configuration complete; the live probe passes (its failure category
otherwise); every health route and alias answers 200 with a body that validates against
its schema; configuration check and probe latency within the targets; the vendor's status.
For the server as a whole: the batch check (every enabled integration answered within the
target), the overview route and every alias, the bridge routes. Every route is called
``calls`` times; its p50 and p95 answer times go into the report and the recommendations.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError

from atom_health.classify import health_score, overall_status
from atom_health.model import routes as paths
from atom_health.model.bridge import BridgeHealth, BridgeStatus, Discovery
from atom_health.model.results import Criticality, Overview, ServiceHealth, Status, utc_now
from atom_health.model.stats import percentiles
from atom_health.report.models import (
    IntegrationReport,
    Outcome,
    RoutePerformance,
    TestCase,
    TestReport,
)

FULL_CHECK_TARGET_MS = 500.0  # the original system's target for a full check
CONFIG_CHECK_TARGET_MS = 10.0  # ...for a configuration check
ALL_CHECKS_TARGET_MS = 2000.0  # ...and for every integration at once
DEFAULT_CALLS = 5

Model = TypeVar("Model", bound=BaseModel)


@dataclass(frozen=True)
class LatencyTargets:
    """What the latency tests hold answers to (the original system's targets by default)."""

    config_check_ms: float = CONFIG_CHECK_TARGET_MS
    full_check_ms: float = FULL_CHECK_TARGET_MS
    all_checks_ms: float = ALL_CHECKS_TARGET_MS


ROUTES = (paths.SERVICE_HEALTH, *paths.SERVICE_HEALTH_ALIASES)
OVERVIEW_ROUTES = (paths.OVERVIEW, *paths.OVERVIEW_ALIASES)


@dataclass
class Calls:
    """The answers to ``n`` calls of one path: the first (to validate) and every time taken."""

    first: httpx.Response
    latencies_ms: list[float]
    statuses: list[int]

    @property
    def unanswered(self) -> int:
        return sum(1 for status in self.statuses if status != 200)


@dataclass
class RouteTimings:
    """Every timed call of every route, by route pattern, for the per-route percentiles."""

    calls: int = DEFAULT_CALLS
    _latencies: dict[str, list[float]] = field(default_factory=dict)
    _failures: dict[str, int] = field(default_factory=dict)
    _rate_limited: dict[str, int] = field(default_factory=dict)
    _budgets: dict[str, float] = field(default_factory=dict)

    def call(
        self,
        client: httpx.Client,
        pattern: str,
        budget_ms: float,
        service: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Calls:
        """Call ``pattern`` (for ``service``) ``self.calls`` times, timing each call."""
        path = pattern.format(service=service) if service is not None else pattern
        answers: list[httpx.Response] = []
        latencies: list[float] = []
        for _ in range(self.calls):
            started = time.perf_counter()
            answers.append(client.get(path, params=params))
            latencies.append((time.perf_counter() - started) * 1000)
        made = Calls(answers[0], latencies, [a.status_code for a in answers])
        self._latencies.setdefault(pattern, []).extend(latencies)
        self._failures[pattern] = self._failures.get(pattern, 0) + made.unanswered
        limited = made.statuses.count(429)
        self._rate_limited[pattern] = self._rate_limited.get(pattern, 0) + limited
        self._budgets[pattern] = budget_ms
        return made

    def performance(self) -> list[RoutePerformance]:
        found = []
        for route, latencies in self._latencies.items():
            p50, p95, _ = percentiles(latencies)
            budget = self._budgets[route]
            found.append(RoutePerformance(
                route=route, calls=len(latencies), failures=self._failures[route],
                rate_limited=self._rate_limited[route],
                p50_ms=p50, p95_ms=p95, budget_ms=budget,
                within_budget=p95 is not None and p95 <= budget,
            ))  # fmt: skip
        return found


NOT_REFRESHED = "not refreshed: the API key may not ask for a refresh (security.refresh_role)"


def refreshed_get(client: httpx.Client, path: str) -> tuple[httpx.Response, bool]:
    """``GET path?refresh=true``; when the key's role may not refresh (HTTP 403), the plain
    answer instead. Returns the answer and whether it was refreshed."""
    answer = client.get(path, params={"refresh": "true"})
    if answer.status_code != 403:
        return answer, True
    return client.get(path), False


def _case(name: str, outcome: Outcome, started: float, detail: str) -> TestCase:
    return TestCase(
        name=name,
        outcome=outcome,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        detail=detail,
    )


def _route_case(
    pattern: str, calls: Calls, model: type[Model], check: Callable[[Model], str | None]
) -> TestCase:
    """A route's test: every call answered 200, and the first answer's body validates against
    ``model`` and passes ``check`` (which returns what is wrong, or None)."""
    answer = calls.first
    try:
        body = model.model_validate_json(answer.content)
    except ValidationError as exc:
        problem: str | None = f"body invalid: {exc.error_count()} problem(s)"
    else:
        problem = check(body)
    if problem is None and calls.unanswered:
        others = ", ".join(str(code) for code in sorted(set(calls.statuses) - {200}))
        problem = f"{calls.unanswered} of {len(calls.statuses)} calls answered HTTP {others}"
    good = answer.status_code == 200 and problem is None
    detail = f"HTTP {answer.status_code}, " + ("body valid" if problem is None else problem)
    duration = round(sum(calls.latencies_ms), 2)
    return TestCase(
        name=f"route {pattern}", outcome="pass" if good else "fail", duration_ms=duration,
        detail=f"{detail} ({len(calls.statuses)} calls)",
    )  # fmt: skip


def test_integration(
    client: httpx.Client, service: str, targets: LatencyTargets, timings: RouteTimings
) -> IntegrationReport:
    cases: list[TestCase] = []

    started = time.perf_counter()
    answer, refreshed = refreshed_get(client, paths.SERVICE_HEALTH.format(service=service))
    try:
        result = ServiceHealth.model_validate_json(answer.content)
    except ValidationError:
        return _unreadable(service, _case(
            HEALTH_ANSWER, "fail", started, f"HTTP {answer.status_code}, not a health answer"
        ))  # fmt: skip
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
        if not refreshed:
            detail += f" ({NOT_REFRESHED})"
        cases.append(_case("live probe", "pass" if probe_passed else "fail", started, detail))

    configuration_only = {"check_api": "false"}
    own_route: list[float] = []
    for pattern in ROUTES:
        calls = timings.call(client, pattern, targets.config_check_ms, service, configuration_only)
        own_route = own_route or calls.latencies_ms

        def same_service(body: ServiceHealth) -> str | None:
            return None if body.service == service else f"service {body.service!r}"

        cases.append(_route_case(pattern, calls, ServiceHealth, same_service))

    median = percentiles(own_route)[0] or 0.0
    cases.append(TestCase(
        name="configuration check latency",
        outcome="pass" if median < targets.config_check_ms else "fail",
        duration_ms=round(sum(own_route), 2),
        detail=f"p50 {median:.1f} ms over {len(own_route)} calls "
        f"(target < {targets.config_check_ms:.0f} ms)",
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

    passed, failed, skipped = _counts(cases)
    return IntegrationReport(
        service=service,
        name=result.name,
        criticality=result.criticality,
        status=result.status,
        category=api.category,
        probe_latency_ms=api.latency_ms,
        pass_rate=_rate(passed, failed),
        passed=passed,
        failed=failed,
        skipped=skipped,
        tests=cases,
    )


HEALTH_ANSWER = "health answer"
RATE_LIMITED = "HTTP 429"  # in the detail of a test that was rate-limited


def _unreadable(service: str, case: TestCase) -> IntegrationReport:
    """An integration whose health answer could not be read: that one failed test."""
    return IntegrationReport(
        service=service, name=service, criticality=Criticality.normal, status=Status.unknown,
        pass_rate=0.0, passed=0, failed=1, skipped=0, tests=[case],
    )  # fmt: skip


BATCH_TEST = "all integrations at once"


def test_batch(client: httpx.Client, targets: LatencyTargets) -> tuple[TestCase, set[str]]:
    """The overview with a refresh: every enabled integration answered (none still pending)
    within the target. Returns the test and the enabled integrations the overview named."""
    started = time.perf_counter()
    answer, refreshed = refreshed_get(client, paths.OVERVIEW)
    elapsed = (time.perf_counter() - started) * 1000
    target = f"target < {targets.all_checks_ms:.0f} ms"
    if not refreshed:
        target += f"; {NOT_REFRESHED}"
    try:
        overview = Overview.model_validate_json(answer.content)
    except ValidationError:
        detail = f"HTTP {answer.status_code}, not an overview ({elapsed:.0f} ms, {target})"
        return _case(BATCH_TEST, "fail", started, detail), set()
    pending = sorted(name for name, line in overview.services.items() if line.pending)
    total = len(overview.services)
    detail = f"{total - len(pending)}/{total} integrations answered in {elapsed:.0f} ms ({target})"
    if pending:
        detail += f"; still pending: {', '.join(pending)}"
    good = answer.status_code == 200 and not pending and elapsed < targets.all_checks_ms
    return _case(BATCH_TEST, "pass" if good else "fail", started, detail), set(overview.services)


def test_server_routes(
    client: httpx.Client, targets: LatencyTargets, timings: RouteTimings, enabled: set[str]
) -> list[TestCase]:
    """The overview route and every alias (the enabled integrations, no more, no fewer), and
    the bridge routes."""
    budget = targets.all_checks_ms

    def every_enabled(body: Overview) -> str | None:
        named = set(body.services)
        return None if named == enabled else f"names {len(named)} integrations, not {len(enabled)}"

    def anything(body: BaseModel) -> str | None:
        return None

    def lists_health_route(body: Discovery) -> str | None:
        listed = {route.path for route in body.routes}
        return None if paths.SERVICE_HEALTH in listed else f"{paths.SERVICE_HEALTH} not listed"

    cases = [
        _route_case(pattern, timings.call(client, pattern, budget), Overview, every_enabled)
        for pattern in OVERVIEW_ROUTES
    ]
    cases.append(_route_case(
        paths.BRIDGE_HEALTH, timings.call(client, paths.BRIDGE_HEALTH, budget), BridgeHealth, anything
    ))  # fmt: skip
    cases.append(_route_case(
        paths.BRIDGE_STATUS, timings.call(client, paths.BRIDGE_STATUS, budget), BridgeStatus, anything
    ))  # fmt: skip
    cases.append(_route_case(
        paths.DISCOVER, timings.call(client, paths.DISCOVER, budget), Discovery, lists_health_route
    ))  # fmt: skip
    return cases


def _rate_limited(case: TestCase) -> bool:
    """A test of our server that its rate limit answered (not a provider's rate limit)."""
    ours = case.name.startswith("route ") or case.name in (HEALTH_ANSWER, BATCH_TEST)
    return ours and RATE_LIMITED in case.detail


def recommendations(
    reports: Iterable[IntegrationReport],
    system_tests: Iterable[TestCase] = (),
    routes: Iterable[RoutePerformance] = (),
) -> list[str]:
    """What to do about each failure and each route over its budget, in plain words."""
    advice: list[str] = []
    for case in system_tests:
        if case.outcome != "fail" or _rate_limited(case):
            continue  # a rate-limited tester gets one line of advice, below
        if case.name == BATCH_TEST:
            advice.append(
                f"Not every integration answered in time ({case.detail}); the slowest "
                "providers hold the overview back: see each integration's probe latency."
            )
        else:
            advice.append(f"{case.name} returned a bad answer ({case.detail}); check the server version.")  # fmt: skip
    for report in reports:
        for case in report.tests:
            if case.outcome != "fail" or _rate_limited(case):
                continue
            if case.name == "configuration complete":
                advice.append(f"{report.name}: set {case.detail.removeprefix('missing: ')}.")
            elif case.name == "live probe":
                advice.append(f"{report.name}: {case.detail.split(': ', 1)[-1]}")
            elif case.name == HEALTH_ANSWER:
                advice.append(
                    f"{report.name}: the server gave no health answer ({case.detail}); see its log."
                )
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
    routes = list(routes)
    if any(route.rate_limited for route in routes):
        advice.append(
            "The server rate-limited the tester (HTTP 429): lower --calls, or raise the "
            "server's security.rate_limit for the tester's key."
        )
    for route in routes:
        if route.failures > route.rate_limited:
            advice.append(
                f"{route.route}: {route.failures - route.rate_limited} of {route.calls} calls "
                "did not answer 200; see the server's log."
            )
        if not route.within_budget:
            advice.append(
                f"{route.route}: p95 {route.p95_ms} ms over {route.calls} calls exceeds its "
                f"{route.budget_ms:.0f} ms budget (p50 {route.p50_ms} ms); check the server's "
                "load and what sits between it and its callers."
            )
    return advice


def run_tests(
    client: httpx.Client,
    services: list[str],
    target: str,
    progress: Callable[[str], None] | None = None,
    targets: LatencyTargets = LatencyTargets(),
    calls: int = DEFAULT_CALLS,
) -> TestReport:
    started = time.perf_counter()
    timings = RouteTimings(calls)
    batch, enabled = test_batch(client, targets)  # first: a cold batch is the honest one
    system_tests = [batch, *test_server_routes(client, targets, timings, enabled)]
    reports = []
    for service in services:
        reports.append(test_integration(client, service, targets, timings))
        if progress is not None:
            progress(service)
    passed, failed, skipped = _counts(
        [*system_tests, *(case for report in reports for case in report.tests)]
    )
    routes = timings.performance()
    return TestReport(
        ok=failed == 0,
        generated_at=utc_now(),
        target=target,
        duration_seconds=round(time.perf_counter() - started, 3),
        overall_status=overall_status(r.status for r in reports),
        health_score=health_score(
            (r.status, r.criticality is Criticality.critical) for r in reports
        ),
        pass_rate=_rate(passed, failed),
        passed=passed,
        failed=failed,
        skipped=skipped,
        calls_per_route=calls,
        integrations=reports,
        system_tests=system_tests,
        routes=routes,
        recommendations=recommendations(reports, system_tests, routes),
    )


def _counts(cases: Iterable[TestCase]) -> tuple[int, int, int]:
    """How many passed, failed and were skipped."""
    outcomes = [case.outcome for case in cases]
    return outcomes.count("pass"), outcomes.count("fail"), outcomes.count("skip")


def _rate(passed: int, failed: int) -> float | None:
    return round(100 * passed / (passed + failed), 1) if passed + failed else None


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
