"""What one catalog entry says about an integration: data, no behaviour beyond lookups."""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from atom_health.catalog.probe_spec import ProbeSpec, RateLimitSpec, SandboxSpec
from atom_health.catalog.webhook_spec import WebhookScheme
from atom_health.model.vocabulary import Criticality

INTEGRATION_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]*$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"


class StatusFormat(StrEnum):
    """How a vendor publishes its own status (read by the vendor-status check)."""

    statuspage = "statuspage"
    slack = "slack"
    stripe = "stripe"
    google = "google"
    none = "none"


class Integration(BaseModel):
    """One integration, after built-ins, the config file and the environment are merged.

    ``required_env`` and ``optional_env`` hold the names the operator must set, with any
    renames from the config file already applied. ``env_names`` maps each canonical name
    (the one the built-in catalog and probes use) to that real name.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=INTEGRATION_ID_PATTERN)
    name: str = Field(min_length=1)
    criticality: Criticality = Criticality.normal
    required_env: tuple[str, ...] = ()
    optional_env: tuple[str, ...] = ()
    env_names: Mapping[str, str] = Field(default_factory=dict)
    base_url: str | None = None
    base_url_env: str | None = None
    token_url: str | None = None
    status_url: str | None = None
    status_format: StatusFormat = StatusFormat.none
    aliases: tuple[str, ...] = ()
    enabled: bool = True
    probes: tuple[ProbeSpec, ...] = ()
    rate_limit: RateLimitSpec | None = None
    needed_scopes: tuple[str, ...] = ()
    test_mode: SandboxSpec | None = None
    interval_seconds: float | None = None
    webhook: WebhookScheme | None = None
    kind: Literal["integration", "backend"] = "integration"
    framework: str | None = Field(default=None, description="For back-end services")

    def env_name(self, canonical: str) -> str:
        """The variable actually read for a canonical name (renames applied)."""
        return self.env_names.get(canonical, canonical)

    def resolved_base_url(self, environ: Mapping[str, str]) -> str | None:
        """The base URL to call: from ``base_url_env`` when that variable is set, else ``base_url``.

        An explicit ``ATOM_HEALTH_<ID>_BASE_URL`` was already folded into ``base_url`` when
        the catalog was built, and clears ``base_url_env`` so it wins.
        """
        if self.base_url_env:
            value = environ.get(self.base_url_env, "")
            if value:
                return value.rstrip("/")
        return self.base_url

    def resolved_token_url(self, environ: Mapping[str, str]) -> str | None:
        """The token URL, with a leading ``{base_url}`` filled in (None if that is unknown)."""
        if self.token_url and self.token_url.startswith("{base_url}"):
            base = self.resolved_base_url(environ)
            return self.token_url.replace("{base_url}", base, 1) if base else None
        return self.token_url


def env_prefix(integration_id: str) -> str:
    """``ATOM_HEALTH_<ID>_`` with the id upper-cased and non-alphanumerics as ``_``."""
    return "ATOM_HEALTH_" + re.sub(r"[^A-Za-z0-9]", "_", integration_id).upper() + "_"
