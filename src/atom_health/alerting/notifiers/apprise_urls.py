"""Any service Apprise supports (Teams, Discord, Telegram, ntfy, Opsgenie, email, ...), by URL.

The URLs carry tokens, so they are read from the variable ``url_env`` names (several may be
separated by spaces or commas). Apprise masks secrets in its own log lines; our messages
name the variable, never the URL. Needs the ``[apprise]`` extra.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from atom_health.alerting.notifiers.base import DeliveryError, headline
from atom_health.config.alerting import AppriseNotifier
from atom_health.model.alerts import AlertEvent
from atom_health.model.errors import ConfigError, MissingExtraError

_NOTIFY_TYPES = {"critical": "failure", "warning": "warning", "info": "info"}


class AppriseUrls:
    def __init__(self, settings: AppriseNotifier, environ: Mapping[str, str] = os.environ) -> None:
        try:
            import apprise  # noqa: F401
        except ImportError:
            raise ConfigError(str(MissingExtraError("The apprise notifier", "apprise"))) from None
        self.settings = settings
        self.environ = environ
        self.name = "apprise"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        import apprise

        urls = [u for u in re.split(r"[\s,]+", self.environ.get(self.settings.url_env, "")) if u]
        if not urls:
            raise DeliveryError(f"{self.settings.url_env} is not set")
        asset = apprise.AppriseAsset(secure_logging=True)
        notifier = apprise.Apprise(asset=asset)
        for url in urls:
            if not notifier.add(url):
                raise DeliveryError(f"{self.settings.url_env} holds a URL Apprise does not know")
        alert = event.alert
        kind = "success" if event.action == "resolved" else _NOTIFY_TYPES[alert.severity]
        sent = await notifier.async_notify(
            title=headline(event),
            body=f"{alert.message}\n\n{dashboard_url}",
            notify_type=kind,
        )
        if not sent:
            raise DeliveryError("Apprise could not deliver to every URL")
