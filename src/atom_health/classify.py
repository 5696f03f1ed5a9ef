"""The one place that turns check results into a status, for one integration and for a set.

- ``healthy``: configured, and the provider accepted the credentials.
- ``degraded``: works with risk: slow, rate limited, passed only after transient errors,
  the vendor reports an incident, or only weaker evidence than a full probe was available.
- ``unhealthy``: cannot work: not configured, credentials rejected, provider unreachable
  after retries, or failing during a vendor outage.
- ``unknown``: not a known integration (decided by the caller, never here).

A caller that did not ask for a live probe (``api_access=None``) gets the status the
configuration alone supports.
"""

from __future__ import annotations

from collections.abc import Iterable

from atom_health.model.results import (
    ApiAccessCheck,
    Category,
    CheckStatus,
    ConfigurationCheck,
    Status,
    VendorStatus,
)

# What a failed probe's category makes of the API check. Rate limiting means the
# credentials work but we are being held back: a warning, not a failure.
_CHECK_STATUS_BY_CATEGORY = {
    Category.not_configured: CheckStatus.failed,
    Category.credentials_rejected: CheckStatus.failed,
    Category.permission_denied: CheckStatus.failed,
    Category.rate_limited: CheckStatus.warn,
    Category.timeout: CheckStatus.failed,
    Category.dns: CheckStatus.failed,
    Category.tls: CheckStatus.failed,
    Category.connect: CheckStatus.failed,
    Category.server_error: CheckStatus.failed,
    Category.bad_response: CheckStatus.failed,
    Category.vendor_outage: CheckStatus.failed,
    Category.credential_expiring: CheckStatus.warn,
    Category.test_credentials: CheckStatus.failed,
}

_STATUS_BY_CHECK = {
    CheckStatus.passed: Status.healthy,
    CheckStatus.warn: Status.degraded,
    CheckStatus.skip: Status.degraded,
    CheckStatus.failed: Status.unhealthy,
}

# Failures that a vendor's own incident explains: the provider side, not our configuration.
_VENDOR_EXPLAINED = frozenset(
    {Category.timeout, Category.connect, Category.server_error, Category.bad_response}
)


def check_status_for(category: Category) -> CheckStatus:
    return _CHECK_STATUS_BY_CATEGORY[category]


def vendor_could_explain(api_access: ApiAccessCheck) -> bool:
    """A failure on the provider's side, which a vendor incident would account for."""
    return api_access.status is CheckStatus.failed and api_access.category in _VENDOR_EXPLAINED


def attribute_to_vendor(api_access: ApiAccessCheck, vendor: VendorStatus | None) -> ApiAccessCheck:
    """A provider-side failure while the vendor reports trouble becomes ``vendor_outage``."""
    if vendor is None or not vendor.reports_trouble or not vendor_could_explain(api_access):
        return api_access
    original = api_access.category.value if api_access.category else "failure"
    return api_access.model_copy(
        update={
            "category": Category.vendor_outage,
            "message": f"{vendor.vendor} reports an incident ({vendor_summary(vendor)}) and the "
            f"check failed ({original}): the problem is on {vendor.vendor}'s side, not your "
            "configuration",
        }
    )


def vendor_summary(vendor: VendorStatus) -> str:
    """What a vendor's status page says, in our words only: its state and open incident
    count (their titles stay in ``vendor_status``; they are the provider's free text)."""
    count = len(vendor.incidents)
    incidents = f", {count} open incident{'s' if count != 1 else ''}" if count else ""
    return f"status page: {vendor.state.value}{incidents}"


def classify(
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck | None,
    vendor: VendorStatus | None = None,
) -> Status:
    if not configuration.configured:
        return Status.unhealthy
    if api_access is None:
        return Status.healthy
    status = _STATUS_BY_CHECK[api_access.status]
    if status is Status.healthy and vendor is not None and vendor.reports_trouble:
        return Status.degraded
    return status


_SCORE_POINTS = {
    Status.healthy: 100.0,
    Status.degraded: 50.0,
    Status.unhealthy: 0.0,
    Status.unknown: 0.0,
}
CRITICAL_WEIGHT = 2.0


def health_score(statuses: Iterable[tuple[Status, bool]]) -> float | None:
    """0-100: healthy 100, degraded 50, unhealthy 0, averaged with critical integrations
    counting twice. ``statuses`` holds (status, is_critical); None when empty."""
    weighted = [
        (_SCORE_POINTS[s], CRITICAL_WEIGHT if critical else 1.0) for s, critical in statuses
    ]
    total = sum(weight for _, weight in weighted)
    return round(sum(p * w for p, w in weighted) / total, 1) if total else None


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
