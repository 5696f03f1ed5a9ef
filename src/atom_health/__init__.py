"""atom-health: can each third-party integration work right now, and if not, why?"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from atom_health._version import __version__

if TYPE_CHECKING:
    from atom_health.monitor import HealthMonitor, UnknownIntegrationError
    from atom_health.sync import check_all_integrations_health, check_integration_health

__all__ = [
    "HealthMonitor",
    "UnknownIntegrationError",
    "__version__",
    "check_all_integrations_health",
    "check_integration_health",
]

_ENGINE = {"HealthMonitor", "UnknownIntegrationError"}
_SYNC = {"check_integration_health", "check_all_integrations_health"}


def __getattr__(name: str) -> Any:
    """The engine and the synchronous API (:mod:`atom_health.sync`, which wires a whole
    engine) load on first use: every module of ours runs this package first, and the model at
    the bottom, or the client, must not load the engine above them."""
    if name in _ENGINE:
        from atom_health import monitor

        return getattr(monitor, name)
    if name in _SYNC:
        from atom_health import sync

        return getattr(sync, name)
    raise AttributeError(f"module 'atom_health' has no attribute {name!r}")
