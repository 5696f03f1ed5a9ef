"""Email over SMTP (STARTTLS optional), as plain text and HTML."""

from __future__ import annotations

import asyncio
import html
import os
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage

from atom_health.alerting.notifiers.base import DeliveryError, headline
from atom_health.config.alerting import EmailNotifier
from atom_health.model.alerts import AlertEvent


def email_message(
    event: AlertEvent, dashboard_url: str, sender: str, recipients: list[str]
) -> EmailMessage:
    alert = event.alert
    message = EmailMessage()
    message["Subject"] = f"[atom-health] {headline(event)}"
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    if event.idempotency_key:  # the same on every retry: mail systems drop repeats
        message["Message-ID"] = f"<{event.idempotency_key}@atom-health>"
    lines = [alert.message, "", f"Severity: {alert.severity}", f"Integrations: {', '.join(alert.services)}",
             f"Route: {alert.route}", f"Dashboard: {dashboard_url}"]  # fmt: skip
    message.set_content("\n".join(lines))
    message.add_alternative(
        f"<h2>{html.escape(headline(event))}</h2><p>{html.escape(alert.message)}</p>"
        f"<p>Severity: <b>{html.escape(alert.severity)}</b><br>"
        f"Integrations: {html.escape(', '.join(alert.services))}<br>Route: {html.escape(alert.route)}</p>"
        f'<p><a href="{html.escape(dashboard_url)}">Open the dashboard</a></p>',
        subtype="html",
    )
    return message


class Email:
    def __init__(self, settings: EmailNotifier, environ: Mapping[str, str] = os.environ) -> None:
        self.settings = settings
        self.environ = environ
        self.name = "email"
        self.routes: list[str] = list(settings.routes)

    async def send(self, event: AlertEvent, dashboard_url: str) -> None:
        message = email_message(
            event, dashboard_url, self.settings.sender, self.settings.recipients
        )
        await asyncio.to_thread(self._deliver, message)

    def _deliver(self, message: EmailMessage) -> None:
        s = self.settings
        try:
            with smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds) as smtp:
                if s.starttls:
                    smtp.starttls()
                user = self.environ.get(s.username_env or "", "")
                if user:
                    smtp.login(user, self.environ.get(s.password_env or "", ""))
                smtp.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(f"SMTP delivery failed ({type(exc).__name__})") from None
