"""The integration tester's report (JSON)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from atom_health.model.results import Criticality, Status

Outcome = Literal["pass", "fail", "skip"]


class TestCase(BaseModel):
    __test__ = False  # not a pytest test class
    name: str
    outcome: Outcome
    duration_ms: float
    detail: str


class IntegrationReport(BaseModel):
    service: str
    name: str = Field(description="The display name from the catalog")
    criticality: Criticality
    status: Status = Field(description="The integration's status during the run")
    category: str | None = None
    probe_latency_ms: float | None = None
    pass_rate: float | None = Field(description="Passed / (passed + failed), %")
    passed: int
    failed: int
    skipped: int
    tests: list[TestCase]


class RoutePerformance(BaseModel):
    """One route's answer times over every call the tester made to it (for a per-integration
    route: ``calls_per_route`` calls for each integration tested)."""

    route: str = Field(description="The route's path, {service} standing for the integration")
    calls: int
    failures: int = Field(description="Calls answered with another status than 200")
    rate_limited: int = Field(description="Of those, calls the server rate-limited (HTTP 429)")
    p50_ms: float | None
    p95_ms: float | None
    budget_ms: float = Field(
        description="The original system's target for what the route answers: a configuration "
        "check for one integration, all integrations for the others"
    )
    within_budget: bool = Field(description="p95 within the budget")


class TestReport(BaseModel):
    """What ``atom-health test`` found. ``health_score`` is the one health score of
    atom-health (:func:`atom_health.classify.health_score`, the dashboard's and the API's),
    over the integrations' statuses during the run; ``pass_rate`` is the share of tests passed."""

    __test__ = False  # not a pytest test class

    ok: bool
    generated_at: datetime
    target: str
    duration_seconds: float
    overall_status: Status = Field(
        description="The integrations' overall status during the run (as the overview's)"
    )
    health_score: float | None = Field(
        description="0-100: healthy 100, degraded 50, unhealthy 0; critical ones count twice"
    )
    pass_rate: float | None = Field(description="Tests passed / (passed + failed), %")
    passed: int
    failed: int
    skipped: int
    calls_per_route: int = Field(description="How many times each route was called")
    integrations: list[IntegrationReport]
    system_tests: list[TestCase] = Field(
        description="The overview route and its aliases, the bridge routes, and the batch "
        "check (every enabled integration answered within the target)"
    )
    routes: list[RoutePerformance] = Field(description="Answer times per route")
    recommendations: list[str]
