"""The bridge routes' answers (``/api/bridge/health``, ``/api/bridge/status``,
``/api/enhanced/management/discover``): the server builds them, the integration tester
validates them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from atom_health.model.results import Status

Framework = Literal["fastapi", "flask"]


class DiscoveredRoute(BaseModel):
    method: str
    path: str
    framework: Framework
    integration: str | None


class Discovery(BaseModel):
    """``GET /api/enhanced/management/discover``."""

    ok: bool = True
    timestamp: datetime
    total: int
    frameworks: dict[str, int]
    routes: list[DiscoveredRoute]


class Component(BaseModel):
    status: Status
    framework: str
    message: str
    latency_ms: float | None = None


class BridgeStatus(BaseModel):
    """``GET /api/bridge/status``: each framework's app and each back-end service."""

    ok: bool = True
    bridge_system_used: bool = Field(
        description="True when another framework's app (Flask) is mounted in this process"
    )
    timestamp: datetime
    status: Status
    health_percentage: float
    framework_distribution: dict[str, int]
    frameworks: dict[str, Component]
    services: dict[str, Component]


class BridgeHealth(BaseModel):
    """``GET /api/bridge/health``: the bridge's verdict alone."""

    ok: bool = True
    bridge_system_used: bool
    timestamp: datetime
    status: Status
    health_percentage: float
