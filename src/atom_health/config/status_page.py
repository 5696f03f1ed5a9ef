"""The public status page (``status_page:`` in the config file): which integrations it shows.

Nothing is public unless listed: an integration appears on ``/status`` and has badges only
when its id is in ``integrations``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from atom_health.catalog.entries import IntegrationId


class StatusPageSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(default="Integration status", min_length=1, max_length=200)
    integrations: list[IntegrationId] = Field(
        default_factory=list,
        description="Integration ids shown on /status and given badges (opt-in; none by default)",
    )
