"""The paths of the health API, named once: the server registers them, the integration tester
and the Python client call them. ``{service}`` is an integration id or alias."""

from __future__ import annotations

SERVICE_HEALTH = "/api/{service}/health"
OVERVIEW = "/api/integrations/health"
CONFIGURATION = "/api/integrations/config"
HISTORY = "/api/integrations/{service}/history"

# Compatibility aliases used by existing Atom front ends: the same data as the route they alias.
SERVICE_HEALTH_ALIASES = (
    "/api/integrations/{service}/health",
    "/api/v2/health/health/{service}",
    "/api/enhanced/integrations/{service}/health",
)
OVERVIEW_ALIASES = (
    "/api/v2/health/health/all",
    "/api/v2/health/health/summary",
    "/api/enhanced/health/overview",
)

# The bridge routes, served by every app: its verdict, its components, route discovery.
BRIDGE_HEALTH = "/api/bridge/health"
BRIDGE_STATUS = "/api/bridge/status"
DISCOVER = "/api/enhanced/management/discover"
