"""Bearer tokens for provider clients: a fixed token, or an OAuth access token renewed with a
refresh token (RFC 6749 section 6). This is the base class's token-refresh hook:
``IntegrationService.request(..., auth=source)`` takes its token from the source and, when
the provider rejects it, asks the source to renew it once.

:class:`OAuthRefresh` renews ahead of expiry (``expires_in`` less a margin), as providers
ask (HubSpot: "track expires_in"), and once more on a rejection; concurrent callers share
one renewal. A refused refresh is ``credentials_rejected`` naming the variables to fix.
Nothing here logs or raises a token value.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from atom_health.model.results import AuthState, Category, utc_now
from atom_health.services.http import CallFailed, Reply, error_code, safe_code, status_failure

# The service making the calls (an IntegrationService; not imported, to keep the package
# free of import cycles): anything with its ``request`` coroutine.
IntegrationService = Any

REFRESH_MARGIN = 60.0
DEFAULT_LIFETIME = 1800.0


class TokenSource(Protocol):
    async def token(self, service: IntegrationService, deadline: float) -> str:
        """The bearer token to send now (renewed first if it is about to expire)."""

    async def renew(
        self, service: IntegrationService, deadline: float, rejected: str
    ) -> str | None:
        """A new token after ``rejected`` was refused, or None when it cannot be renewed."""

    def state(self) -> AuthState:
        """What the source knows about its credential, for the health answer."""


class StaticToken:
    """A token that does not change (an API key, a private-app token): never renewed."""

    def __init__(self, value: str, variable: str) -> None:
        self._value = value
        self.variable = variable

    async def token(self, service: IntegrationService, deadline: float) -> str:
        return self._value

    async def renew(
        self, service: IntegrationService, deadline: float, rejected: str
    ) -> str | None:
        return None

    def state(self) -> AuthState:
        return AuthState(kind="token", variables=[self.variable])


class OAuthRefresh:
    """An access token kept fresh with a refresh token at ``token_url`` (form-encoded, client
    id and secret in the body, as HubSpot and most providers take them).

    ``variables`` names the access-token, client-id, client-secret and refresh-token
    variables, in that order, for messages.
    """

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        variables: Sequence[str],
        access_token: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.token_url = token_url
        self._client = (client_id, client_secret)
        self._refresh_token = refresh_token
        self.variables = list(variables)
        self._access = access_token or None
        # An access token from the environment has an unknown lifetime: use it until refused.
        self._expires_at: float | None = None
        self._clock = clock
        self._lock = asyncio.Lock()
        self.renewals = 0
        self.last_renewed: datetime | None = None
        self.last_failure: Category | None = None

    async def token(self, service: IntegrationService, deadline: float) -> str:
        if self._access is not None and not self._expiring():
            return self._access
        return await self._renew_unless(service, deadline, self._access)

    async def renew(self, service: IntegrationService, deadline: float, rejected: str) -> str:
        return await self._renew_unless(service, deadline, rejected)

    def _expiring(self) -> bool:
        return self._expires_at is not None and self._clock() >= self._expires_at

    async def _renew_unless(
        self, service: IntegrationService, deadline: float, stale: str | None
    ) -> str:
        async with self._lock:
            if self._access is not None and self._access != stale and not self._expiring():
                return self._access  # another caller renewed it while we waited
            try:
                access, lifetime, rotated = await self._refresh(service, deadline)
            except CallFailed as failure:
                self.last_failure = failure.category
                raise
            self._access = access
            self._refresh_token = rotated or self._refresh_token
            self._expires_at = self._clock() + lifetime - min(REFRESH_MARGIN, lifetime / 10)
            self.renewals += 1
            self.last_renewed = utc_now()
            self.last_failure = None
            return access

    async def _refresh(
        self, service: IntegrationService, deadline: float
    ) -> tuple[str, float, str | None]:
        client_id, client_secret = self._client
        reply = await service.request(
            "POST",
            self.token_url,
            headers={"Accept": "application/json"},
            data={
                "grant_type": "refresh_token",
                "client_id": client_id,
                "client_secret": client_secret,
                "refresh_token": self._refresh_token,
            },
            interpret=self._failure,
            deadline=deadline,
            operation="oauth.refresh",
            path=urlsplit(self.token_url).path or "/",
        )
        answer = _object(reply.json())
        access = answer.get("access_token")
        if not isinstance(access, str) or not access:
            raise CallFailed(Category.bad_response, "token answer without access_token", 200)
        rotated = answer.get("refresh_token")
        return (
            access,
            _lifetime(answer.get("expires_in")),
            rotated if isinstance(rotated, str) else None,
        )

    def _failure(self, reply: Reply) -> CallFailed | None:
        """OAuth errors come as 400/401 with a code (HubSpot: ``status: BAD_REFRESH_TOKEN``)."""
        if reply.status not in (400, 401):
            return status_failure(reply)
        try:
            body = _object(reply.json())
        except CallFailed:
            body = {}
        code = error_code(body)
        status = body.get("status")
        if code is None and status != "error":
            code = safe_code(status)
        return CallFailed(
            Category.credentials_rejected,
            f"the refresh token was refused ({code or f'HTTP {reply.status}'})",
            reply.status,
            code=code,
            variables=tuple(self.variables[1:]),
        )

    def state(self) -> AuthState:
        expires_in = None
        if self._expires_at is not None:
            expires_in = round(max(0.0, self._expires_at - self._clock()), 1)
        return AuthState(
            kind="oauth",
            variables=self.variables,
            renewals=self.renewals,
            last_renewed=self.last_renewed,
            expires_in_seconds=expires_in,
            last_failure=self.last_failure,
        )


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _lifetime(expires_in: Any) -> float:
    try:
        return max(1.0, float(expires_in))
    except (TypeError, ValueError):
        return DEFAULT_LIFETIME
