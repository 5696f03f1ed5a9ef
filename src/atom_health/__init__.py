"""atom-health: can each third-party integration work right now, and if not, why?"""

__version__ = "0.1.0"

from atom_health.monitor import HealthMonitor, UnknownIntegrationError

__all__ = ["HealthMonitor", "UnknownIntegrationError", "__version__"]
