"""The audit trail: who did what through the API, never with a key or secret in it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import BaseModel, Field


@dataclass(frozen=True)
class AuditRecord:
    """One API request, as the audit log line and the stored admin action hold it."""

    at: float  # Unix time
    key: str  # the key's name, or "anonymous"
    role: str | None
    client: str
    method: str
    path: str
    status: int
    duration_ms: float


class AuditEntry(BaseModel):
    time: datetime
    key: str = Field(description="The key's name, or anonymous; never the key")
    role: str | None
    client: str = Field(description="Client address")
    method: str
    path: str
    status: int
    duration_ms: float


class AuditReport(BaseModel):
    """``GET /api/audit``: admin actions (state-changing requests), newest first."""

    ok: bool = True
    timestamp: datetime
    entries: list[AuditEntry]
