"""OAuth2 token requests for probes, and the cache that keeps their tokens until near expiry.

A grant's answer is read by OAuth error code (RFC 6749 section 5.2 and the common
provider variants), never by free text:
- the client id or secret was refused -> ``credentials_rejected``;
- the client was recognised but the grant was refused (``invalid_grant`` for a refresh
  token or account id) -> ``credentials_rejected``, naming the grant's own variables;
- the client was recognised but may not use this grant type -> :class:`ClientRecognised`;
- for a ``check_only`` grant, any other refusal means the client was recognised.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from atom_health.catalog.probe_spec import GrantSpec
from atom_health.model.vocabulary import Category
from atom_health.services.base import IntegrationService
from atom_health.services.http import CallFailed, Reply, basic_auth, error_code, status_failure

CLIENT_REJECTED = frozenset(
    {
        "invalid_client",  # RFC 6749
        "incorrect_client_credentials",  # GitHub
        "invalid_client_id",  # Slack
        "bad_client_secret",  # Slack
    }
)
GRANT_NOT_ALLOWED = frozenset({"unauthorized_client", "unsupported_grant_type"})
DEFAULT_LIFETIME = 300.0
REFRESH_MARGIN = 60.0


@dataclass(frozen=True)
class ClientRecognised:
    """The token endpoint knew the client, but no token usable for an API call came back."""

    code: str | None
    reply: Reply


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

    def drop(self, key: str) -> None:
        self._tokens.pop(key, None)


async def request_grant(
    service: IntegrationService,
    spec: GrantSpec,
    token_url: str,
    value: Callable[[str], str],
    deadline: float,
) -> tuple[str, float] | ClientRecognised:
    """Ask the token endpoint; returns (access token, lifetime s) or :class:`ClientRecognised`.

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
        interpret=lambda r: _grant_failure(r, spec),
        deadline=deadline,
    )
    answer = _json_object(reply)
    token = answer.get("access_token")
    if spec.check_only or not isinstance(token, str) or not token:
        return ClientRecognised(error_code(answer), reply)
    return token, _lifetime(answer.get("expires_in"))


def _grant_failure(reply: Reply, spec: GrantSpec) -> CallFailed | None:
    """Decide a token endpoint's answer by its OAuth error code.

    OAuth reports errors with 400 or 401 (Slack and GitHub with 200); any other status
    means what it means anywhere, so the shared status mapping decides it.
    """
    if reply.status not in (200, 400, 401):
        return status_failure(reply)
    answer = _json_object(reply, strict=False)
    code = error_code(answer)
    if code in CLIENT_REJECTED or (reply.status == 401 and code is None):
        return CallFailed(
            Category.credentials_rejected,
            f"the client id or secret was refused ({code or 'HTTP 401'})",
            reply.status,
            code=code,
            extra={"variables": [spec.client_id, spec.client_secret]},
        )
    if code is None and 200 <= reply.status < 300 and "access_token" in answer:
        return None
    if code is not None and (spec.check_only or code in GRANT_NOT_ALLOWED):
        return None
    if code is not None:
        return CallFailed(
            Category.credentials_rejected,
            f"the grant was refused ({code})",
            reply.status,
            code=code,
            extra={"variables": spec.variables()},
        )
    return CallFailed(
        Category.bad_response, f"HTTP {reply.status}, no token and no error code", reply.status
    )


def _json_object(reply: Reply, strict: bool = True) -> Mapping[str, Any]:
    try:
        answer = reply.json()
    except CallFailed:
        if strict:
            raise
        return {}
    return answer if isinstance(answer, dict) else {}


def _lifetime(expires_in: Any) -> float:
    """Seconds from ``expires_in``; a default when it is missing or not a number."""
    try:
        return max(1.0, float(expires_in))
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
