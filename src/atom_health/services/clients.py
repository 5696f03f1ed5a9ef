"""Provider API clients by integration id. An integration without one gets the plain
:class:`~atom_health.services.base.IntegrationService` (probes only)."""

from __future__ import annotations

from atom_health.services.base import IntegrationService
from atom_health.services.hubspot import HubSpotClient

PROVIDER_CLIENTS: dict[str, type[IntegrationService]] = {"hubspot": HubSpotClient}
