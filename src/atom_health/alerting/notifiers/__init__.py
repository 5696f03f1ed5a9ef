"""One module per notifier; :func:`build_notifiers` turns settings into notifiers."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from atom_health.alerting.notifiers.apprise_urls import AppriseUrls
from atom_health.alerting.notifiers.base import DeliveryError, Notifier
from atom_health.alerting.notifiers.email import Email
from atom_health.alerting.notifiers.log import Log
from atom_health.alerting.notifiers.pagerduty import PagerDuty
from atom_health.alerting.notifiers.slack import Slack
from atom_health.alerting.notifiers.webhook import Webhook
from atom_health.config.alerting import (
    AppriseNotifier,
    EmailNotifier,
    LogNotifier,
    PagerDutyNotifier,
    SlackNotifier,
    WebhookNotifier,
)
from atom_health.config.alerting import Notifier as NotifierSettings


def build_notifiers(
    settings: Sequence[NotifierSettings], environ: Mapping[str, str] = os.environ
) -> list[Notifier]:
    built: list[Notifier] = []
    for index, entry in enumerate(settings):
        notifier: Notifier
        if isinstance(entry, WebhookNotifier):
            notifier = Webhook(entry, environ)
        elif isinstance(entry, SlackNotifier):
            notifier = Slack(entry, environ)
        elif isinstance(entry, EmailNotifier):
            notifier = Email(entry, environ)
        elif isinstance(entry, AppriseNotifier):
            notifier = AppriseUrls(entry, environ)
        elif isinstance(entry, PagerDutyNotifier):
            notifier = PagerDuty(entry, environ)
        else:
            assert isinstance(entry, LogNotifier)
            notifier = Log(entry)
        if any(n.name == notifier.name for n in built):
            notifier.name = f"{notifier.name}-{index + 1}"
        built.append(notifier)
    return built


__all__ = ["DeliveryError", "Notifier", "build_notifiers"]
