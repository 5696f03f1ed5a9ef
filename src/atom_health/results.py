"""Result models: the one definition of every health body the API, CLI and adapters return.

Field names follow the original Atom system exactly; fields it did not have are additive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from atom_health.catalog.model import Criticality


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


def utc_now() -> datetime:
    return datetime.now(UTC)


class ConfigurationCheck(BaseModel):
    """Which of an integration's required variables are set. Names only, never values."""

    status: CheckStatus = Field(description="pass when every required variable is set, else fail")
    configured: bool
    required_env_vars: list[str]
    present_env_vars: list[str]
    missing_env_vars: list[str]
    configuration_percentage: int = Field(ge=0, le=100)


class ApiAccessCheck(BaseModel):
    """Whether the provider accepted our credentials, from a live probe."""

    status: CheckStatus
    message: str


class Checks(BaseModel):
    configuration: ConfigurationCheck
    api_access: ApiAccessCheck


class ServiceHealth(BaseModel):
    """``GET /api/{service}/health``: the full answer for one integration."""

    ok: bool = Field(default=True, description="true when the check itself ran")
    status: Status
    service: str
    name: str
    criticality: Criticality
    timestamp: datetime
    is_mock: bool = False
    configured: bool
    message: str
    checks: Checks


class UnknownService(BaseModel):
    """The 404 body for a name that is not in the catalog."""

    ok: bool = False
    service: str
    status: Status = Status.unknown
    message: str


class ServiceSummary(BaseModel):
    """One integration's line in the overview."""

    status: Status
    configured: bool
    message: str
    missing_env_vars: list[str]
    criticality: Criticality


class OverviewSummary(BaseModel):
    total_services: int
    healthy_services: int
    degraded_services: int
    unhealthy_services: int
    overall_status: Status


class Overview(BaseModel):
    """``GET /api/integrations/health``: every enabled integration at a glance."""

    ok: bool = True
    timestamp: datetime
    summary: OverviewSummary
    services: dict[str, ServiceSummary]


class ConfigurationSummary(BaseModel):
    total_integrations: int
    fully_configured: int
    partially_configured: int
    not_configured: int


class ConfigurationReport(BaseModel):
    """``GET /api/integrations/config``: configuration only, no provider is called."""

    ok: bool = True
    timestamp: datetime
    integrations: dict[str, ConfigurationCheck]
    summary: ConfigurationSummary
