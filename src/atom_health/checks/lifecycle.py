"""Credential lifecycle: when a credential expires, and whether it is a test credential.

Expiry comes from what is known without extra calls: a provider's expiry header on the
probe's answer (GitHub's ``github-authentication-token-expiration``), the ``exp`` claim of
a credential that is a JWT (decoded locally, not verified: only the date is read), and the
refresh token's lifetime stated by a token endpoint (``refresh_token_expires_in``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from atom_health.catalog.probe_spec import SandboxSpec
from atom_health.checks.dialects.answer import at_path
from atom_health.model.results import CredentialExpiry

Source = Literal["provider", "jwt", "grant"]


def expiry(variable: str, moment: datetime, source: Source) -> CredentialExpiry:
    days = (moment - datetime.now(UTC)).total_seconds() / 86_400
    return CredentialExpiry(
        variable=variable, expires_at=moment, days_left=round(days, 1), source=source
    )


def after(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


def jwt_expiry(value: str) -> datetime | None:
    """The ``exp`` of a JWT-shaped value (three base64url parts, a JSON header with ``alg``)."""
    parts = value.split(".")
    if len(parts) != 3 or not value.startswith("eyJ"):
        return None
    header, claims = _segment(parts[0]), _segment(parts[1])
    if not isinstance(header, dict) or "alg" not in header or not isinstance(claims, dict):
        return None
    exp = claims.get("exp")
    if isinstance(exp, bool) or not isinstance(exp, (int, float)):
        return None
    try:
        return datetime.fromtimestamp(exp, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _segment(text: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, binascii.Error):
        return None


def soonest(expiries: Iterable[CredentialExpiry | None]) -> CredentialExpiry | None:
    known = [e for e in expiries if e is not None]
    return min(known, key=lambda e: e.expires_at, default=None)


def sandbox_marker(
    spec: SandboxSpec | None,
    value: Callable[[str], str],
    env_name: Callable[[str], str],
    base_url: str | None,
    body: Any,
) -> str | None:
    """What shows the credentials are for testing (a variable, an answer field, the base URL).

    ``value`` reads a canonical variable's value; ``env_name`` gives its deployed name.
    """
    if spec is None:
        return None
    for variable, prefixes in spec.prefixes.items():
        if value(variable).startswith(tuple(prefixes)):
            return f"{env_name(variable)} holds a test key"
    for path, expected in spec.answer_equals.items():
        if body is not None and at_path(body, path) == expected:
            shown = "true" if expected is True else "false" if expected is False else repr(expected)
            return f"the provider answered {path}={shown}"
    if base_url and any(mark in base_url for mark in spec.base_url_contains):
        return "the base URL is a sandbox"
    return None
