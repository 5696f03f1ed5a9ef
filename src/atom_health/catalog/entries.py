"""The schema of one catalog entry as written in ``builtin.yaml`` or a user's config file.

Every field is optional so that a user entry can override only what it names; the loader
merges entries into :class:`~atom_health.catalog.model.Integration` values.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from atom_health.catalog.model import ENV_NAME_PATTERN, INTEGRATION_ID_PATTERN, StatusFormat
from atom_health.catalog.probe_spec import ProbeSpec, RateLimitSpec, SandboxSpec
from atom_health.catalog.webhook_spec import WebhookScheme
from atom_health.model.vocabulary import Criticality

EnvName = Annotated[str, Field(pattern=ENV_NAME_PATTERN)]
IntegrationId = Annotated[str, Field(pattern=INTEGRATION_ID_PATTERN)]
Url = Annotated[str, Field(pattern=r"^https?://[^\s]+$")]
# A token URL may be relative to the integration's base URL, as Salesforce's My Domain.
TokenUrl = Annotated[str, Field(pattern=r"^(https?://|\{base_url\}/)[^\s]+$")]


class IntegrationEntry(BaseModel):
    """One integration as written in the built-in catalog or in a user config file.

    Every field is optional so that a user entry can override only what it names.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1)
    criticality: Criticality | None = None
    required_env: list[EnvName] | None = None
    optional_env: list[EnvName] | None = None
    env: dict[EnvName, EnvName] = Field(
        default_factory=dict,
        description="Renames: canonical variable name -> the name this deployment uses.",
    )
    base_url: Url | None = None
    base_url_env: EnvName | None = None
    token_url: TokenUrl | None = None
    status_url: Url | None = None
    status_format: StatusFormat | None = None
    aliases: list[IntegrationId] | None = None
    enabled: bool | None = None
    probes: list[ProbeSpec] | None = Field(
        default=None, description="How to prove the credentials, strongest first"
    )
    rate_limit: RateLimitSpec | None = None
    needed_scopes: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.:/\-]{1,120}$")]] | None = (
        Field(default=None, description="Scopes the platform's use of this integration needs")
    )
    test_mode: SandboxSpec | None = Field(
        default=None, description="How to tell test or sandbox credentials"
    )
    interval_seconds: float | None = Field(
        default=None, ge=0.1, le=86_400, description="How often the scheduler checks it"
    )
    webhook: WebhookScheme | None = Field(
        default=None, description="How the provider signs its webhook deliveries"
    )


class BackendEntry(BaseModel):
    """Another HTTP service of the platform (an old Flask back end, a FastAPI worker), checked
    at its health path and shown, stored and alerted on like an integration."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1)
    url: Url = Field(description="Base URL, e.g. http://10.0.0.5:5000")
    health_path: str = Field(default="/health", pattern=r"^/")
    framework: Literal["flask", "fastapi", "other"] = "other"
    criticality: Criticality = Criticality.normal
    interval_seconds: float | None = Field(default=None, ge=0.1, le=86_400)
    enabled: bool = True
