"""Our webhook endpoint as the provider's own API reports it, where it does (Stripe
``GET /v1/webhook_endpoints``: ``status`` enabled or disabled; GitHub
``GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries``: the recent deliveries' HTTP
status codes). Read during the live check when the variables the request names are set.

Only states, counts and status codes are reported: never an endpoint URL (it can carry a
token) nor a delivery's payload.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from atom_health.catalog.model import Integration
from atom_health.checks.probe import LiveProber, ProbeRun, failure_message
from atom_health.model.results import WebhookEndpoint
from atom_health.services.http import CallFailed


async def read_endpoint(prober: LiveProber, integration: Integration) -> WebhookEndpoint | None:
    """The endpoint's state, or None when the catalog has no such API or a variable is unset."""
    check = integration.webhook.endpoint if integration.webhook else None
    if check is None:
        return None
    run = ProbeRun(prober, integration)
    base_url = integration.resolved_base_url(prober.environ)
    if base_url is None or any(not run.value(v) for v in check.request.variables()):
        return None
    source = f"{check.request.method} {check.request.path}"
    service = prober.service(integration)
    deadline = asyncio.get_running_loop().time() + prober.settings.deadline_seconds
    try:
        reply = await run.call(
            service, check.request, base_url, None, deadline, operation="webhooks.endpoint"
        )
        body = reply.json()
    except CallFailed as failure:
        names = [integration.env_name(v) for v in check.request.variables()]
        message = failure_message(integration, source, failure, names)
        return WebhookEndpoint(
            source=source, state="unknown", detail=message, http_status=failure.http_status
        )
    return READERS[check.reader](integration.name, source, body, reply.status)


def stripe_endpoints(name: str, source: str, body: Any, status: int) -> WebhookEndpoint:
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return WebhookEndpoint(
            source=source,
            state="unknown",
            detail=f"{name} answered without a data list",
            http_status=status,
        )
    if not data:
        return WebhookEndpoint(
            source=source,
            state="not_found",
            detail=f"{name} has no webhook endpoint registered",
            http_status=status,
        )
    disabled = [e.get("id") for e in data if isinstance(e, dict) and e.get("status") == "disabled"]
    if disabled:
        return WebhookEndpoint(
            source=source,
            state="disabled",
            detail=f"{name} reports {len(disabled)} of {len(data)} webhook endpoints disabled: "
            "enable them again in the dashboard",
            http_status=status,
        )
    return WebhookEndpoint(
        source=source,
        state="enabled",
        detail=f"{name} reports {len(data)} webhook endpoint(s) enabled",
        http_status=status,
    )


def github_deliveries(name: str, source: str, body: Any, status: int) -> WebhookEndpoint:
    if not isinstance(body, list):
        return WebhookEndpoint(
            source=source,
            state="unknown",
            detail=f"{name} answered without a delivery list",
            http_status=status,
        )
    codes = [d.get("status_code") for d in body if isinstance(d, dict)]
    if not codes:
        return WebhookEndpoint(
            source=source,
            state="unknown",
            detail=f"{name} lists no recent deliveries for the hook",
            http_status=status,
        )
    failing = 0
    for code in codes:  # newest first
        if isinstance(code, int) and 200 <= code < 300:
            break
        failing += 1
    if failing:
        last = codes[0] if isinstance(codes[0], int) and codes[0] else "no answer"
        return WebhookEndpoint(
            source=source,
            state="failing",
            detail=f"{name}'s last {failing} webhook deliveries to our endpoint failed (latest: {last})",
            http_status=status,
        )
    return WebhookEndpoint(
        source=source,
        state="ok",
        detail=f"{name}'s latest webhook delivery got HTTP {codes[0]}",
        http_status=status,
    )


READERS: dict[str, Callable[[str, str, Any, int], WebhookEndpoint]] = {
    "stripe_endpoints": stripe_endpoints,
    "github_deliveries": github_deliveries,
}
