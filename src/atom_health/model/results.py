"""Result models: the one definition of every health body the API, CLI and adapters return.

Field names follow the original Atom system exactly; fields it did not have are additive.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from atom_health.model.vocabulary import (
    Category,
    CheckStatus,
    Criticality,
    Evidence,
    Status,
    VendorState,
)

__all__ = ["Category", "CheckStatus", "Criticality", "Evidence", "Status", "VendorState"]


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
    fingerprints: dict[str, str] = Field(
        default_factory=dict,
        description="Each set variable -> a short HMAC of its value with this installation's "
        "key: tells which credential is deployed, never what it is",
    )


BreakerState = Literal["closed", "open", "half_open"]


class BreakerSnapshot(BaseModel):
    state: BreakerState
    consecutive_failures: int
    retry_in_seconds: float | None = Field(
        default=None, description="When open: seconds until a trial call is allowed"
    )


class Quota(BaseModel):
    """The request quota the provider reported on its answer."""

    remaining: int
    limit: int | None = None
    resets_at: datetime | None = None


class Scopes(BaseModel):
    """Scopes: granted (as the provider reports them; null when it does not), needed (the
    catalog's), and missing (needed and not granted, or named by the provider's refusal)."""

    granted: list[str] | None = None
    needed: list[str] = Field(default_factory=list)
    missing: list[str] = Field(default_factory=list)


class CredentialExpiry(BaseModel):
    """When a credential stops working, and which variable holds it."""

    variable: str
    expires_at: datetime
    days_left: float
    source: Literal["provider", "jwt", "grant"] = Field(
        description="provider: an answer header; jwt: the token's exp; grant: the token answer"
    )


class CallStats(BaseModel):
    """Calls made to a provider (overall or for one operation), by final outcome."""

    calls: int
    successes: int
    errors: dict[str, int] = Field(description="Failed calls by category")
    success_rate: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None


class ApiAccessCheck(BaseModel):
    """Whether the provider accepted our credentials, from a live probe."""

    status: CheckStatus
    message: str
    method: str | None = Field(default=None, description="The probe used, e.g. POST /auth.test")
    http_status: int | None = None
    latency_ms: float | None = None
    category: Category | None = None
    attempts: int | None = None
    evidence: Evidence | None = None
    breaker: BreakerSnapshot | None = None
    provider_code: str | None = Field(default=None, description="The provider's own error code")
    quota: Quota | None = None
    scopes: Scopes | None = None
    credential: CredentialExpiry | None = None


class AffectedComponent(BaseModel):
    name: str
    status: str


class VendorStatus(BaseModel):
    """What the provider's own status page says. A page that fails is ``unknown``, never down."""

    vendor: str = Field(description="The provider's display name")
    state: VendorState
    indicator: str | None = Field(default=None, description="The page's own indicator value")
    description: str | None = None
    affected_components: list[AffectedComponent] = Field(default_factory=list)
    incidents: list[str] = Field(default_factory=list, description="Open incident names")
    scheduled_maintenance: list[str] = Field(default_factory=list)
    page_url: str | None = None
    message: str

    @property
    def reports_trouble(self) -> bool:
        return self.state in (VendorState.degraded, VendorState.outage) or bool(self.incidents)

    @property
    def headline(self) -> str:
        """The one phrase to show: the first open incident, else the page's description."""
        return self.incidents[0] if self.incidents else self.description or self.state.value


class AuthState(BaseModel):
    """A provider client's credential: which kind, and (OAuth) its renewals. Names, no values."""

    kind: Literal["token", "oauth"]
    variables: list[str] = Field(description="The variables holding the credential")
    renewals: int = 0
    last_renewed: datetime | None = None
    expires_in_seconds: float | None = Field(
        default=None, description="OAuth: seconds until the access token is renewed"
    )
    last_failure: Category | None = Field(default=None, description="Why the last renewal failed")


class ProviderQuota(BaseModel):
    """The provider's request limits as its last answers reported them (HubSpot's
    ``X-HubSpot-RateLimit-*`` headers, 429 policy names)."""

    interval_limit: int | None = None
    interval_remaining: int | None = None
    interval_ms: int | None = None
    daily_limit: int | None = None
    daily_remaining: int | None = None
    last_policy: str | None = Field(default=None, description="Policy of the last 429, e.g. DAILY")
    observed_at: datetime | None = None


class ServicePart(BaseModel):
    status: CheckStatus
    message: str
    category: Category | None = None


class ApiPart(ServicePart):
    """The live call: the probe's verdict, and every call our client made to the provider."""

    calls: CallStats | None = None
    operations: dict[str, CallStats] = Field(default_factory=dict)
    rate_limit: ProviderQuota | None = None


class AuthPart(ServicePart):
    """The credential and grant state."""

    credential: AuthState | None = None


class WebhookEndpoint(BaseModel):
    """Our endpoint as the provider's own API reports it (Stripe webhook endpoints, GitHub
    hook deliveries)."""

    source: str = Field(description="The API read, e.g. GET /v1/webhook_endpoints")
    state: str = Field(description="enabled, disabled, failing, ok, not_found or unknown")
    detail: str
    http_status: int | None = None


class WebhooksPart(ServicePart):
    """Whether the provider's webhook deliveries reach us, signed with the secret we hold."""

    scheme: str | None = Field(default=None, description="The signature scheme, e.g. stripe")
    signing_secret_env: str | None = None
    last_verified_at: datetime | None = None
    deliveries_last_hour: int = 0
    signature_failures_last_hour: int = 0
    expected_interval_seconds: float | None = None
    endpoint: WebhookEndpoint | None = None


class ServiceParts(BaseModel):
    """``services: {api, auth, webhooks}`` of a per-integration health answer."""

    api: ApiPart
    auth: AuthPart
    webhooks: WebhooksPart


class Checks(BaseModel):
    configuration: ConfigurationCheck
    api_access: ApiAccessCheck
    vendor_status: VendorStatus | None = None


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
    cached: bool = Field(default=False, description="true when served from the result cache")
    pending: bool = Field(
        default=False,
        description="true when the check was still running at the overview's deadline: "
        "this is its last known result",
    )
    age_seconds: float | None = Field(
        default=None,
        description="How old the result is, in seconds, when a refresh inside the refresh "
        "window was answered with the newest result instead of a new check",
    )
    services: ServiceParts | None = Field(
        default=None, description="The answer in three parts: api, auth and webhooks"
    )
    version: str = Field(default="", description="The atom-health version that answered")
    bridge_system_used: bool = Field(
        default=False, description="true when this process also serves another framework's app"
    )

    @computed_field(description='Always "connected": atom-health itself answered')  # type: ignore[prop-decorator]
    @property
    def backend(self) -> Literal["connected"]:
        return "connected"


class UnknownService(BaseModel):
    """The 404 body for a name that is not in the catalog."""

    ok: bool = False
    service: str
    status: Status = Status.unknown
    message: str


class ProviderError(BaseModel):
    """The error body of a route that calls a provider for the caller (``/api/hubspot/...``):
    the same category and message the health check would give, never the provider's text."""

    ok: bool = False
    service: str
    error: str = Field(description="A category, or not_found / invalid_request / conflict")
    category: Category | None = None
    message: str
    code: str | None = Field(default=None, description="The provider's error code")
    http_status: int | None = Field(default=None, description="The provider's HTTP status")
    retry_after_seconds: float | None = None


class ServiceSummary(BaseModel):
    """One integration's line in the overview."""

    status: Status
    configured: bool
    message: str
    missing_env_vars: list[str]
    criticality: Criticality
    category: Category | None = Field(default=None, description="Why the live check failed")
    uptime_24h: float | None = Field(
        default=None, description="Uptime % over the last 24 h (null without history)"
    )
    last_checked: datetime | None = Field(default=None, description="Latest stored check")
    pending: bool = Field(
        default=False, description="Still being checked; this line is the last known result"
    )
    checked_at: datetime | None = Field(
        default=None,
        description="When this line's result was checked: its age now is the reader's clock "
        "minus this",
    )
    age_seconds: float | None = Field(
        default=None,
        description="How old this line's result was at the overview's timestamp (the answer "
        "changes only when its inputs do, so it can be revalidated with its ETag)",
    )


class OverviewSummary(BaseModel):
    total_services: int
    healthy_services: int
    degraded_services: int
    unhealthy_services: int
    overall_status: Status
    health_score: float | None = Field(
        default=None,
        description="0-100: healthy 100, degraded 50, unhealthy 0; critical ones count twice",
    )


class Overview(BaseModel):
    """``GET /api/integrations/health``: every enabled integration at a glance."""

    ok: bool = True
    timestamp: datetime = Field(
        description="When this answer was made; a cached answer keeps it until a result, "
        "the configuration or the history changes"
    )
    summary: OverviewSummary
    services: dict[str, ServiceSummary]
    version: str = Field(default="", description="The atom-health version that answered")
    bridge_system_used: bool = Field(
        default=False, description="true when this process also serves another framework's app"
    )

    @computed_field(description="The overall status (as summary.overall_status)")  # type: ignore[prop-decorator]
    @property
    def status(self) -> Status:
        return self.summary.overall_status

    @computed_field(description='Always "connected": atom-health itself answered')  # type: ignore[prop-decorator]
    @property
    def backend(self) -> Literal["connected"]:
        return "connected"

    @computed_field(description="Integrations that can work now: healthy or degraded")  # type: ignore[prop-decorator]
    @property
    def connected_count(self) -> int:
        return self.summary.healthy_services + self.summary.degraded_services

    @computed_field(description="How many integrations the answer covers")  # type: ignore[prop-decorator]
    @property
    def total_services(self) -> int:
        return self.summary.total_services


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


class HistoryItem(BaseModel):
    checked_at: datetime
    status: Status
    category: Category | None
    latency_ms: float | None
    http_status: int | None
    vendor_state: VendorState | None
    message: str


class HistoryPage(BaseModel):
    """``GET /api/integrations/{name}/history``: stored results, newest first."""

    ok: bool = True
    service: str
    since: datetime
    until: datetime
    total: int
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last")
    items: list[HistoryItem]


class ConfigEventItem(BaseModel):
    at: datetime
    variable: str = Field(description="The variable's name (never its value)")
    change: str = Field(description="missing, present, or changed (a new credential)")


class ConfigEventsReport(BaseModel):
    """``GET /api/integrations/{name}/events``: configuration changes, newest first."""

    ok: bool = True
    service: str
    since: datetime
    until: datetime
    events: list[ConfigEventItem]


class WindowStats(BaseModel):
    """Uptime, latency and incident figures for one time window."""

    since: datetime
    until: datetime
    checks: int
    healthy_checks: int
    degraded_checks: int
    unhealthy_checks: int
    uptime_percentage: float | None = Field(description="Healthy or degraded checks, %")
    uptime_excluding_vendor_percentage: float | None = Field(
        description="The same, leaving out checks failed by the vendor's own outage"
    )
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    latency_p99_ms: float | None
    latency_source: Literal["raw", "rollups"] | None
    incidents: int
    open_incidents: int
    mttr_seconds: float | None
    mtbf_seconds: float | None
    downtime_seconds: float = Field(description="Time in incidents not caused by the vendor")
    vendor_downtime_seconds: float = Field(description="Time in incidents the vendor caused")


class UptimeReport(BaseModel):
    """``GET /api/integrations/{name}/uptime``."""

    ok: bool = True
    service: str
    timestamp: datetime
    windows: dict[str, WindowStats]


class IncidentItem(BaseModel):
    id: int
    service: str
    started_at: datetime
    ended_at: datetime | None
    duration_seconds: float
    open: bool
    worst_status: Status
    category: Category | None
    message: str


class IncidentsReport(BaseModel):
    """``GET /api/incidents``: open incidents and recent ones, newest first."""

    ok: bool = True
    timestamp: datetime
    open_incidents: int
    mttr_seconds: float | None
    mtbf_seconds: float | None
    incidents: list[IncidentItem]


class ServiceRow(BaseModel):
    """One integration's latest state, as the dashboard shows it (and the live stream sends)."""

    service: str
    name: str
    criticality: Criticality
    status: Status
    message: str
    configured: bool
    missing_env_vars: list[str]
    category: Category | None
    vendor_incident: str | None = Field(description="The vendor's open incident, if any")
    latency_ms: float | None
    checked_at: datetime

    @classmethod
    def of(cls, result: ServiceHealth) -> ServiceRow:
        vendor = result.checks.vendor_status
        return cls(
            service=result.service,
            name=result.name,
            criticality=result.criticality,
            status=result.status,
            message=result.message,
            configured=result.configured,
            missing_env_vars=result.checks.configuration.missing_env_vars,
            category=result.checks.api_access.category,
            vendor_incident=vendor.headline
            if vendor is not None and vendor.reports_trouble
            else None,
            latency_ms=result.checks.api_access.latency_ms,
            checked_at=result.timestamp,
        )


class Segment(BaseModel):
    """One hour or day of an uptime bar."""

    start: datetime
    checks: int
    uptime_percentage: float | None


class DashboardService(ServiceRow):
    uptime: dict[str, float | None] = Field(description="Uptime % over 24h, 7d and 30d")
    bars: dict[str, list[Segment]] = Field(description="24h: hourly; 7d and 30d: daily")
    latencies: list[float] = Field(description="Recent check latencies, oldest first")


class Dashboard(BaseModel):
    """``GET /api/dashboard``: everything the main view shows, in one request."""

    ok: bool = True
    timestamp: datetime
    summary: OverviewSummary
    disabled: list[str] = Field(
        default_factory=list, description="Integrations switched off (not checked, not shown)"
    )
    services: list[DashboardService]


class LiveEvent(BaseModel):
    """One message of ``GET /api/events``: a fresh result and the new summary."""

    row: ServiceRow
    summary: OverviewSummary


class DeliveryItem(BaseModel):
    """One delivery attempt."""

    notifier: str
    action: str
    attempt: int
    at: datetime
    ok: bool
    error: str | None


class NotificationItem(BaseModel):
    """One alert event for one notifier (a row of the outbox), with its attempts."""

    id: int
    alert_id: int
    notifier: str
    action: str
    state: str = Field(description="pending, delivered, dropped (outbox full) or silenced")
    idempotency_key: str = Field(description="The same on every delivery of this event")
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None = Field(description="When pending: the next try")
    delivered_at: datetime | None
    last_error: str | None
    deliveries: list[DeliveryItem]


class Acknowledgement(BaseModel):
    at: datetime
    by: str
    comment: str


class AlertItem(BaseModel):
    id: int
    key: str
    kind: str
    services: list[str]
    severity: str
    route: str = Field(description="own: our failures; vendor: the vendor's incidents")
    title: str
    message: str
    opened_at: datetime
    resolved_at: datetime | None
    open: bool
    acknowledged: Acknowledgement | None = Field(description="Reminders stop until it resolves")
    notifications: list[NotificationItem]


class SilenceItem(BaseModel):
    id: int
    integrations: list[str]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    created_at: datetime
    active: bool


class AlertsReport(BaseModel):
    """``GET /api/alerts``: a page of alerts, newest first, each with its notifications and
    every delivery attempt; active maintenance windows and silences."""

    ok: bool = True
    timestamp: datetime
    open_alerts: int
    total: int = Field(description="Alerts matching the filters")
    next_offset: int | None
    maintenance: list[str] = Field(description="Maintenance windows active now")
    silences: list[SilenceItem] = Field(description="Silences active now")
    alerts: list[AlertItem]


class NotificationsReport(BaseModel):
    """``GET /api/alerts/notifications``: the outbox, oldest first."""

    ok: bool = True
    timestamp: datetime
    total: int
    next_offset: int | None
    notifications: list[NotificationItem]


class SilencesReport(BaseModel):
    ok: bool = True
    timestamp: datetime
    silences: list[SilenceItem]


class AcknowledgeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    author: str = Field(min_length=1, max_length=200, description="Who acknowledges")
    comment: str = Field(default="", max_length=2000)


class SilenceRequest(BaseModel):
    """A silence, as Alertmanager takes one: matchers (integrations), an end (a duration
    such as ``2h``, ``90m``, ``1h30m`` or an ``ends_at`` time), an author and a comment."""

    model_config = ConfigDict(extra="forbid")

    integrations: list[str] = Field(min_length=1, max_length=100)
    duration: str | None = Field(default=None, pattern=r"^(\d+d)?(\d+h)?(\d+m)?(\d+s)?$")
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    created_by: str = Field(min_length=1, max_length=200)
    comment: str = Field(min_length=1, max_length=2000)
