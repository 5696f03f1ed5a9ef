"""The demo: the simulator with a realistic mix of troubles, and a system pointed at it."""

from __future__ import annotations

from typing import Any

from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.simulator import Simulator
from atom_health.system import HealthSystem

# What a newcomer sees: most healthy, and one of each kind of trouble.
DEMO_FAULTS: dict[str, dict[str, Any]] = {
    "slack": {"fault": "reject"},  # credentials refused: unhealthy, names SLACK_BOT_TOKEN
    "github": {"fault": "slow", "delay_ms": 2500},  # over the 2 s threshold: degraded
    "stripe": {"fault": None, "status_page": "incident"},  # works, vendor incident: degraded
    "hubspot": {"fault": "missing_scope"},  # MISSING_SCOPES: unhealthy, names the scope
    "linear": {"fault": "quota_low"},  # 5 % of the quota left: degraded
    "googledrive": {"fault": "expiring", "expires_in_days": 5},  # refresh token: degraded
}
NOT_CONFIGURED = ("trello",)  # its variables are left out: unhealthy, names them


def demo_system(simulator: Simulator, check_every: float = 15.0) -> HealthSystem:
    for provider, fault in DEMO_FAULTS.items():
        simulator.set_fault(provider, **fault)
    environ = {
        name: value
        for name, value in simulator.environment().items()
        if not any(name.startswith(p.upper() + "_") for p in NOT_CONFIGURED)
    }
    settings = Settings(
        scheduler=SchedulerSettings(interval_seconds=check_every, initial_spread_seconds=1),
        history=HistorySettings(database_url="memory://"),
    )
    return HealthSystem(settings, environ)
