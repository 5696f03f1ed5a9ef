"""What the store keeps: one row per check, configuration changes, incidents, rollups.

Times are UTC seconds since the epoch (floats): cheap to compare, index and sum, and the
same in SQLite and PostgreSQL. Messages are the checks' own messages (never a secret).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from atom_health.model.results import ServiceHealth
from atom_health.model.vocabulary import Category, Status


def epoch(moment: datetime) -> float:
    return moment.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


@dataclass(frozen=True)
class CheckRecord:
    integration: str
    checked_at: float
    status: Status
    category: str | None = None
    latency_ms: float | None = None
    http_status: int | None = None
    vendor_state: str | None = None
    message: str = ""

    @classmethod
    def of(cls, result: ServiceHealth) -> CheckRecord:
        api = result.checks.api_access
        vendor = result.checks.vendor_status
        return cls(
            integration=result.service,
            checked_at=epoch(result.timestamp),
            status=result.status,
            category=api.category.value if api.category else None,
            latency_ms=api.latency_ms,
            http_status=api.http_status,
            vendor_state=vendor.state.value if vendor else None,
            message=result.message,
        )


@dataclass(frozen=True)
class ConfigEvent:
    """A variable of an integration became missing or present, or its value changed (a
    rotated credential, told by its fingerprint): its name only, never its value."""

    integration: str
    at: float
    variable: str
    change: str  # "missing" | "present" | "changed"


@dataclass
class Incident:
    """A spell of not-healthy: opened by the first non-healthy result, closed by a healthy one."""

    integration: str
    started_at: float
    worst_status: Status
    category: str | None
    message: str
    ended_at: float | None = None
    id: int | None = None

    @property
    def open(self) -> bool:
        return self.ended_at is None

    def duration(self, now: float) -> float:
        return (self.ended_at if self.ended_at is not None else now) - self.started_at


@dataclass
class StatusCounts:
    """Check counts by outcome over a window, from raw results and/or rollups."""

    total: int = 0
    healthy: int = 0
    degraded: int = 0
    unhealthy: int = 0
    vendor_outage: int = 0  # unhealthy checks whose cause was the vendor's outage

    def add(self, other: StatusCounts) -> None:
        self.total += other.total
        self.healthy += other.healthy
        self.degraded += other.degraded
        self.unhealthy += other.unhealthy
        self.vendor_outage += other.vendor_outage


def counts_of(records: Iterable[CheckRecord]) -> StatusCounts:
    """Count records by outcome; unhealthy ones caused by a vendor outage also count apart."""
    counts = StatusCounts()
    for record in records:
        counts.total += 1
        if record.status is Status.healthy:
            counts.healthy += 1
        elif record.status is Status.degraded:
            counts.degraded += 1
        else:
            counts.unhealthy += 1
            if record.category == Category.vendor_outage:
                counts.vendor_outage += 1
    return counts


@dataclass
class Rollup:
    """Aggregates of one integration's checks in one hour or day."""

    integration: str
    granularity: str  # "hour" | "day"
    bucket: float  # the bucket's start
    counts: StatusCounts = field(default_factory=StatusCounts)
    latency_count: int = 0
    latency_sum: float = 0.0
    latency_p50: float | None = None
    latency_p95: float | None = None
    latency_p99: float | None = None
