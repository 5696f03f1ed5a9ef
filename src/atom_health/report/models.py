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
    name: str
    criticality: Criticality
    status: Status = Field(description="The integration's status during the run")
    category: str | None = None
    probe_latency_ms: float | None = None
    pass_rate: float | None = Field(description="Passed / (passed + failed), %")
    tests: list[TestCase]


class TestReport(BaseModel):
    """What ``atom-health test`` found. ``health_score`` is the one health score of
    atom-health (:func:`atom_health.classify.health_score`, the dashboard's and the API's),
    over the integrations' statuses during the run; ``pass_rate`` is the share of tests passed."""

    __test__ = False  # not a pytest test class

    ok: bool
    generated_at: datetime
    target: str
    duration_seconds: float
    health_score: float | None = Field(
        description="0-100: healthy 100, degraded 50, unhealthy 0; critical ones count twice"
    )
    pass_rate: float | None = Field(description="Tests passed / (passed + failed), %")
    passed: int
    failed: int
    skipped: int
    integrations: list[IntegrationReport]
    recommendations: list[str]
