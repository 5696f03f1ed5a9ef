"""Webhook deliveries for host apps: verify the provider's signature and record it.

- FastAPI: ``verification = Depends(verified_webhook("stripe"))`` on the route that
  receives Stripe's deliveries: a delivery that does not verify is answered 401 (503 when
  no signing secret is configured) before the route runs.
- Flask: ``@verified_webhook("stripe")`` from :mod:`atom_health.frameworks.flask_webhooks`.
- Anything else: ``monitor.webhooks.verify("stripe", method, url, headers, body)``.

Each verdict is recorded for the integration's ``webhooks`` health part.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import HTTPException, Request

from atom_health.checks.webhooks import Verification
from atom_health.monitor import HealthMonitor


def verified_webhook(
    service: str, *, monitor: HealthMonitor | None = None
) -> Callable[[Request], Awaitable[Verification]]:
    """A FastAPI dependency; the monitor is the given one or ``app.state.system.monitor``."""

    async def dependency(request: Request) -> Verification:
        chosen = monitor or request.app.state.system.monitor
        body = await request.body()
        verdict = chosen.webhooks.verify(
            service, request.method, str(request.url), request.headers, body
        )
        if not verdict.ok:
            raise HTTPException(status_code=verdict.status, detail=verdict.body())
        return verdict

    return dependency
