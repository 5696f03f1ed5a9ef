"""OAuth2 token requests for probes, and the cache that keeps their tokens until near expiry.

A grant's answer is read by :mod:`atom_health.checks.dialects.oauth`; a client that was
recognised without a usable token comes back as :class:`ClientRecognised`.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from atom_health.catalog.probe_spec import GrantSpec
from atom_health.checks.dialects import oauth
from atom_health.checks.dialects.answer import scope_names
from atom_health.services.base import IntegrationService
from atom_health.services.http import CallFailed, Reply, basic_auth, error_code

DEFAULT_LIFETIME = 300.0
REFRESH_MARGIN = 60.0


@dataclass(frozen=True)
class ClientRecognised:
    """The token endpoint knew the client, but no token usable for an API call came back."""

    code: str | None
    reply: Reply


@dataclass(frozen=True)
class Granted:
    """A token the endpoint issued, with what its answer says about the grant."""

    token: str
    lifetime: float
    scopes: tuple[str, ...] | None  # the standard ``scope`` field, when present
    refresh_expires_in: float | None  # the refresh token's own lifetime, when stated


@dataclass
class _Token:
    value: str
    expires_at: float


class TokenCache:
    """Access tokens by integration and credentials, dropped shortly before they expire."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._tokens: dict[str, _Token] = {}
        self._clock = clock

    @staticmethod
    def key(integration_id: str, values: list[str]) -> str:
        """A key that changes when any credential changes, without holding the values."""
        digest = hashlib.sha256("\0".join(values).encode()).hexdigest()
        return f"{integration_id}:{digest}"

    def get(self, key: str) -> str | None:
        token = self._tokens.get(key)
        if token is None or self._clock() >= token.expires_at:
            self._tokens.pop(key, None)
            return None
        return token.value

    def put(self, key: str, value: str, lifetime: float) -> None:
        margin = min(REFRESH_MARGIN, lifetime / 10)
        self._tokens[key] = _Token(value, self._clock() + lifetime - margin)


async def request_grant(
    service: IntegrationService,
    spec: GrantSpec,
    token_url: str,
    value: Callable[[str], str],
    deadline: float,
) -> Granted | ClientRecognised:
    """Ask the token endpoint; returns the :class:`Granted` token or :class:`ClientRecognised`.

    ``value`` reads a canonical variable's value. Raises :class:`CallFailed` otherwise.
    """
    body: dict[str, str] = {"grant_type": spec.grant_type, **spec.fields}
    body.update({field: value(var) for field, var in spec.env_fields.items()})
    client_id, client_secret = value(spec.client_id), value(spec.client_secret)
    headers = {"Accept": "application/json", **spec.headers}
    if spec.client_auth == "basic":
        headers["Authorization"] = basic_auth(client_id, client_secret)
    else:
        body.update(client_id=client_id, client_secret=client_secret)
    reply = await service.request(
        "POST",
        token_url,
        headers=headers,
        data=body if spec.encoding == "form" else None,
        json=body if spec.encoding == "json" else None,
        interpret=lambda r: oauth.interpret(r, spec),
        deadline=deadline,
        operation="oauth.token",
        path=urlsplit(token_url).path or "/",
    )
    answer = _json_object(reply)
    token = answer.get("access_token")
    if spec.check_only or not isinstance(token, str) or not token:
        return ClientRecognised(error_code(answer), reply)
    scope = answer.get("scope")
    return Granted(
        token,
        _lifetime(answer.get("expires_in")),
        scope_names(scope, " ") if isinstance(scope, str) else None,
        _seconds(answer.get("refresh_token_expires_in", answer.get("x_refresh_token_expires_in"))),
    )


def _json_object(reply: Reply, strict: bool = True) -> Mapping[str, Any]:
    try:
        answer = reply.json()
    except CallFailed:
        if strict:
            raise
        return {}
    return answer if isinstance(answer, dict) else {}


def _seconds(value: Any) -> float | None:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return None
    return seconds if seconds > 0 else None


def _lifetime(expires_in: Any) -> float:
    """Seconds from ``expires_in``; a default when it is missing or not a number."""
    try:
        return max(1.0, float(expires_in))
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
