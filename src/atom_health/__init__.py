"""atom-health: can each third-party integration work right now, and if not, why?"""

from typing import Any

from atom_health._version import __version__
from atom_health.monitor import HealthMonitor, UnknownIntegrationError

__all__ = [
    "HealthMonitor",
    "UnknownIntegrationError",
    "__version__",
    "check_all_integrations_health",
    "check_integration_health",
]

_SYNC = {"check_integration_health", "check_all_integrations_health"}


def __getattr__(name: str) -> Any:
    """The synchronous API (:mod:`atom_health.sync`) loads on first use: it wires a whole
    engine, which ``import atom_health`` alone should not pay for."""
    if name in _SYNC:
        from atom_health import sync

        return getattr(sync, name)
    raise AttributeError(f"module 'atom_health' has no attribute {name!r}")
