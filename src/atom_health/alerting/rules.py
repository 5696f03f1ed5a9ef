"""The alert rules: from check results (and configuration events) to alert events. Pure.

- ``down``: an integration not healthy for N consecutive checks (its own threshold; critical
  ones at once), resolved after M consecutive healthy ones. Routed ``vendor`` when the
  vendor's outage is the cause.
- ``group``: K or more integrations unhealthy at once: one alert; while it is open, the
  members' own ``down`` alerts are held back.
- ``config``: a required variable went missing (by name); resolved when it is back.
- ``latency``: slower than the threshold for N checks.
- ``vendor``: the vendor reports an incident: informational, routed apart.
- ``flapping``: too many status changes in a window: one alert, and ``down`` alerts for that
  integration are held back until it settles.
- reminders while an alert stays open; maintenance windows silence sending.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from atom_health.config.alerting import AlertingSettings, MaintenanceWindow
from atom_health.model.alerts import Action, Alert, AlertEvent
from atom_health.model.history import ConfigEvent
from atom_health.model.results import ServiceHealth, Status
from atom_health.model.vocabulary import Category, Criticality

_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass
class _Follow:
    """What the rules remember about one integration."""

    bad: int = 0
    good: int = 0
    healthy: bool | None = None
    unhealthy: bool = False
    slow: int = 0
    fast: int = 0
    changes: deque[float] = field(default_factory=deque)
    missing: set[str] = field(default_factory=set)


def window_active(window: MaintenanceWindow, moment: float) -> bool:
    when = datetime.fromtimestamp(moment, UTC)
    if window.start is not None and window.end is not None:
        start = window.start if window.start.tzinfo else window.start.replace(tzinfo=UTC)
        end = window.end if window.end.tzinfo else window.end.replace(tzinfo=UTC)
        return start <= when < end
    if window.weekdays and window.start_time and window.end_time:
        return (
            _WEEKDAYS[when.weekday()] in window.weekdays
            and window.start_time <= when.time().replace(tzinfo=None) < window.end_time
        )
    return False


class AlertEngine:
    def __init__(self, settings: AlertingSettings, criticality: Mapping[str, Criticality]) -> None:
        self.settings = settings
        self.criticality = criticality
        self.open: dict[str, Alert] = {}
        self._follow: dict[str, _Follow] = {}
        self.runtime_maintenance: dict[str, MaintenanceWindow] = {}  # added through the API

    def maintenance(self) -> list[MaintenanceWindow]:
        """The config file's windows, then those added at run time."""
        return [*self.settings.maintenance, *self.runtime_maintenance.values()]

    # -- helpers -------------------------------------------------------------------------------

    def silenced_by(self, services: list[str], moment: float) -> str | None:
        for window in self.maintenance():
            covers = not window.services or any(s in window.services for s in services)
            if covers and window_active(window, moment):
                return window.name
        return None

    def active_maintenance(self, moment: float) -> list[MaintenanceWindow]:
        return [w for w in self.maintenance() if window_active(w, moment)]

    def _event(self, alert: Alert, action: Action, now: float) -> AlertEvent:
        if action == "resolved":
            alert.resolved_at = now
            self.open.pop(alert.key, None)
        else:
            alert.last_sent_at = now
        return AlertEvent(alert.snapshot(), action, now, self.silenced_by(alert.services, now))

    def _open(self, alert: Alert, now: float) -> AlertEvent:
        self.open[alert.key] = alert
        return self._event(alert, "opened", now)

    def _threshold(self, service: str) -> int:
        override = self.settings.per_integration.get(service)
        if override and override.failure_threshold:
            return override.failure_threshold
        if self.criticality.get(service) is Criticality.critical:
            return self.settings.critical_failure_threshold
        return self.settings.failure_threshold

    def _recovery(self, service: str) -> int:
        override = self.settings.per_integration.get(service)
        return (override and override.success_threshold) or self.settings.success_threshold

    def _latency_limit(self, service: str) -> float | None:
        override = self.settings.per_integration.get(service)
        return (override and override.latency_threshold_ms) or self.settings.latency_threshold_ms

    # -- rules ---------------------------------------------------------------------------------

    def observe(self, result: ServiceHealth, now: float) -> list[AlertEvent]:
        name = result.service
        follow = self._follow.setdefault(name, _Follow())
        healthy = result.status is Status.healthy
        events: list[AlertEvent] = []

        if follow.healthy is not None and healthy != follow.healthy:
            follow.changes.append(now)
        while follow.changes and follow.changes[0] < now - self.settings.flapping.window_seconds:
            follow.changes.popleft()
        follow.healthy = healthy
        follow.unhealthy = result.status is Status.unhealthy
        follow.bad, follow.good = (0, follow.good + 1) if healthy else (follow.bad + 1, 0)

        flapping_key = f"flapping:{name}"
        if (
            len(follow.changes) >= self.settings.flapping.max_changes
            and flapping_key not in self.open
        ):
            events.append(self._open(Alert(
                flapping_key, "flapping", [name], "warning", "own",
                f"{result.name} is flapping",
                f"{result.name} changed status {len(follow.changes)} times in "
                f"{self.settings.flapping.window_seconds:.0f} s; alerts for it are held until it settles",
                now,
            ), now))  # fmt: skip

        events += self._group(now)
        events += self._down(result, follow, now)
        events += self._vendor(result, now)
        events += self._latency(result, follow, now)
        return events

    def _group(self, now: float) -> list[AlertEvent]:
        members = sorted(name for name, f in self._follow.items() if f.unhealthy)
        group = self.open.get("group")
        if len(members) >= self.settings.group_threshold:
            if group is None:
                return [self._open(Alert(
                    "group", "group", members, "critical", "own",
                    f"{len(members)} integrations are unhealthy",
                    f"Unhealthy at once: {', '.join(members)}", now,
                ), now)]  # fmt: skip
            group.services = sorted(set(group.services) | set(members))
            return []
        if group is not None:
            event = self._event(group, "resolved", now)  # closed either way
            return [event] if self.settings.send_on_resolved else []
        return []

    def _down(self, result: ServiceHealth, follow: _Follow, now: float) -> list[AlertEvent]:
        name = result.service
        key = f"down:{name}"
        current = self.open.get(key)
        held = f"flapping:{name}" in self.open or (
            "group" in self.open and name in self.open["group"].services
        )
        api = result.checks.api_access
        vendor = result.checks.vendor_status
        # Working, and degraded only by the vendor's incident: the vendor alert says it all.
        only_vendor = api.status == "pass" and vendor is not None and vendor.reports_trouble
        if current is None and follow.bad >= self._threshold(name) and not held and not only_vendor:
            vendor_caused = api.category is Category.vendor_outage
            severity: Literal["critical", "warning"] = (
                "critical" if result.status is Status.unhealthy else "warning"
            )
            return [self._open(Alert(
                key, "down", [name], severity, "vendor" if vendor_caused else "own",
                f"{result.name} is {result.status.value}", result.message, now,
            ), now)]  # fmt: skip
        if current is not None and follow.good >= self._recovery(name):
            event = self._event(current, "resolved", now)  # closed either way
            quiet = not self.settings.send_on_resolved or f"flapping:{name}" in self.open
            return [] if quiet else [event]
        return []

    def _vendor(self, result: ServiceHealth, now: float) -> list[AlertEvent]:
        vendor = result.checks.vendor_status
        if not self.settings.vendor_incidents or vendor is None:
            return []
        key = f"vendor:{result.service}"
        if vendor.reports_trouble and key not in self.open:
            return [self._open(Alert(
                key, "vendor", [result.service], "info", "vendor",
                f"{vendor.vendor} reports an incident", vendor.message, now,
            ), now)]  # fmt: skip
        if not vendor.reports_trouble and key in self.open:
            return [self._event(self.open[key], "resolved", now)]
        return []

    def _latency(self, result: ServiceHealth, follow: _Follow, now: float) -> list[AlertEvent]:
        limit = self._latency_limit(result.service)
        latency = result.checks.api_access.latency_ms
        if limit is None or latency is None:
            return []
        follow.slow, follow.fast = (follow.slow + 1, 0) if latency > limit else (0, follow.fast + 1)
        key = f"latency:{result.service}"
        if follow.slow >= self.settings.latency_checks and key not in self.open:
            return [self._open(Alert(
                key, "latency", [result.service], "warning", "own",
                f"{result.name} is slow",
                f"{result.name} answered in {latency:.0f} ms, over {limit:.0f} ms for "
                f"{follow.slow} checks", now,
            ), now)]  # fmt: skip
        if key in self.open and follow.fast >= self._recovery(result.service):
            return [self._event(self.open[key], "resolved", now)]
        return []

    def observe_config(self, events: list[ConfigEvent], now: float) -> list[AlertEvent]:
        out: list[AlertEvent] = []
        for event in events:
            follow = self._follow.setdefault(event.integration, _Follow())
            if event.change == "missing":
                follow.missing.add(event.variable)
            else:
                follow.missing.discard(event.variable)
            key = f"config:{event.integration}"
            if follow.missing and key not in self.open:
                names = ", ".join(sorted(follow.missing))
                out.append(self._open(Alert(
                    key, "config", [event.integration], "warning", "own",
                    f"{event.integration}: configuration went missing",
                    f"No longer set: {names}", now,
                ), now))  # fmt: skip
            elif not follow.missing and key in self.open:
                out.append(self._event(self.open[key], "resolved", now))
        return out

    def tick(self, now: float) -> list[AlertEvent]:
        """Reminders for alerts still open, and flapping that has settled."""
        events = []
        for alert in list(self.open.values()):
            if alert.kind == "flapping":
                follow = self._follow.get(alert.services[0])
                if follow is not None and not any(
                    c >= now - self.settings.flapping.window_seconds for c in follow.changes
                ):
                    events.append(self._event(alert, "resolved", now))
                    continue
            last = alert.last_sent_at or alert.opened_at
            if now - last >= self.settings.reminder_interval_seconds:
                events.append(self._event(alert, "reminder", now))
        return events
