"""What each provider's own status page says, read from its machine-readable feed.

Formats: Atlassian Statuspage ``/api/v2/summary.json``, Slack's Status API
``/api/v2.0.0/current``, Stripe's ``/current/full`` and the Google Workspace
``incidents.json`` feed. A page that cannot be read is ``unknown``, never ``outage``:
it says nothing about the vendor.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import aiohttp

from atom_health.catalog.model import Integration, StatusFormat
from atom_health.model.results import AffectedComponent, VendorState, VendorStatus
from atom_health.services.http import transport_failure

_PATHS = {
    StatusFormat.statuspage: "/api/v2/summary.json",
    StatusFormat.slack: "/api/v2.0.0/current",
    StatusFormat.stripe: "/current/full",
    StatusFormat.google: "/incidents.json",
}
_STATUSPAGE_INDICATORS = {
    "none": VendorState.operational,
    "minor": VendorState.degraded,
    "major": VendorState.outage,
    "critical": VendorState.outage,
    "maintenance": VendorState.maintenance,
}
_STRIPE_STATES = {
    "up": VendorState.operational,
    "degraded": VendorState.degraded,
    "down": VendorState.outage,
    "pending": VendorState.maintenance,
    "paused": VendorState.maintenance,
}
_TEXT_LIMIT = 200


class VendorStatusReader:
    """Reads and caches vendor status per integration."""

    def __init__(
        self,
        session: Callable[[], aiohttp.ClientSession],
        timeout: float = 3.0,
        cache_seconds: float = 60.0,
    ) -> None:
        self._session = session
        self.timeout = timeout
        self.cache_seconds = cache_seconds
        self._cache: dict[str, tuple[float, VendorStatus]] = {}

    async def read(self, integration: Integration, fresh: bool = False) -> VendorStatus | None:
        """The vendor's status, or None when the integration has no machine-readable feed.

        ``fresh`` skips the cache: used when a failure needs the vendor's current word.
        """
        if integration.status_format is StatusFormat.none or not integration.status_url:
            return None
        cached = self._cache.get(integration.id)
        if not fresh and cached is not None and time.monotonic() < cached[0]:
            return cached[1]
        status = await self._fetch(integration, integration.status_url)
        self._cache[integration.id] = (time.monotonic() + self.cache_seconds, status)
        return status

    async def _fetch(self, integration: Integration, page: str) -> VendorStatus:
        url = page + _PATHS[integration.status_format]
        try:
            async with self._session().get(
                url, timeout=aiohttp.ClientTimeout(total=self.timeout), allow_redirects=False
            ) as response:
                if response.status != 200:
                    return unknown(
                        integration, page, f"the status page answered HTTP {response.status}"
                    )
                data = await response.json(content_type=None)
        except ValueError:
            return unknown(integration, page, "the status page did not answer with JSON")
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            return unknown(
                integration,
                page,
                f"the status page could not be read ({transport_failure(exc).category.value})",
            )
        try:
            return PARSERS[integration.status_format](integration, page, data)
        except (AttributeError, KeyError, TypeError, ValueError):
            return unknown(
                integration, page, "the status page's answer was not in the expected shape"
            )


def unknown(integration: Integration, page: str, why: str) -> VendorStatus:
    return VendorStatus(
        vendor=integration.name,
        state=VendorState.unknown,
        page_url=page,
        message=f"{integration.name}'s status is unknown: {why}",
    )


def _text(value: Any) -> str:
    """A status page's own words, kept only in ``vendor_status``: control characters
    dropped, whitespace collapsed, capped. Displays set it as text, never as markup."""
    text = " ".join("".join(c for c in str(value) if c.isprintable() or c.isspace()).split())
    return text if len(text) <= _TEXT_LIMIT else text[: _TEXT_LIMIT - 1] + "…"


def _status(
    integration: Integration,
    page: str,
    state: VendorState,
    indicator: str,
    incidents: list[str],
    description: str | None = None,
    affected: list[AffectedComponent] | None = None,
    maintenance: list[str] | None = None,
) -> VendorStatus:
    """Every parser's result, with the summary message written the same way: in our words
    (state, count of open incidents), never the page's own (which alerts would carry on)."""
    if state is VendorState.operational and not incidents:
        message = f"{integration.name} reports no incidents"
    else:
        count = len(incidents)
        open_ = f", {count} open incident{'s' if count != 1 else ''}" if count else ""
        message = f"{integration.name} reports {state.value}{open_} on its status page"
    return VendorStatus(
        vendor=integration.name,
        state=state,
        indicator=indicator,
        description=_text(description) if description else None,
        affected_components=affected or [],
        incidents=incidents,
        scheduled_maintenance=maintenance or [],
        page_url=page,
        message=message,
    )


def parse_statuspage(integration: Integration, page: str, data: dict[str, Any]) -> VendorStatus:
    indicator = str(data["status"]["indicator"])
    description = data["status"].get("description")
    state = _STATUSPAGE_INDICATORS.get(indicator, VendorState.unknown)
    affected = [
        AffectedComponent(name=_text(c["name"]), status=str(c["status"]))
        for c in data.get("components", [])
        if c.get("status") not in (None, "operational") and not c.get("group")
    ]
    incidents = [
        _text(i["name"])
        for i in data.get("incidents", [])
        if i.get("status") not in ("resolved", "postmortem", "completed")
    ]
    maintenance = [
        _text(m["name"])
        for m in data.get("scheduled_maintenances", [])
        if m.get("status") in ("scheduled", "in_progress", "verifying")
    ]
    return _status(
        integration, page, state, indicator, incidents, description, affected, maintenance
    )


def parse_slack(integration: Integration, page: str, data: dict[str, Any]) -> VendorStatus:
    indicator = str(data["status"])
    active = data.get("active_incidents", [])
    kinds = {str(i.get("type")) for i in active}
    if indicator == "ok" and not active:
        state = VendorState.operational
    elif "outage" in kinds or indicator == "broken":
        state = VendorState.outage
    elif kinds <= {"notice"} and active:
        state = VendorState.operational
    else:
        state = VendorState.degraded
    incidents = [_text(i["title"]) for i in active if i.get("type") != "notice"]
    affected = [
        AffectedComponent(name=_text(service), status=str(i.get("type", "incident")))
        for i in active
        for service in i.get("services", [])
    ]
    return _status(integration, page, state, indicator, incidents, affected=affected)


def parse_stripe(integration: Integration, page: str, data: dict[str, Any]) -> VendorStatus:
    indicator = str(data.get("overallStatus") or data["UptimeStatus"])
    state = _STRIPE_STATES.get(indicator, VendorState.unknown)
    message = data.get("message")
    incidents = [_text(message)] if message and state is not VendorState.operational else []
    return _status(integration, page, state, indicator, incidents, message)


def parse_google(integration: Integration, page: str, data: list[dict[str, Any]]) -> VendorStatus:
    product = integration.name.lower()

    def concerns_product(incident: dict[str, Any]) -> bool:
        names = [str(p.get("title", "")) for p in incident.get("affected_products", [])]
        names.append(str(incident.get("service_name", "")))
        return any(product in name.lower() for name in names)

    open_incidents = [i for i in data if not i.get("end") and concerns_product(i)]
    severe = any(i.get("severity") == "high" for i in open_incidents)
    state = (
        VendorState.operational
        if not open_incidents
        else VendorState.outage
        if severe
        else VendorState.degraded
    )
    incidents = [_text(i.get("external_desc", "incident")) for i in open_incidents]
    indicator = "high" if severe else ("medium" if open_incidents else "none")
    return _status(integration, page, state, indicator, incidents)


PARSERS: dict[StatusFormat, Callable[[Integration, str, Any], VendorStatus]] = {
    StatusFormat.statuspage: parse_statuspage,
    StatusFormat.slack: parse_slack,
    StatusFormat.stripe: parse_stripe,
    StatusFormat.google: parse_google,
}
