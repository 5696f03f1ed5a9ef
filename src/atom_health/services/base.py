"""``IntegrationService``: the base of every provider API client, and of the live probes.

One call through :meth:`IntegrationService.request` gets, in this order: a bearer token
from its :class:`~atom_health.services.oauth.TokenSource` (when given), the circuit
breaker's permission, a token from the rate budget for each attempt, a per-attempt
timeout inside an overall deadline, bounded retries of transient failures (honouring
``Retry-After``), interpretation of the answer (a failed answer is never a success),
one metrics record per operation and one structured log line. A rejected token is
renewed once through the token source, then the call is tried once more.

The log line names the operation, the path *template* (never a filled-in path, which
can hold ids or personal values), the status, the latency and the attempts; never a
header, a query value or a body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from atom_health.catalog.model import Integration
from atom_health.model.results import AuthState, Category, ProviderQuota
from atom_health.services import tracing
from atom_health.services.breaker import CircuitBreaker
from atom_health.services.http import CallFailed, Reply, status_failure, transport_failure
from atom_health.services.metrics import CallMetrics, OperationMetrics
from atom_health.services.oauth import TokenSource
from atom_health.services.rate_limit import RequestBudget
from atom_health.services.retry import RetryPolicy

call_log = logging.getLogger("atom_health.calls")

# Failures that say the provider is unwell; others (a rejected key) prove it answers.
BREAKER_FAILURES = frozenset(
    {
        Category.timeout,
        Category.dns,
        Category.tls,
        Category.connect,
        Category.server_error,
        Category.rate_limited,
        Category.bad_response,
    }
)

Interpreter = Callable[[Reply], CallFailed | None]


@dataclass(frozen=True)
class CallLimits:
    attempt_timeout: float = 5.0
    deadline: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    breaker_threshold: int = 5
    breaker_reset_after: float = 30.0


class IntegrationService:
    """Calls one provider on behalf of one integration. Subclass it for a provider client."""

    def __init__(
        self,
        integration: Integration,
        session: Callable[[], aiohttp.ClientSession],
        limits: CallLimits = CallLimits(),
        budget: RequestBudget | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.integration = integration
        self.environ = environ  # read live: credentials may change while the process runs
        self._session = session
        self.limits = limits
        self.budget = budget
        self.breaker = CircuitBreaker(limits.breaker_threshold, limits.breaker_reset_after)
        self.metrics = CallMetrics()
        self.operations = OperationMetrics()

    def auth_state(self) -> AuthState | None:
        """The credential a provider client holds (kind, renewals); None for probes alone."""
        return None

    def quota_state(self) -> ProviderQuota | None:
        """The provider's limits as its answers last reported them, when a client reads them."""
        return None

    def token_source(self, variable: str) -> TokenSource | None:
        """The source a subclass keeps for the bearer token in canonical ``variable`` (so a
        probe of that token renews it as the client does); None: send the value as it is."""
        return None

    async def request(
        self,
        method: str,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        interpret: Interpreter | None = None,
        deadline: float | None = None,
        operation: str = "call",
        path: str = "-",
        auth: TokenSource | None = None,
    ) -> Reply:
        """One logical call; returns the successful reply or raises :class:`CallFailed`.

        ``interpret`` decides whether a reply is a failure; by default, its HTTP status.
        ``operation`` and ``path`` (a template such as ``/crm/v3/objects/{objectType}``)
        label its metrics and log line. With ``auth``, the call carries its bearer token
        and a rejected token is renewed once.
        """
        attributes = {
            "atom_health.integration": self.integration.id,
            "http.request.method": method,
            "server.address": urlsplit(url).hostname or "",  # never the path or query
        }
        with tracing.span("atom_health.provider_call", attributes) as span:
            try:
                reply = await self._request(
                    _Call(
                        method, url, headers, params, json, data, interpret, 0.0, operation, path
                    ),
                    deadline,
                    auth,
                )
            except CallFailed as failure:
                span.set_attribute("atom_health.attempts", failure.attempts)
                tracing.mark_failed(span, failure.category.value)
                raise
            span.set_attribute("atom_health.attempts", reply.attempts)
            span.set_attribute("http.response.status_code", reply.status)
            return reply

    async def _request(
        self, planned: _Call, deadline: float | None, auth: TokenSource | None
    ) -> Reply:
        loop = asyncio.get_running_loop()
        ends = deadline if deadline is not None else loop.time() + self.limits.deadline
        call = replace(planned, ends=ends)
        if auth is None:
            return await self._call(call)
        token = await auth.token(self, ends)
        try:
            return await self._call(call.with_token(token))
        except CallFailed as failure:
            if failure.category is not Category.credentials_rejected:
                raise
            renewed = await auth.renew(self, ends, token)
            if renewed is None:
                raise
        return await self._call(call.with_token(renewed))

    async def _call(self, call: _Call) -> Reply:
        loop = asyncio.get_running_loop()
        method, url, headers, params, json, data = (
            call.method, call.url, call.headers, call.params, call.json, call.data
        )  # fmt: skip
        interpret, ends = call.interpret, call.ends
        started = time.perf_counter()
        if not self.breaker.allow():
            refused = self._breaker_open()
            self._log(call, None, refused, 0.0, 0)
            raise refused
        attempts = 0
        while True:
            attempts += 1
            try:
                reply = await self._attempt(
                    method, url, headers, params, json, data, ends, attempts
                )
                failure = (interpret or status_failure)(reply)
            except CallFailed as exc:
                failure = exc
            else:
                if failure is None:
                    self._settle(call, started, None, reply.status, attempts)
                    return reply
            failure.attempts = attempts
            pause = self.limits.retry.delay(attempts - 1, failure.retry_after)
            retry = not failure.final and self.limits.retry.should_retry(
                failure.category, attempts - 1
            )
            if not retry or loop.time() + pause >= ends:
                failure.latency_ms = (time.perf_counter() - started) * 1000
                self._settle(call, started, failure, failure.http_status, attempts)
                raise failure
            await asyncio.sleep(pause)

    async def _attempt(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str] | None,
        params: Mapping[str, str] | None,
        json: Any,
        data: Mapping[str, str] | None,
        ends: float,
        attempt: int,
    ) -> Reply:
        wait = await self.budget.take() if self.budget is not None else None
        if wait is not None:
            raise CallFailed(
                Category.rate_limited,
                f"local request budget used up; next call allowed in {wait:.0f} s",
                retry_after=wait,
                local_budget=True,
            )
        remaining = ends - asyncio.get_running_loop().time()
        if remaining <= 0:
            raise CallFailed(Category.timeout, "the check's deadline passed")
        timeout = aiohttp.ClientTimeout(total=min(self.limits.attempt_timeout, remaining))
        started = time.perf_counter()
        try:
            async with self._session().request(
                method,
                url,
                headers=headers,
                params=params,
                json=json,
                data=data,
                timeout=timeout,
                allow_redirects=False,
            ) as response:
                body = await response.read()
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise transport_failure(exc) from None
        return Reply(
            status=response.status,
            headers=response.headers,
            body=body,
            latency_ms=(time.perf_counter() - started) * 1000,
            attempts=attempt,
        )

    def _settle(
        self,
        call: _Call,
        started: float,
        failure: CallFailed | None,
        status: int | None,
        attempts: int,
    ) -> None:
        """Record the call's outcome once: metrics and a log line always, the breaker unless
        we held back."""
        category = failure.category if failure else None
        latency = (time.perf_counter() - started) * 1000
        self.metrics.record(latency, category)
        self.operations.record(call.operation, latency, category)
        self._log(call, status, failure, latency, attempts)
        if failure is not None and failure.local_budget:
            return
        if failure is not None and category in BREAKER_FAILURES and not failure.request_error:
            self.breaker.record_failure(failure.category)
        else:
            self.breaker.record_success()

    def _log(
        self,
        call: _Call,
        status: int | None,
        failure: CallFailed | None,
        latency: float,
        attempts: int,
    ) -> None:
        """The call's one structured line: labels from code and the catalog, numbers only."""
        level = logging.INFO if failure is None else logging.WARNING
        if not call_log.isEnabledFor(level):
            return
        outcome = failure.category.value if failure else "ok"
        fields = {
            "integration": self.integration.id,
            "operation": call.operation,
            "method": call.method,
            "path": call.path,
            "status": status,
            "outcome": outcome,
            "latency_ms": round(latency, 1),
            "attempts": attempts,
        }
        call_log.log(
            level,
            "%s %s %s %s status=%s outcome=%s latency_ms=%.1f attempts=%d",
            self.integration.id,
            call.operation,
            call.method,
            call.path,
            status if status is not None else "-",
            outcome,
            latency,
            attempts,
            extra={"call": fields},
        )

    def _breaker_open(self) -> CallFailed:
        snapshot = self.breaker.snapshot()
        last = self.breaker.last_failure or Category.connect
        wait = snapshot.retry_in_seconds
        when = f"; next trial in {wait:.0f} s" if wait is not None else ""
        return CallFailed(
            last,
            f"circuit open after {snapshot.consecutive_failures} consecutive failures{when}",
            breaker_open=True,
        )


@dataclass(frozen=True)
class _Call:
    """One logical call's request and labels, as :meth:`IntegrationService.request` got them."""

    method: str
    url: str
    headers: Mapping[str, str] | None
    params: Mapping[str, str] | None
    json: Any
    data: Mapping[str, str] | None
    interpret: Interpreter | None
    ends: float
    operation: str
    path: str

    def with_token(self, token: str) -> _Call:
        headers = {**(self.headers or {}), "Authorization": f"Bearer {token}"}
        return _Call(
            self.method, self.url, headers, self.params, self.json, self.data,
            self.interpret, self.ends, self.operation, self.path,
        )  # fmt: skip
