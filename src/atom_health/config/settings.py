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
from atom_health.config.environment import read_environment
from atom_health.config.security import SecuritySettings
from atom_health.config.status_page import StatusPageSettings
from atom_health.model.errors import ConfigError

DEFAULT_DATABASE_URL = "sqlite:///atom-health.db"

# A hostile config file fails fast instead of eating memory or the stack.
MAX_CONFIG_BYTES = 1_048_576
MAX_CONFIG_DEPTH = 32
MAX_CONFIG_NODES = 200_000  # values after expanding YAML aliases


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
        default=DEFAULT_DATABASE_URL,
        description="SQLAlchemy URL, or memory://; --database-url, then $ATOM_HEALTH_DATABASE_URL win",
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
    refresh_min_interval_seconds: float = Field(
        default=5.0,
        ge=0,
        le=86_400,
        description="At most one provider call per integration in this window, whatever "
        "asks for it; a refresh inside it gets the newest result and its age",
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
    security: SecuritySettings = Field(default_factory=SecuritySettings)
    status_page: StatusPageSettings = Field(default_factory=StatusPageSettings)
    integrations: dict[IntegrationId, IntegrationEntry] = Field(default_factory=dict)
    backends: dict[IntegrationId, BackendEntry] = Field(default_factory=dict)
    _source: str = PrivateAttr(default="(defaults)")

    @property
    def source(self) -> str:
        """Where these settings came from, for error messages: a file path or ``(defaults)``."""
        return self._source


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] = os.environ,
    *,
    database_url: str | None = None,
) -> Settings:
    """The settings a command runs with: its flags (``path``, ``database_url``), then the
    ``ATOM_HEALTH_*`` environment, then the config file, then the defaults."""
    environment = read_environment(environ)
    chosen = path if path is not None else environment.config
    settings = Settings()
    if chosen is not None:
        settings = parse_settings(_read_mapping(Path(chosen)), source=str(chosen))
    url = database_url or environment.database_url
    if url:
        history = settings.history.model_copy(update={"database_url": url})
        settings = settings.model_copy(update={"history": history})
    if environment.redis_url:
        settings = settings.model_copy(update={"redis_url": environment.redis_url})
    return settings


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
        if file.stat().st_size > MAX_CONFIG_BYTES:
            raise ConfigError(f"{file}: larger than {MAX_CONFIG_BYTES} bytes; refused")
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
        _check_yaml_shape(file, text)
        return yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigError(f"{file}: invalid YAML{where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file}: invalid YAML: {exc}") from None


def _check_yaml_shape(file: Path, text: str) -> None:
    """Refuse a document nested deeper than MAX_CONFIG_DEPTH, or holding more than
    MAX_CONFIG_NODES values once its aliases are expanded (an "alias bomb"), from the
    parser's event stream alone: nothing is built, so a hostile file costs one pass."""
    _check_flow_depth(file, text)
    expanded: dict[str, int] = {}  # anchor -> values under it, aliases expanded
    open_nodes: list[list[Any]] = []  # [anchor, values so far] per open collection
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            open_nodes.append([event.anchor, 1])
            if len(open_nodes) > MAX_CONFIG_DEPTH:
                raise ConfigError(f"{file}: nested deeper than {MAX_CONFIG_DEPTH} levels; refused")
            continue
        if isinstance(event, yaml.CollectionEndEvent):
            anchor, size = open_nodes.pop()
        elif isinstance(event, yaml.ScalarEvent):
            anchor, size = event.anchor, 1
        elif isinstance(event, yaml.AliasEvent):
            anchor, size = None, expanded.get(event.anchor or "", 1)
        else:
            continue
        if anchor is not None:
            expanded[anchor] = size
        if open_nodes:
            open_nodes[-1][1] += size
            if open_nodes[-1][1] > MAX_CONFIG_NODES:
                raise ConfigError(
                    f"{file}: more than {MAX_CONFIG_NODES} values once YAML aliases are "
                    "expanded; refused"
                )


def _check_flow_depth(file: Path, text: str) -> None:
    """Refuse deeply nested ``[...]``/``{...}`` before PyYAML sees them: its scanner looks
    ahead to the end of a flow collection, so ten thousand open brackets cost it seconds.
    Quoted text and comments are skipped; an unquoted bracket counts (over-counting only
    refuses earlier)."""
    depth = 0
    quote = ""
    previous = "\n"
    comment = False
    for char in text:
        if comment:
            comment = char != "\n"
        elif quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "#" and previous in " \t\n":
            comment = True
        elif char in "[{":
            depth += 1
            if depth > MAX_CONFIG_DEPTH:
                raise ConfigError(f"{file}: nested deeper than {MAX_CONFIG_DEPTH} levels; refused")
        elif char in "]}":
            depth = max(0, depth - 1)
        previous = char


def _parse_toml(file: Path, text: str) -> Any:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{file}: nested too deeply; refused") from None
    if _depth(data) > MAX_CONFIG_DEPTH:
        raise ConfigError(f"{file}: nested deeper than {MAX_CONFIG_DEPTH} levels; refused")
    return data


def _depth(data: Any) -> int:
    deepest, pending = 0, [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            children = value.values() if isinstance(value, dict) else value
            pending.extend((child, depth + 1) for child in children)
    return deepest


def _describe(exc: ValidationError) -> str:
    """Pydantic's errors as ``field.path: problem`` lines, without echoing input values."""
    problems = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        problems.append(f"{where}: {error['msg']}")
    return "; ".join(problems)
