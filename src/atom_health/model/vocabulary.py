"""The shared words of atom-health: statuses, failure categories, evidence, criticality."""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    healthy = "healthy"
    degraded = "degraded"
    unhealthy = "unhealthy"
    unknown = "unknown"


class CheckStatus(StrEnum):
    passed = "pass"
    failed = "fail"
    warn = "warn"
    skip = "skip"


class Category(StrEnum):
    """Why a check did not pass: whose fault it is, and what to do."""

    not_configured = "not_configured"
    credentials_rejected = "credentials_rejected"
    permission_denied = "permission_denied"
    rate_limited = "rate_limited"
    timeout = "timeout"
    dns = "dns"
    tls = "tls"
    connect = "connect"
    server_error = "server_error"
    bad_response = "bad_response"
    vendor_outage = "vendor_outage"
    credential_expiring = "credential_expiring"
    test_credentials = "test_credentials"


class Evidence(StrEnum):
    """How much a passing probe proves."""

    full = "full"  # the provider accepted the credentials for a real API call
    client = "client"  # the provider recognised the OAuth client; no API call was possible


class Criticality(StrEnum):
    critical = "critical"
    normal = "normal"


class VendorState(StrEnum):
    operational = "operational"
    degraded = "degraded"
    outage = "outage"
    maintenance = "maintenance"
    unknown = "unknown"
