"""The log: every alert event as one log line."""

from __future__ import annotations

import logging

from atom_health.alerting.notifiers.base import headline
from atom_health.config.alerting import LogNotifier
from atom_health.model.alerts import AlertEvent

log = logging.getLogger("atom_health.alerts")


class Log:
    def __init__(self, settings: LogNotifier) -> None:
        self.name = "log"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        level = logging.WARNING if event.action != "resolved" else logging.INFO
        log.log(level, "%s: %s", headline(event), event.alert.message)
