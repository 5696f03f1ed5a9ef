"""Webhook health: verify a delivery's signature by the provider's scheme (catalog data),
record the outcome, and say whether deliveries reach us signed with the secret we hold.

The ``webhooks`` part of an integration's health answer:
- ``fail`` / ``credentials_rejected`` when deliveries in the last hour failed the signature
  check and none passed: the signing secret we hold is not the provider's (it names the
  variable);
- ``warn`` when deliveries were refused for other reasons (unsigned, replayed outside the
  tolerance), when some failed beside successes, when no verified delivery came for longer
  than the integration's expected interval, or when the provider's API says our endpoint
  is disabled or failing;
- ``pass`` when the last deliveries verified; ``skip`` when the integration has no scheme,
  no signing secret is set, or nothing was delivered yet.

Nothing here keeps or logs a body, a signature or a secret: only outcomes and times.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from atom_health.catalog.model import Integration
from atom_health.catalog.webhook_spec import WebhookScheme
from atom_health.model.results import Category, CheckStatus, WebhookEndpoint, WebhooksPart

HOUR = 3600.0
_KEEP = 10_000  # deliveries kept per integration (the last hour is what is reported)


class Outcome(StrEnum):
    verified = "verified"
    bad_signature = "bad_signature"  # signed, but not with the secret we hold
    unsigned = "unsigned"  # no signature header
    stale = "stale"  # the timestamp is outside the tolerance (a replay, or a skewed clock)
    malformed = "malformed"  # a signature or timestamp we cannot read
    no_secret = "no_secret"  # we hold no signing secret: nothing can be verified


@dataclass(frozen=True)
class Verification:
    """A delivery's verdict. ``status`` is what a receiver should answer the provider."""

    service: str
    outcome: Outcome
    message: str

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.verified

    @property
    def status(self) -> int:
        if self.ok:
            return 200
        return 503 if self.outcome is Outcome.no_secret else 401

    def body(self) -> dict[str, object]:
        return {"ok": self.ok, "service": self.service, "outcome": self.outcome.value,
                "message": self.message}  # fmt: skip


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value.strip() if isinstance(value, str) else None


def sign(scheme: WebhookScheme, secret: str, message: bytes) -> str:
    """The encoded signature of ``message`` (without the scheme's prefix)."""
    digest = hmac.new(secret.encode(), message, getattr(hashlib, scheme.algorithm)).digest()
    return digest.hex() if scheme.encoding == "hex" else base64.b64encode(digest).decode()


def signed_message(
    scheme: WebhookScheme, body: bytes, timestamp: str, method: str, url: str
) -> bytes:
    """The bytes a scheme signs: its template with the raw body kept byte for byte."""
    out = bytearray()
    rest = scheme.signed
    while rest:
        start = rest.find("{")
        if start < 0:
            out += rest.encode()
            break
        out += rest[:start].encode()
        end = rest.index("}", start)
        name = rest[start + 1 : end]
        values = {
            "timestamp": timestamp.encode(),
            "method": method.upper().encode(),
            "url": url.encode(),
        }
        out += body if name == "body" else values[name]
        rest = rest[end + 1 :]
    return bytes(out)


def verify(
    service: str,
    scheme: WebhookScheme,
    secret: str,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    now: float | None = None,
) -> Verification:
    """Check one delivery against ``scheme`` with ``secret``; pure, no I/O."""
    now = time.time() if now is None else now
    raw = _header(headers, scheme.signature_header)
    if not raw:
        return Verification(service, Outcome.unsigned, f"no {scheme.signature_header} header")
    if scheme.header_format == "stripe":
        fields = [item.split("=", 1) for item in raw.split(",") if "=" in item]
        timestamp = next((v for k, v in fields if k.strip() == "t"), "")
        candidates = [v.strip() for k, v in fields if k.strip() == "v1"]
    else:
        timestamp = ""
        if scheme.timestamp_header:
            timestamp = _header(headers, scheme.timestamp_header) or ""
        elif scheme.timestamp_body_field:
            timestamp = _body_timestamp(body, scheme.timestamp_body_field)
        if not raw.startswith(scheme.prefix):
            return Verification(
                service, Outcome.malformed, f"{scheme.signature_header} lacks its prefix"
            )
        candidates = [raw[len(scheme.prefix) :]]
    # Stripe and header timestamps are always checked; a body field only when present
    # (Linear: "if the body has webhookTimestamp").
    needs_time = bool(scheme.header_format == "stripe" or scheme.timestamp_header or timestamp)
    if needs_time and scheme.tolerance_seconds is not None:
        try:
            sent = float(timestamp) / (1000 if scheme.timestamp_unit == "ms" else 1)
        except ValueError:
            return Verification(
                service, Outcome.malformed, "the delivery's timestamp is missing or unreadable"
            )
        if abs(now - sent) > scheme.tolerance_seconds:
            return Verification(
                service,
                Outcome.stale,
                f"the delivery was signed {abs(now - sent):.0f} s away from now, beyond the "
                f"{scheme.tolerance_seconds:.0f} s tolerance (a replay, or a clock out of step)",
            )
    expected = sign(scheme, secret, signed_message(scheme, body, timestamp, method, url))
    if any(hmac.compare_digest(expected.encode(), c.encode()) for c in candidates):
        return Verification(service, Outcome.verified, "signature verified")
    return Verification(
        service, Outcome.bad_signature, "the signature does not match the signing secret"
    )


def _body_timestamp(body: bytes, field: str) -> str:
    try:
        value = json.loads(body).get(field)
    except (ValueError, AttributeError):
        return ""
    return (
        str(value) if isinstance(value, (int, float, str)) and not isinstance(value, bool) else ""
    )


@dataclass(frozen=True)
class _Delivery:
    at: float
    outcome: Outcome


class WebhookLedger:
    """Deliveries per integration: outcomes and times only, the last hour's worth (bounded).

    Host apps verify through :meth:`verify`, which records each verdict. Thread-safe: the
    Flask helper records from request threads while the engine reads in its loop.
    """

    def __init__(
        self,
        catalog_get: Callable[[str], Integration | None],
        environ: Mapping[str, str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._get = catalog_get
        self.environ = environ
        self._clock = clock
        self._lock = threading.Lock()
        self._deliveries: dict[str, deque[_Delivery]] = {}
        self._last_verified: dict[str, float] = {}
        self._started = clock()

    def verify(
        self, service: str, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> Verification:
        """Verify a delivery for ``service`` (an id or alias) and record the verdict.

        Raises :class:`LookupError` for an unknown integration and :class:`ValueError` for
        one without a webhook scheme in its catalog entry.
        """
        integration = self._get(service)
        if integration is None:
            raise LookupError(f"Unknown integration: {service}")
        scheme = integration.webhook
        if scheme is None:
            raise ValueError(f"{integration.name} has no webhook signature scheme in the catalog")
        secret = self.environ.get(integration.env_name(scheme.secret), "").strip()
        if not secret:
            variable = integration.env_name(scheme.secret)
            verdict = Verification(
                integration.id, Outcome.no_secret, f"set {variable} to verify deliveries"
            )
        else:
            verdict = verify(
                integration.id, scheme, secret, method, url, headers, body, self._clock()
            )
        self.record(integration.id, verdict.outcome)
        return verdict

    def record(self, integration_id: str, outcome: Outcome) -> None:
        now = self._clock()
        with self._lock:
            deliveries = self._deliveries.setdefault(integration_id, deque(maxlen=_KEEP))
            deliveries.append(_Delivery(now, outcome))
            if outcome is Outcome.verified:
                self._last_verified[integration_id] = now

    def part(
        self, integration: Integration, endpoint: WebhookEndpoint | None = None
    ) -> WebhooksPart:
        """The ``webhooks`` part of the integration's health answer, as of now."""
        scheme = integration.webhook
        name = integration.name
        if scheme is None:
            return WebhooksPart(
                status=CheckStatus.skip, message=f"atom-health knows no signed webhooks from {name}"
            )
        variable = integration.env_name(scheme.secret)
        now = self._clock()
        with self._lock:
            recent = [d for d in self._deliveries.get(integration.id, ()) if now - d.at <= HOUR]
            last = self._last_verified.get(integration.id)
        verified = sum(d.outcome is Outcome.verified for d in recent)
        refused: list[Outcome] = [d.outcome for d in recent if d.outcome is not Outcome.verified]
        common = {
            "scheme": scheme.signature_header,
            "signing_secret_env": variable,
            "last_verified_at": datetime.fromtimestamp(last, UTC) if last else None,
            "deliveries_last_hour": len(recent),
            "signature_failures_last_hour": len(refused),
            "expected_interval_seconds": scheme.expected_interval_seconds,
            "endpoint": endpoint,
        }
        status, message, category = self._verdict(
            integration, scheme, variable, verified, refused, last, now
        )
        if (
            endpoint is not None
            and endpoint.state in ("disabled", "failing", "not_found")
            and status is not CheckStatus.failed
        ):
            status, message = CheckStatus.warn, endpoint.detail
        return WebhooksPart(status=status, message=message, category=category, **common)

    def _verdict(
        self,
        integration: Integration,
        scheme: WebhookScheme,
        variable: str,
        verified: int,
        refused: list[Outcome],
        last: float | None,
        now: float,
    ) -> tuple[CheckStatus, str, Category | None]:
        name = integration.name
        if not self.environ.get(variable, "").strip():
            return CheckStatus.skip, f"Set {variable} to verify {name}'s webhook deliveries", None
        bad = refused.count(Outcome.bad_signature)
        if bad and not verified:
            return (
                CheckStatus.failed,
                f"{bad} of {name}'s webhook deliveries in the last hour failed the signature "
                f"check and none passed: {variable} does not hold {name}'s signing secret",
                Category.credentials_rejected,
            )
        if refused:
            reasons = ", ".join(f"{refused.count(o)} {o.value}" for o in Outcome if o in refused)
            return (
                CheckStatus.warn,
                f"{len(refused)} of {name}'s webhook deliveries in the last hour were refused "
                f"({reasons}); {verified} verified",
                None,
            )
        interval = scheme.expected_interval_seconds
        quiet_since = last if last is not None else self._started
        if interval is not None and now - quiet_since > interval:
            quiet = (
                f"the last verified webhook delivery from {name} came {now - last:.0f} s ago"
                if last is not None
                else f"no verified webhook delivery from {name} came since atom-health started"
            )
            return (
                CheckStatus.warn,
                f"{quiet[0].upper()}{quiet[1:]}; one is expected every {interval:.0f} s",
                None,
            )
        if last is None:
            return CheckStatus.skip, f"No webhook delivery from {name} has arrived yet", None
        return CheckStatus.passed, f"{name}'s webhook deliveries verify with {variable}", None
