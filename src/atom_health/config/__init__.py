"""Settings: the config file (YAML or TOML) and the ``ATOM_HEALTH_*`` environment, composed."""

from atom_health.config.alerting import AlertingSettings
from atom_health.config.security import Role, SecuritySettings
from atom_health.config.settings import (
    CONFIG_ENV_VAR,
    DATABASE_ENV_VAR,
    REDIS_ENV_VAR,
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
    "CONFIG_ENV_VAR",
    "DATABASE_ENV_VAR",
    "REDIS_ENV_VAR",
    "AlertingSettings",
    "ClusterSettings",
    "ConfigError",
    "HistorySettings",
    "ProbeSettings",
    "Role",
    "SchedulerSettings",
    "SecuritySettings",
    "Settings",
    "load_settings",
    "parse_settings",
]
