"""The alert rules: from check results (and configuration events) to alert events. Pure.

- ``down``: an integration down for N consecutive checks (its own threshold; critical ones
  at once), resolved after M consecutive good ones. Down means ``unhealthy``; with
  ``alert_on: degraded`` (globally or per integration) a ``degraded`` one opens a warning
  too. Routed ``vendor`` when the vendor's outage is the cause.
- ``group``: K or more integrations unhealthy at once: one alert; while it is open, its
  non-critical members' own ``down`` alerts are held back (a critical integration always
  alerts). A change of members sends one ``updated`` naming who joined and who left (the
  changes of ``GROUP_SETTLE_SECONDS`` together, announced by :meth:`AlertEngine.tick`); the
  group resolves when fewer than K remain.
- ``config``: a required variable went missing, by name; resolved when it is back.
- ``latency``: slower than the threshold for N checks.
- ``vendor``: the vendor reports an incident: informational, routed apart.
- ``flapping``: too many status changes in a window: one alert, and ``down`` alerts for that
  integration are held back until it settles.
- reminders while an alert stays open and unacknowledged; maintenance windows (in their own
  time zone) mute sending.

What the rules remember is state that survives a restart: :meth:`AlertEngine.restore` takes
the open alerts and each integration's memory (:meth:`AlertEngine.take_changed_state`).
"""

from __future__ import annotations

import dataclasses
import json
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from atom_health.config.alerting import AlertingSettings, AlertOn, MaintenanceWindow
from atom_health.model.alerts import Action, Alert, AlertEvent, AlertKind, Severity
from atom_health.model.history import ConfigEvent
from atom_health.model.results import ServiceHealth, Status
from atom_health.model.vocabulary import Category, Criticality

_WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
GROUP_KEY = "group"
GROUP_SETTLE_SECONDS = 5.0  # membership changes within this make one "updated"


@dataclass
class _Follow:
    """What the rules remember about one integration."""

    bad: int = 0
    good: int = 0
    healthy: bool | None = None  # not down, as ``alert_on`` defines down
    unhealthy: bool = False
    slow: int = 0
    fast: int = 0
    changes: deque[float] = field(default_factory=deque)
    missing: set[str] = field(default_factory=set)

    def to_json(self) -> str:
        data = dataclasses.asdict(self)
        data["changes"], data["missing"] = list(self.changes), sorted(self.missing)
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> _Follow:
        data = json.loads(text)
        return cls(**{**data, "changes": deque(data["changes"]), "missing": set(data["missing"])})


def missing_message(names: Iterable[str]) -> str:
    """``ZOOM_API_SECRET is missing`` / ``A and B are missing``: names only, never values."""
    ordered = sorted(names)
    if len(ordered) == 1:
        return f"{ordered[0]} is missing"
    return f"{', '.join(ordered[:-1])} and {ordered[-1]} are missing"


def window_active(window: MaintenanceWindow, moment: float) -> bool:
    zone = window.zone
    when = datetime.fromtimestamp(moment, UTC).astimezone(zone)
    if window.start is not None and window.end is not None:
        start = window.start if window.start.tzinfo else window.start.replace(tzinfo=zone)
        end = window.end if window.end.tzinfo else window.end.replace(tzinfo=zone)
        return start <= when < end
    if window.weekdays and window.start_time and window.end_time:
        clock = when.time().replace(tzinfo=None)
        today = _WEEKDAYS[when.weekday()] in window.weekdays
        if window.start_time < window.end_time:
            return today and window.start_time <= clock < window.end_time
        yesterday = _WEEKDAYS[(when - timedelta(days=1)).weekday()] in window.weekdays
        return (today and clock >= window.start_time) or (yesterday and clock < window.end_time)
    return False


def window_over(window: MaintenanceWindow, moment: float) -> bool:
    """A one-off window that ended before ``moment`` (a recurring one never is)."""
    if window.start is None or window.end is None:
        return False
    end = window.end if window.end.tzinfo else window.end.replace(tzinfo=window.zone)
    return end.timestamp() <= moment


class AlertEngine:
    def __init__(self, settings: AlertingSettings, criticality: Mapping[str, Criticality]) -> None:
        self.settings = settings
        self.criticality = criticality
        self.open: dict[str, Alert] = {}
        self._follow: dict[str, _Follow] = {}
        # Added through the API, kept in the store (AlertManager reads and writes them).
        self.runtime_maintenance: dict[str, MaintenanceWindow] = {}
        self._changed: set[str] = set()
        self._restored: set[str] = set()  # down when we stopped: the first good check resolves
        self._group_changed_at: float | None = None

    def maintenance(self) -> list[MaintenanceWindow]:
        """The config file's windows, then those added at run time."""
        return [*self.settings.maintenance, *self.runtime_maintenance.values()]

    # -- durable state -------------------------------------------------------------------------

    def restore(self, open_alerts: Iterable[Alert], states: Mapping[str, str]) -> None:
        """Take up where a previous process stopped."""
        self.open = {alert.key: alert for alert in open_alerts}
        self._follow = {name: _Follow.from_json(text) for name, text in states.items()}
        self._restored = {a.services[0] for a in self.open.values() if a.kind is AlertKind.down}

    def take_changed_state(self) -> dict[str, str]:
        """The memory of each integration changed since the last call, as JSON."""
        changed = {name: self._follow[name].to_json() for name in self._changed}
        self._changed.clear()
        return changed

    def _follow_of(self, name: str) -> _Follow:
        self._changed.add(name)
        return self._follow.setdefault(name, _Follow())

    # -- helpers -------------------------------------------------------------------------------

    def silenced_by(self, services: list[str], moment: float) -> str | None:
        for window in self.maintenance():
            covers = not window.services or any(s in window.services for s in services)
            if covers and window_active(window, moment):
                return f"maintenance window {window.name!r}"
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
        if self._critical(service):
            return self.settings.critical_failure_threshold
        return self.settings.failure_threshold

    def _recovery(self, service: str) -> int:
        override = self.settings.per_integration.get(service)
        return (override and override.success_threshold) or self.settings.success_threshold

    def _latency_limit(self, service: str) -> float | None:
        override = self.settings.per_integration.get(service)
        return (override and override.latency_threshold_ms) or self.settings.latency_threshold_ms

    def _alert_on(self, service: str) -> AlertOn:
        override = self.settings.per_integration.get(service)
        return (override and override.alert_on) or self.settings.alert_on

    def _critical(self, service: str) -> bool:
        return self.criticality.get(service) is Criticality.critical

    # -- rules ---------------------------------------------------------------------------------

    def observe(self, result: ServiceHealth, now: float) -> list[AlertEvent]:
        name = result.service
        follow = self._follow_of(name)
        down = result.status is Status.unhealthy or (
            result.status is Status.degraded and self._alert_on(name) == "degraded"
        )
        events: list[AlertEvent] = []

        if follow.healthy is not None and (not down) != follow.healthy:
            follow.changes.append(now)
        while follow.changes and follow.changes[0] < now - self.settings.flapping.window_seconds:
            follow.changes.popleft()
        follow.healthy = not down
        follow.unhealthy = result.status is Status.unhealthy
        follow.bad, follow.good = (follow.bad + 1, 0) if down else (0, follow.good + 1)

        flapping_key = f"flapping:{name}"
        if (
            len(follow.changes) >= self.settings.flapping.max_changes
            and flapping_key not in self.open
        ):
            events.append(self._open(Alert(
                flapping_key, AlertKind.flapping, [name], "warning", "own",
                f"{result.name} is flapping",
                f"{result.name} changed status {len(follow.changes)} times in "
                f"{self.settings.flapping.window_seconds:.0f} s; alerts for it are held until it settles",
                now,
            ), now))  # fmt: skip

        events += self._group(now)
        events += self._down(result, follow, now)
        events += self._vendor(result, now)
        events += self._latency(result, follow, now)
        self._restored.discard(name)
        return events

    def _group(self, now: float) -> list[AlertEvent]:
        members = self._group_members()
        group = self.open.get(GROUP_KEY)
        if len(members) >= self.settings.group_threshold:
            if group is None:
                self._group_changed_at = None
                return [self._open(Alert(
                    GROUP_KEY, AlertKind.group, members, "critical", "own",
                    f"{len(members)} integrations are unhealthy",
                    f"Unhealthy at once: {', '.join(members)}", now,
                ), now)]  # fmt: skip
            if members != group.services and self._group_changed_at is None:
                self._group_changed_at = now  # announced by tick() once it settles
            return []
        if group is not None:
            self._group_changed_at = None
            event = self._event(group, "resolved", now)  # closed either way
            return [event] if self.settings.send_on_resolved else []
        return []

    def _group_members(self) -> list[str]:
        return sorted(name for name, f in self._follow.items() if f.unhealthy)

    def _group_update(self, now: float) -> list[AlertEvent]:
        """One "updated" for the members that joined and left while it settled."""
        group = self.open.get(GROUP_KEY)
        changed = self._group_changed_at
        if group is None or changed is None or now - changed < GROUP_SETTLE_SECONDS:
            return []
        self._group_changed_at = None
        members = self._group_members()
        if members == group.services:
            return []
        joined = [m for m in members if m not in group.services]
        left = [m for m in group.services if m not in members]
        change = "; ".join(
            part for part in (joined and f"joined: {', '.join(joined)}",
                              left and f"left: {', '.join(left)}") if part
        )  # fmt: skip
        group.services, group.title = members, f"{len(members)} integrations are unhealthy"
        group.message = f"Unhealthy at once: {', '.join(members)} ({change})"
        return [self._event(group, "updated", now)]

    def _held(self, name: str) -> bool:
        if f"flapping:{name}" in self.open:
            return True
        follow = self._follow.get(name)
        in_group = GROUP_KEY in self.open and follow is not None and follow.unhealthy
        return in_group and not self._critical(name)

    def _down(self, result: ServiceHealth, follow: _Follow, now: float) -> list[AlertEvent]:
        name = result.service
        key = f"down:{name}"
        current = self.open.get(key)
        api = result.checks.api_access
        vendor = result.checks.vendor_status
        # Working, and degraded only by the vendor's incident: the vendor alert says it all.
        only_vendor = api.status == "pass" and vendor is not None and vendor.reports_trouble
        severity: Severity = "critical" if result.status is Status.unhealthy else "warning"
        if current is None and follow.bad >= self._threshold(name) and not self._held(name):
            if only_vendor:
                return []
            vendor_caused = api.category is Category.vendor_outage
            return [self._open(Alert(
                key, AlertKind.down, [name], severity, "vendor" if vendor_caused else "own",
                f"{result.name} is {result.status.value}", self._down_message(result), now,
            ), now)]  # fmt: skip
        if current is None:
            return []
        needed = 1 if name in self._restored else self._recovery(name)
        if follow.good >= needed:
            event = self._event(current, "resolved", now)  # closed either way
            quiet = not self.settings.send_on_resolved or f"flapping:{name}" in self.open
            return [] if quiet else [event]
        if follow.bad and severity == "critical" and current.severity != "critical":
            current.severity, current.title = severity, f"{result.name} is {result.status.value}"
            current.message = self._down_message(result)
            return [self._event(current, "updated", now)]  # a warning became an outage
        return []

    @staticmethod
    def _down_message(result: ServiceHealth) -> str:
        missing = result.checks.configuration.missing_env_vars
        if not result.configured and missing:
            return f"{result.name} is not configured: {missing_message(missing)}"
        return result.message

    def _vendor(self, result: ServiceHealth, now: float) -> list[AlertEvent]:
        vendor = result.checks.vendor_status
        if not self.settings.vendor_incidents or vendor is None:
            return []
        key = f"vendor:{result.service}"
        if vendor.reports_trouble and key not in self.open:
            return [self._open(Alert(
                key, AlertKind.vendor, [result.service], "info", "vendor",
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
                key, AlertKind.latency, [result.service], "warning", "own",
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
            follow = self._follow_of(event.integration)
            if event.change == "missing":
                follow.missing.add(event.variable)
            else:
                follow.missing.discard(event.variable)
            key = f"config:{event.integration}"
            current = self.open.get(key)
            if follow.missing and current is None:
                out.append(self._open(Alert(
                    key, AlertKind.config, [event.integration], "warning", "own",
                    f"{event.integration}: configuration went missing",
                    missing_message(follow.missing), now,
                ), now))  # fmt: skip
            elif follow.missing and current is not None:
                message = missing_message(follow.missing)
                if message != current.message:
                    current.message = message
                    out.append(self._event(current, "updated", now))
            elif not follow.missing and current is not None:
                out.append(self._event(current, "resolved", now))
        return out

    def tick(self, now: float) -> list[AlertEvent]:
        """Reminders for alerts still open and not acknowledged, flapping that settled, and
        a group's settled change of members."""
        events = self._group_update(now)
        for alert in list(self.open.values()):
            if alert.kind is AlertKind.flapping:
                follow = self._follow.get(alert.services[0])
                if follow is not None and not any(
                    c >= now - self.settings.flapping.window_seconds for c in follow.changes
                ):
                    events.append(self._event(alert, "resolved", now))
                    continue
            if alert.acknowledged_at is not None:
                continue
            last = alert.last_sent_at or alert.opened_at
            if now - last >= self.settings.reminder_interval_seconds:
                events.append(self._event(alert, "reminder", now))
        return events
