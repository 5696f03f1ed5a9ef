"""History arithmetic: incidents from results, uptime, MTTR/MTBF, latency percentiles. Pure.

Definitions (documented in the README):
- *uptime* is check-weighted, as in Gatus: the share of checks in the window whose
  status was healthy or degraded (degraded can work). Time with no checks counts for
  nothing either way. *Uptime excluding vendor* leaves out checks that failed because of
  the vendor's own outage.
- an *incident* is a spell of not-healthy: it opens at the first degraded or unhealthy
  result and closes at the next healthy one. Its worst status and cause category are kept.
- *MTTR* is the mean duration of incidents that ended in the window; *MTBF* is the mean
  healthy time between the end of one incident and the start of the next.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from atom_health.model.history import CheckRecord, Incident, StatusCounts
from atom_health.model.vocabulary import Category, Status

_SEVERITY = {Status.healthy: 0, Status.unknown: 0, Status.degraded: 1, Status.unhealthy: 2}


class IncidentTracker:
    """Follows each integration's results in time order and keeps its open incident."""

    def __init__(self, open_incidents: Iterable[Incident] = ()) -> None:
        self.open: dict[str, Incident] = {i.integration: i for i in open_incidents}

    def observe(self, record: CheckRecord) -> Incident | None:
        """Update incidents with one result; returns the incident it opened, changed or closed."""
        current = self.open.get(record.integration)
        if record.status is Status.healthy:
            if current is None:
                return None
            current.ended_at = record.checked_at
            del self.open[record.integration]
            return current
        if current is None:
            current = Incident(
                integration=record.integration,
                started_at=record.checked_at,
                worst_status=record.status,
                category=record.category,
                message=record.message,
            )
            self.open[record.integration] = current
            return current
        if _SEVERITY[record.status] > _SEVERITY[current.worst_status]:
            current.worst_status = record.status
            current.category = record.category or current.category
            current.message = record.message
        elif current.category is None and record.category:
            current.category = record.category
        return current


def incidents_from(records: Iterable[CheckRecord]) -> list[Incident]:
    """Every incident in a history (ordered by time within each integration)."""
    tracker = IncidentTracker()
    seen: dict[int, Incident] = {}
    for record in sorted(records, key=lambda r: r.checked_at):
        changed = tracker.observe(record)
        if changed is not None:
            seen[id(changed)] = changed
    return sorted(seen.values(), key=lambda i: (i.integration, i.started_at))


@dataclass(frozen=True)
class IncidentStats:
    count: int
    open: int
    mttr_seconds: float | None
    mtbf_seconds: float | None
    own_seconds: float  # incident time in the window not caused by the vendor
    vendor_seconds: float  # incident time in the window caused by the vendor's outage


def incident_stats(
    incidents: Sequence[Incident], since: float, until: float, now: float
) -> IncidentStats:
    """Incident figures for the window [since, until]; open incidents run until ``now``."""
    inside = [
        i for i in incidents if i.started_at < until and (i.ended_at is None or i.ended_at > since)
    ]
    own = vendor = 0.0
    for incident in inside:
        end = min(incident.ended_at if incident.ended_at is not None else now, until)
        clipped = max(0.0, end - max(incident.started_at, since))
        if incident.category == Category.vendor_outage:
            vendor += clipped
        else:
            own += clipped
    repaired = [i.duration(now) for i in inside if i.ended_at is not None and i.ended_at <= until]
    by_integration: dict[str, list[Incident]] = {}
    for incident in sorted(inside, key=lambda i: i.started_at):
        by_integration.setdefault(incident.integration, []).append(incident)
    gaps = [
        later.started_at - earlier.ended_at
        for spells in by_integration.values()
        for earlier, later in itertools.pairwise(spells)
        if earlier.ended_at is not None
    ]
    return IncidentStats(
        count=len(inside),
        open=sum(1 for i in inside if i.open),
        mttr_seconds=round(sum(repaired) / len(repaired), 3) if repaired else None,
        mtbf_seconds=round(sum(gaps) / len(gaps), 3) if gaps else None,
        own_seconds=round(own, 3),
        vendor_seconds=round(vendor, 3),
    )


def uptime_percentages(counts: StatusCounts) -> tuple[float | None, float | None]:
    """(uptime %, uptime % excluding checks failed by a vendor outage); None without data."""
    if counts.total == 0:
        return None, None
    up = counts.healthy + counts.degraded
    ours = counts.total - counts.vendor_outage
    return round(100 * up / counts.total, 4), (round(100 * up / ours, 4) if ours else None)
