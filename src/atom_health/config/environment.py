"""The ``ATOM_HEALTH_*`` process environment (README: Environment), read with pydantic-settings.

Precedence everywhere: a command-line flag, then this environment, then the config file, then
the built-in default. The per-integration URL overrides (``ATOM_HEALTH_<ID>_BASE_URL`` and
its kin) are the catalog's (:func:`atom_health.catalog.model.env_prefix`), not read here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from atom_health.model.errors import ConfigError

ENV_PREFIX = "ATOM_HEALTH_"
READ_KEY_ENV_VAR = ENV_PREFIX + "READ_KEY"
ADMIN_KEY_ENV_VAR = ENV_PREFIX + "ADMIN_KEY"
# Read by the CLI's client commands (typer options): the server to ask, and the key to send.
URL_ENV_VAR = ENV_PREFIX + "URL"
API_KEY_ENV_VAR = ENV_PREFIX + "API_KEY"
LogLevel = Literal["critical", "error", "warning", "info", "debug", "trace"]


class ProcessEnvironment(BaseSettings):
    """What the process environment says; ``None`` where it says nothing."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_ignore_empty=True, extra="ignore", frozen=True
    )

    config: Path | None = Field(default=None, description="The config file (YAML or TOML)")
    database_url: str | None = Field(
        default=None, description="The history database: a SQLAlchemy URL, or memory://"
    )
    host: str | None = Field(default=None, description="The interface the server listens on")
    port: int | None = Field(default=None, ge=1, le=65535, description="The server's TCP port")
    log_level: LogLevel | None = Field(default=None, description="The server's log level")
    debug: bool = Field(default=False, description="Show the traceback of an unexpected error")
    redis_url: str | None = Field(default=None, description="The replicas' shared Redis")
    read_key: SecretStr | None = Field(default=None, description="An API key with the read role")
    admin_key: SecretStr | None = Field(default=None, description="An API key with the admin role")

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """The environment only: no ``.env`` file, no secrets directory."""
        return (init_settings, env_settings)


class _MappingSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (tests, embedders)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {
            name if self.case_sensitive else name.lower(): value
            for name, value in environ.items()
            if value != "" or not self.env_ignore_empty
        }


def read_environment(environ: Mapping[str, str] = os.environ) -> ProcessEnvironment:
    """The ``ATOM_HEALTH_*`` settings in ``environ``; :class:`ConfigError` names a bad one
    (never its value, which may carry a password)."""
    values: dict[str, Any] = _MappingSource(ProcessEnvironment, environ)()
    try:
        return ProcessEnvironment.model_validate(values)
    except ValidationError as exc:
        problems = [
            f"{ENV_PREFIX}{str(error['loc'][0]).upper()}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        ]
        raise ConfigError("; ".join(problems)) from None
