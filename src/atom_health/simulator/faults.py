"""The simulator's switchable state per provider: which fault is on, and what it has seen."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Fault(StrEnum):
    reject = "reject"  # credentials refused, in the provider's own shape
    forbidden = "forbidden"  # 403: valid credentials lacking permission
    rate_limit = "rate_limit"  # 429 (GitHub: 403 with x-ratelimit-remaining: 0), Retry-After
    server_error = "server_error"  # 503
    slow = "slow"  # answers correctly after delay_ms
    hang = "hang"  # never answers (until the client gives up)
    malformed = "malformed"  # 200 with a body that is not JSON
    reset = "reset"  # the connection closes mid-answer
    missing_scope = (
        "missing_scope"  # valid credentials without the scope, in the provider's dialect
    )
    wrong_token_type = "wrong_token_type"  # Slack: not_allowed_token_type
    quota_low = "quota_low"  # success, reporting 5% of the quota left
    quota_spent = "quota_spent"  # success, reporting none of the quota left
    expiring = "expiring"  # success, announcing the credential expires in expires_in_days
    empty = "empty"  # Xero: 200 with no connected organisation


class StatusPage(StrEnum):
    operational = "operational"
    incident = "incident"
    broken = "broken"  # the status page itself fails


class ProviderState(BaseModel):
    """What an operator or a test can switch on for one provider (``PUT /_admin/providers/{id}``)."""

    model_config = ConfigDict(extra="forbid")

    fault: Fault | None = None
    times: int | None = Field(
        default=None, ge=1, description="Apply the fault to this many API requests, then clear it"
    )
    delay_ms: int = Field(default=1500, ge=0, le=600_000, description="For the slow fault")
    retry_after: int = Field(default=1, ge=0, le=3600, description="For the rate_limit fault")
    retry_after_form: Literal["seconds", "http_date", "reset_epoch", "body"] = Field(
        default="seconds", description="How the rate_limit fault states its wait"
    )
    expires_in_days: float = Field(default=3.0, ge=-365, le=3650, description="For expiring")
    status_page: StatusPage = StatusPage.operational


class ProviderCounters(BaseModel):
    api_requests: int = 0
    token_requests: int = 0
    status_requests: int = 0
