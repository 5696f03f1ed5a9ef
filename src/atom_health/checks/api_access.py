"""The live API step of a check: the interface every prober implements.

The engine asks an :class:`ApiProber` for an :class:`ApiAccessCheck` only once the
configuration check has passed. Until an integration has a probe, the answer is an
honest ``skip``: never a made-up pass.
"""

from __future__ import annotations

from typing import Protocol

from atom_health.catalog.model import Integration
from atom_health.results import ApiAccessCheck, CheckStatus


class ApiProber(Protocol):
    async def probe(self, integration: Integration) -> ApiAccessCheck: ...


class NoProber:
    """The prober used when no live probe exists: says so, and proves nothing."""

    async def probe(self, integration: Integration) -> ApiAccessCheck:
        return ApiAccessCheck(
            status=CheckStatus.skip,
            message=(
                f"No live probe is defined for {integration.name}; its credentials were not "
                "verified with the provider"
            ),
        )


SKIPPED_NOT_CONFIGURED = ApiAccessCheck(
    status=CheckStatus.skip,
    message="API access check skipped due to missing configuration",
)
SKIPPED_NOT_REQUESTED = ApiAccessCheck(
    status=CheckStatus.skip,
    message="API access check not requested (check_api=false)",
)
