"""Settings: the config file (YAML or TOML) and the ``ATOM_HEALTH_*`` environment, composed."""

from atom_health.config.alerting import AlertingSettings
from atom_health.config.environment import ProcessEnvironment, read_environment
from atom_health.config.security import Role, SecuritySettings
from atom_health.config.settings import (
    DEFAULT_DATABASE_URL,
    ClusterSettings,
    HistorySettings,
    ProbeSettings,
    SchedulerSettings,
    Settings,
    load_settings,
    parse_settings,
)
from atom_health.model.errors import ConfigError

__all__ = [
    "DEFAULT_DATABASE_URL",
    "AlertingSettings",
    "ClusterSettings",
    "ConfigError",
    "HistorySettings",
    "ProbeSettings",
    "ProcessEnvironment",
    "Role",
    "SchedulerSettings",
    "SecuritySettings",
    "Settings",
    "load_settings",
    "parse_settings",
    "read_environment",
]
