"""The user config file (YAML or TOML): its schema, and loading it with errors a person can act on.

A malformed file, an unknown field or an invalid value is refused as a whole with
:class:`ConfigError`, whose message names the file, the field and the problem.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, ValidationError

from atom_health.catalog.entries import BackendEntry, IntegrationEntry, IntegrationId
from atom_health.config.alerting import AlertingSettings
from atom_health.model.errors import ConfigError

CONFIG_ENV_VAR = "ATOM_HEALTH_CONFIG"
DATABASE_ENV_VAR = "ATOM_HEALTH_DATABASE_URL"
REDIS_ENV_VAR = "ATOM_HEALTH_REDIS_URL"


class ProbeSettings(BaseModel):
    """How live checks call providers. Defaults suit production; tests shorten them."""

    model_config = ConfigDict(extra="forbid")

    attempt_timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    deadline_seconds: float = Field(default=10.0, gt=0, le=300)
    max_retries: int = Field(default=2, ge=0, le=10)
    backoff_base_seconds: float = Field(default=0.2, ge=0, le=60)
    backoff_max_seconds: float = Field(default=2.0, ge=0, le=300)
    retry_after_cap_seconds: float = Field(default=5.0, ge=0, le=300)
    breaker_threshold: int = Field(default=5, ge=1, le=1000)
    breaker_reset_seconds: float = Field(default=30.0, gt=0, le=3600)
    concurrency: int = Field(default=50, ge=1, le=10_000)
    slow_threshold_ms: float = Field(default=2000.0, gt=0)
    quota_warn_share: float = Field(
        default=0.1, ge=0, le=1, description="Warn when less than this share of a quota is left"
    )
    credential_warn_days: float = Field(
        default=14.0, ge=0, le=3650, description="Warn this many days before a credential expires"
    )
    vendor_status: bool = Field(default=True, description="Read providers' status pages")
    vendor_timeout_seconds: float = Field(default=3.0, gt=0, le=60)
    vendor_cache_seconds: float = Field(default=60.0, ge=0, le=3600)


class SchedulerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(default=True, description="Off for API-only replicas")
    interval_seconds: float = Field(default=60.0, ge=0.1, le=86_400)
    initial_spread_seconds: float = Field(
        default=5.0, ge=0, le=3600, description="First checks start at random within this"
    )


class HistorySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str = Field(
        default="sqlite:///atom-health.db",
        description="SQLAlchemy URL, or memory://; $ATOM_HEALTH_DATABASE_URL wins",
    )
    raw_retention_days: float = Field(default=30.0, gt=0, le=3650)
    maintenance_interval_seconds: float = Field(default=3600.0, ge=10, le=86_400)


class ClusterSettings(BaseModel):
    """How replicas cooperate through Redis (only used when a Redis URL is set)."""

    model_config = ConfigDict(extra="forbid")

    key_prefix: str = Field(
        default="atom-health", min_length=1, max_length=100, description="Namespace of our keys"
    )
    lease_seconds: float = Field(
        default=10.0,
        ge=0.3,
        le=600,
        description="Scheduler lease; a dead holder's role moves after it",
    )
    claim_idle_seconds: float = Field(
        default=30.0,
        ge=0.5,
        le=3600,
        description="A handed-out check unacknowledged this long is taken over by another replica",
    )
    retry_seconds: float = Field(
        default=1.0, ge=0.1, le=60, description="How often an unreachable Redis is tried again"
    )
    operation_timeout_seconds: float = Field(default=1.0, gt=0, le=30)


class Settings(BaseModel):
    """The whole config file. Every field has a default, so an absent file means defaults."""

    model_config = ConfigDict(extra="forbid")

    cache_ttl_seconds: float = Field(default=30.0, ge=0, le=86_400)
    batch_deadline_seconds: float = Field(
        default=2.0, gt=0, le=300, description="The overview answers within this, never later"
    )
    fingerprint_key: SecretStr | None = Field(
        default=None,
        min_length=16,
        description="Key for credential fingerprints; default: a file beside a SQLite database",
    )
    environment: Literal["production", "staging", "development", "test"] | None = Field(
        default=None, description="production: test or sandbox credentials are a finding"
    )
    probes: ProbeSettings = Field(default_factory=ProbeSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    history: HistorySettings = Field(default_factory=HistorySettings)
    alerting: AlertingSettings = Field(default_factory=AlertingSettings)
    redis_url: str | None = Field(
        default=None,
        description="Replicas cooperate through this Redis; $ATOM_HEALTH_REDIS_URL wins",
    )
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)
    integrations: dict[IntegrationId, IntegrationEntry] = Field(default_factory=dict)
    backends: dict[IntegrationId, BackendEntry] = Field(default_factory=dict)
    _source: str = PrivateAttr(default="(defaults)")

    @property
    def source(self) -> str:
        """Where these settings came from, for error messages: a file path or ``(defaults)``."""
        return self._source


def load_settings(
    path: str | Path | None = None, environ: Mapping[str, str] = os.environ
) -> Settings:
    """Read the config file named by ``path`` or ``$ATOM_HEALTH_CONFIG``; defaults when neither."""
    chosen = path if path is not None else environ.get(CONFIG_ENV_VAR) or None
    if chosen is None:
        return Settings()
    file = Path(chosen)
    return parse_settings(_read_mapping(file), source=str(file))


def parse_settings(data: Mapping[str, Any], source: str) -> Settings:
    """Validate already-parsed config data; ``source`` names it in error messages."""
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_describe(exc)}") from None
    settings._source = source
    return settings


def _read_mapping(file: Path) -> Mapping[str, Any]:
    suffix = file.suffix.lower()
    if suffix not in {".yaml", ".yml", ".toml"}:
        raise ConfigError(
            f"{file}: unsupported config file type {suffix!r}; use .yaml, .yml or .toml"
        )
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read config file ({exc.__class__.__name__})") from None
    data = _parse_toml(file, text) if suffix == ".toml" else _parse_yaml(file, text)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{file}: the top level must be a mapping of settings")
    return data


def _parse_yaml(file: Path, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{file}: invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML: {exc}") from None


def _parse_toml(file: Path, text: str) -> Any:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as ``field.path: problem`` lines, without echoing input values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
