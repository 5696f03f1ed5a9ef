"""Alerting settings (the ``alerting:`` section of the config file), with sensible defaults."""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from atom_health.catalog.entries import EnvName

Route = Literal["own", "vendor"]


def _own_route() -> list[Route]:
    return ["own"]


def _both_routes() -> list[Route]:
    return ["own", "vendor"]


def _log_only() -> list[Notifier]:
    return [LogNotifier(type="log")]


AlertOn = Literal["unhealthy", "degraded"]
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RuleOverride(_Strict):
    """Thresholds for one integration, under ``alerting.per_integration.<id>``."""

    failure_threshold: int | None = Field(default=None, ge=1, le=1000)
    success_threshold: int | None = Field(default=None, ge=1, le=1000)
    latency_threshold_ms: float | None = Field(default=None, gt=0)
    alert_on: AlertOn | None = None


class FlappingSettings(_Strict):
    window_seconds: float = Field(default=900, gt=0)
    max_changes: int = Field(
        default=4, ge=2, description="Status changes in the window that mean flapping"
    )


class MaintenanceWindow(_Strict):
    """Silences alerts. One-off (``start``/``end``) or recurring (``weekdays`` + times), in an
    IANA time zone (``timezone``, default UTC; an explicit offset in ``start``/``end`` wins).
    A recurring window whose end time is not after its start runs past midnight."""

    name: str = "maintenance"
    services: list[str] = Field(default_factory=list, description="Empty: every integration")
    start: datetime | None = None
    end: datetime | None = None
    weekdays: list[Weekday] = Field(default_factory=list)
    start_time: time | None = None
    end_time: time | None = None
    timezone: str = Field(default="UTC", description="IANA name, e.g. Europe/Berlin")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)"
            ) from None
        return name

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class WebhookNotifier(_Strict):
    type: Literal["webhook"]
    url: str = Field(pattern=r"^https?://")
    secret_env: EnvName | None = Field(default=None, description="Variable holding the HMAC key")
    timeout_seconds: float = Field(default=5, gt=0, le=60)
    routes: list[Route] = Field(default_factory=_own_route)


class SlackNotifier(_Strict):
    type: Literal["slack"]
    url_env: EnvName = Field(description="Variable holding the incoming-webhook URL (a secret)")
    timeout_seconds: float = Field(default=5, gt=0, le=60)
    routes: list[Route] = Field(default_factory=_own_route)


class EmailNotifier(_Strict):
    type: Literal["email"]
    host: str
    port: int = Field(default=587, ge=1, le=65535)
    starttls: bool = True
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    sender: str
    recipients: list[str] = Field(min_length=1)
    timeout_seconds: float = Field(default=10, gt=0, le=120)
    routes: list[Route] = Field(default_factory=_own_route)


class AppriseNotifier(_Strict):
    """Any service Apprise knows (Teams, Discord, Telegram, ntfy, Opsgenie, ...), by URL."""

    type: Literal["apprise"]
    url_env: EnvName = Field(
        description="Variable holding the Apprise URL(s), e.g. discord://..., msteams://... "
        "(they carry tokens: a secret); several separated by spaces or commas"
    )
    routes: list[Route] = Field(default_factory=_own_route)


class PagerDutyNotifier(_Strict):
    """PagerDuty Events API v2: the alert key is the dedup_key, so resolving closes it."""

    type: Literal["pagerduty"]
    routing_key_env: EnvName = Field(description="Variable holding the integration key")
    url: str = Field(
        default="https://events.pagerduty.com",
        pattern=r"^https?://",
        description="Events API base URL (overridable for tests and proxies)",
    )
    source: str = Field(default="atom-health", min_length=1, max_length=255)
    timeout_seconds: float = Field(default=5, gt=0, le=60)
    routes: list[Route] = Field(default_factory=_own_route)


class LogNotifier(_Strict):
    type: Literal["log"]
    routes: list[Route] = Field(default_factory=_both_routes)


Notifier = Annotated[
    WebhookNotifier
    | SlackNotifier
    | EmailNotifier
    | AppriseNotifier
    | PagerDutyNotifier
    | LogNotifier,
    Field(discriminator="type"),
]


class AlertingSettings(_Strict):
    enabled: bool = True
    dashboard_url: str = Field(default="http://127.0.0.1:8000/", description="Linked from alerts")
    alert_on: AlertOn = Field(
        default="unhealthy", description="degraded: a degraded integration opens a warning too"
    )
    failure_threshold: int = Field(default=2, ge=1, le=1000, description="Bad checks to open")
    success_threshold: int = Field(default=2, ge=1, le=1000, description="Good checks to resolve")
    critical_failure_threshold: int = Field(default=1, ge=1, le=1000)
    send_on_resolved: bool = True
    group_threshold: int = Field(
        default=3, ge=2, description="This many unhealthy at once: one alert"
    )
    latency_threshold_ms: float | None = Field(default=None, gt=0, description="Off when null")
    latency_checks: int = Field(default=3, ge=1)
    reminder_interval_seconds: float = Field(default=3600, ge=300, description="At least 5 minutes")
    vendor_incidents: bool = Field(default=True, description="Informational alerts, route vendor")
    flapping: FlappingSettings = Field(default_factory=FlappingSettings)
    maintenance: list[MaintenanceWindow] = Field(default_factory=list)
    per_integration: dict[str, RuleOverride] = Field(default_factory=dict)
    delivery_backoff_max_seconds: float = Field(
        default=60, gt=0, description="Retries wait at most this long (exponential, jittered)"
    )
    outbox_limit: int = Field(
        default=10_000, ge=10, description="Pending notifications kept; past it the oldest drop"
    )
    notifiers: list[Notifier] = Field(default_factory=_log_only)
