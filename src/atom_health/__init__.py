"""atom-health: can each third-party integration work right now, and if not, why?"""

from atom_health._version import __version__
from atom_health.monitor import HealthMonitor, UnknownIntegrationError

__all__ = ["HealthMonitor", "UnknownIntegrationError", "__version__"]
