"""``IntegrationService``: the base of every provider API client, and of the live probes.

One call through :meth:`IntegrationService.request` gets, in this order: the circuit
breaker's permission, a token from the rate budget for each attempt, a per-attempt
timeout inside an overall deadline, bounded retries of transient failures (honouring
``Retry-After``), interpretation of the answer (a failed answer is never a success),
and one metrics record.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from atom_health.catalog.model import Integration
from atom_health.model.results import Category
from atom_health.services.breaker import CircuitBreaker
from atom_health.services.http import CallFailed, Reply, status_failure, transport_failure
from atom_health.services.metrics import CallMetrics
from atom_health.services.rate_limit import RequestBudget
from atom_health.services.retry import RetryPolicy

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
    ) -> None:
        self.integration = integration
        self._session = session
        self.limits = limits
        self.budget = budget
        self.breaker = CircuitBreaker(limits.breaker_threshold, limits.breaker_reset_after)
        self.metrics = CallMetrics()

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
    ) -> Reply:
        """One logical call; returns the successful reply or raises :class:`CallFailed`.

        ``interpret`` decides whether a reply is a failure; by default, its HTTP status.
        """
        loop = asyncio.get_running_loop()
        ends = deadline if deadline is not None else loop.time() + self.limits.deadline
        started = time.perf_counter()
        if not self.breaker.allow():
            raise self._breaker_open()
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
                    self._settle(started, None)
                    return reply
            failure.attempts = attempts
            pause = self.limits.retry.delay(attempts - 1, failure.retry_after)
            retry = self.limits.retry.should_retry(failure.category, attempts - 1)
            if not retry or loop.time() + pause >= ends:
                failure.latency_ms = (time.perf_counter() - started) * 1000
                self._settle(started, failure)
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

    def _settle(self, started: float, failure: CallFailed | None) -> None:
        """Record the call's outcome once: metrics always, the breaker unless we held back."""
        category = failure.category if failure else None
        self.metrics.record((time.perf_counter() - started) * 1000, category)
        if failure is not None and failure.local_budget:
            return
        if category is not None and category in BREAKER_FAILURES:
            self.breaker.record_failure(category)
        else:
            self.breaker.record_success()

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
