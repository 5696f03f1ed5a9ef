"""The integration tester's report (JSON), and the documented score."""

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
    """What ``atom-health test`` found. ``score`` is the mean of the integrations' pass rates,
    critical integrations counting twice (0-100)."""

    __test__ = False  # not a pytest test class

    ok: bool
    generated_at: datetime
    target: str
    duration_seconds: float
    score: float | None
    passed: int
    failed: int
    skipped: int
    integrations: list[IntegrationReport]
    recommendations: list[str]


def score_of(integrations: list[IntegrationReport]) -> float | None:
    weighted = [
        (r.pass_rate, 2.0 if r.criticality is Criticality.critical else 1.0)
        for r in integrations
        if r.pass_rate is not None
    ]
    total = sum(weight for _, weight in weighted)
    return round(sum(rate * weight for rate, weight in weighted) / total, 1) if total else None
