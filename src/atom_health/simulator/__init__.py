"""A local stand-in for every built-in provider, for tests, benchmarks, demos and rehearsals."""

from __future__ import annotations

from typing import Any, Self

import httpx

from atom_health.serving import ThreadedServer
from atom_health.simulator.app import Simulation, create_simulator_app
from atom_health.simulator.hubspot_crm import SEED_COUNTS, seed
from atom_health.simulator.providers import CREDENTIALS, PROVIDERS, environment

__all__ = [
    "CREDENTIALS",
    "PROVIDERS",
    "Simulation",
    "Simulator",
    "create_simulator_app",
    "environment",
]


class Simulator(ThreadedServer):
    """The simulator served on loopback in a background thread, with its admin API at hand."""

    def __init__(self, host: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(create_simulator_app(), host=host, port=port, timeout_graceful_shutdown=2)

    def start(self, timeout: float = 10.0) -> Self:
        for object_type in SEED_COUNTS:  # generate HubSpot's records before the first request
            seed(object_type)
        return super().start(timeout)

    def environment(self) -> dict[str, str]:
        """Variables that point atom-health here, with valid credentials for every provider."""
        return environment(self.url)

    def set_fault(self, provider: str, fault: str | None = None, **options: Any) -> dict[str, Any]:
        """Switch a provider's fault (see ``ProviderState``); e.g. ``set_fault("slack", "reject")``."""
        body = {"fault": fault, **options}
        response = httpx.put(f"{self.url}/_admin/providers/{provider}", json=body)
        response.raise_for_status()
        result: dict[str, Any] = response.json()
        return result

    def set_latency(self, latency_ms: int) -> None:
        httpx.put(f"{self.url}/_admin/latency", json={"latency_ms": latency_ms}).raise_for_status()

    def revoke_tokens(self, provider: str) -> None:
        httpx.post(f"{self.url}/_admin/providers/{provider}/revoke-tokens").raise_for_status()

    def set_hubspot_limits(self, **limits: int) -> None:
        """The simulated HubSpot account's limits (``interval_max``, ``interval_ms``, ``daily``)."""
        httpx.put(f"{self.url}/_admin/hubspot/limits", json=limits).raise_for_status()

    def set_webhook_state(self, provider: str, state: str) -> None:
        """What ``provider``'s API reports about our webhook endpoint (see the admin API)."""
        httpx.put(
            f"{self.url}/_admin/webhooks/{provider}", json={"state": state}
        ).raise_for_status()

    def reset(self) -> None:
        httpx.post(f"{self.url}/_admin/reset").raise_for_status()

    def peak_in_flight(self) -> int:
        """The most provider requests it has held at once since the last reset."""
        peak: int = httpx.get(f"{self.url}/_admin/state").json()["peak_in_flight"]
        return peak

    def state(self, provider: str) -> dict[str, Any]:
        providers: dict[str, Any] = httpx.get(f"{self.url}/_admin/state").json()["providers"]
        return dict(providers[provider])
