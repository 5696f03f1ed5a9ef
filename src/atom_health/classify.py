"""The one place that turns check results into a status, for one integration and for a set.

- ``healthy``: configured, and the provider accepted the credentials.
- ``degraded``: works with risk, or only weaker evidence than a live probe was available.
- ``unhealthy``: cannot work: not configured, or the provider refused or could not be reached.
- ``unknown``: not a known integration (decided by the caller, never here).

A caller that did not ask for a live probe (``api_access=None``) gets the status the
configuration alone supports.
"""

from __future__ import annotations

from collections.abc import Iterable

from atom_health.results import ApiAccessCheck, CheckStatus, ConfigurationCheck, Status

_BY_API_STATUS = {
    CheckStatus.passed: Status.healthy,
    CheckStatus.warn: Status.degraded,
    CheckStatus.skip: Status.degraded,
    CheckStatus.failed: Status.unhealthy,
}


def classify(configuration: ConfigurationCheck, api_access: ApiAccessCheck | None) -> Status:
    if not configuration.configured:
        return Status.unhealthy
    if api_access is None:
        return Status.healthy
    return _BY_API_STATUS[api_access.status]


def overall_status(statuses: Iterable[Status]) -> Status:
    """Healthy when all are, unhealthy when none is, degraded otherwise; unknown when empty."""
    listed = list(statuses)
    if not listed:
        return Status.unknown
    healthy = sum(1 for status in listed if status is Status.healthy)
    if healthy == len(listed):
        return Status.healthy
    if healthy == 0:
        return Status.unhealthy
    return Status.degraded
