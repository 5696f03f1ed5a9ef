"""The audit trail: who did what through the API, never with a key or secret in it."""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from pydantic import BaseModel, Field


class AuditRecord(NamedTuple):
    """One API request, as the audit log line and the stored admin action hold it (a tuple:
    one is made for every API request, and a tuple costs a third of a frozen dataclass)."""

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
