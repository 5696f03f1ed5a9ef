"""Bodies of the management API (``/api/manage/...``): integrations switched on and off at
run time, a reloaded config's diff, maintenance windows added at run time."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from atom_health.model.vocabulary import Criticality


class ManagedIntegration(BaseModel):
    """One integration as the management API sees it, disabled ones included."""

    id: str
    name: str
    criticality: Criticality
    kind: Literal["integration", "backend"]
    enabled: bool
    enabled_by: Literal["config", "runtime"] = Field(
        description="config: the config file decides; runtime: set through this API "
        "(kept across restarts and reloads until set back)"
    )


class ManagedIntegrations(BaseModel):
    ok: bool = True
    timestamp: datetime
    integrations: list[ManagedIntegration]


class EnabledChange(BaseModel):
    """``PATCH /api/manage/integrations/{service}``: switch an integration on or off."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool


class IntegrationChange(BaseModel):
    id: str
    fields: list[str] = Field(description="Names of the catalog fields that changed")


class ConfigDiff(BaseModel):
    """What a reload of the config file changed. Names only, never a value."""

    ok: bool = True
    timestamp: datetime
    source: str = Field(description="The config file read")
    added: list[str] = Field(description="Integrations that appeared")
    removed: list[str] = Field(description="Integrations that are gone")
    changed: list[IntegrationChange]
    settings_changed: list[str] = Field(description="Dotted paths of changed settings")
    restart_required: list[str] = Field(
        description="Changed settings that apply only after a restart (the rest applied now)"
    )


class ManagedWindow(BaseModel):
    """A maintenance window: it silences alert delivery while active (alerts still open)."""

    id: str = Field(description="runtime-<n> for windows added here; config-<n> from the file")
    source: Literal["config", "runtime"]
    active: bool = Field(description="Silencing now")
    name: str
    services: list[str] = Field(description="Empty: every integration")
    start: datetime | None = None
    end: datetime | None = None
    weekdays: list[str] = Field(default_factory=list)
    start_time: str | None = None
    end_time: str | None = None
    timezone: str = Field(default="UTC", description="IANA name the times are in")


class ManagedWindows(BaseModel):
    ok: bool = True
    timestamp: datetime
    windows: list[ManagedWindow]


class ManageRefusal(BaseModel):
    """A management request that cannot be done as asked (the config stays as it was)."""

    ok: bool = False
    error: str = Field(
        description="invalid_config, no_config_file, disabled, alerting_off, not_found"
    )
    message: str
