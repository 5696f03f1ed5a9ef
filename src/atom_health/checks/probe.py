"""The live API step: run an integration's strongest runnable probe and say what it proved.

Probes are data (:mod:`atom_health.catalog.probe_spec`); this module runs them through
the integration's :class:`IntegrationService`, so retries, rate budget, breaker and
metrics apply exactly as for any provider client.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

import aiohttp

from atom_health.catalog.model import Integration, env_prefix
from atom_health.catalog.probe_spec import PLACEHOLDER, ProbeSpec, RequestSpec
from atom_health.checks import dialects
from atom_health.checks.dialects.answer import body_of, lookup, scope_names
from atom_health.checks.findings import assess, join_names
from atom_health.checks.grants import ClientRecognised, Granted, TokenCache, request_grant
from atom_health.checks.lifecycle import after, expiry, jwt_expiry, sandbox_marker, soonest
from atom_health.checks.quota import read_quota
from atom_health.classify import check_status_for
from atom_health.config import ProbeSettings
from atom_health.model.results import (
    ApiAccessCheck,
    Category,
    CheckStatus,
    CredentialExpiry,
    Evidence,
    Scopes,
)
from atom_health.services.base import CallLimits, IntegrationService
from atom_health.services.clients import PROVIDER_CLIENTS
from atom_health.services.http import CallFailed, Reply, basic_auth, parse_moment
from atom_health.services.rate_limit import BudgetFactory, RequestBudget, TokenBucket
from atom_health.services.retry import RetryPolicy


def _own_bucket(_: str, requests: int, per_seconds: float) -> RequestBudget:
    return TokenBucket(requests, per_seconds)


class LiveProber:
    """Proves credentials with providers. One instance per engine; state per integration."""

    def __init__(
        self,
        settings: ProbeSettings,
        environ: Mapping[str, str],
        session: Callable[[], aiohttp.ClientSession],
        *,
        production: bool = False,
    ) -> None:
        self.settings = settings
        self.environ = environ
        self._session = session
        self.production = production
        self.tokens = TokenCache()
        # What each cached token's grant said: granted scopes and the refresh token's expiry.
        self.grants: dict[str, tuple[tuple[str, ...] | None, datetime | None]] = {}
        self._services: dict[str, IntegrationService] = {}
        self.budgets: BudgetFactory = _own_bucket  # a fleet's budgets replace it
        self.limits = CallLimits(
            attempt_timeout=settings.attempt_timeout_seconds,
            deadline=settings.deadline_seconds,
            retry=RetryPolicy(
                max_retries=settings.max_retries,
                base_delay=settings.backoff_base_seconds,
                max_delay=settings.backoff_max_seconds,
                retry_after_cap=settings.retry_after_cap_seconds,
            ),
            breaker_threshold=settings.breaker_threshold,
            breaker_reset_after=settings.breaker_reset_seconds,
        )

    def service(self, integration: Integration) -> IntegrationService:
        """The integration's service, created on first use and kept for its breaker and metrics."""
        service = self._services.get(integration.id)
        if service is None:
            budget = None
            if integration.rate_limit is not None:
                budget = self.budgets(
                    integration.id,
                    integration.rate_limit.requests,
                    integration.rate_limit.per_seconds,
                )
            client = PROVIDER_CLIENTS.get(integration.id, IntegrationService)
            service = client(integration, self._session, self.limits, budget, self.environ)
            self._services[integration.id] = service
        return service

    def services(self) -> dict[str, IntegrationService]:
        return dict(self._services)

    async def probe(self, integration: Integration) -> ApiAccessCheck:
        run = ProbeRun(self, integration)
        return run.redact(await run.execute())


class ProbeRun:
    """One probe of one integration: picks the probe, runs it, writes the result. Other
    checks use :meth:`call` to make a catalog request the same way."""

    def __init__(self, prober: LiveProber, integration: Integration) -> None:
        self.prober = prober
        self.integration = integration
        self.name = integration.name
        self.environ = prober.environ
        self.token_from_cache = False
        self.grant_key: str | None = None

    def value(self, canonical: str) -> str:
        return self.environ.get(self.integration.env_name(canonical), "").strip()

    def missing(self, spec: ProbeSpec) -> list[str]:
        return [self.integration.env_name(v) for v in spec.variables() if not self.value(v)]

    async def execute(self) -> ApiAccessCheck:
        probes = self.integration.probes
        if not probes:
            return ApiAccessCheck(
                status=CheckStatus.skip,
                message=f"No live probe is defined for {self.name}; its credentials were not "
                "verified with the provider",
            )
        runnable = [spec for spec in probes if not self.missing(spec)]
        if not runnable:
            return self.cannot_probe(self.missing(probes[0]))
        spec = runnable[0]
        upgrade = self.missing(probes[0]) if spec is not probes[0] else []
        base_url = self.integration.resolved_base_url(self.environ)
        token_url = self.integration.resolved_token_url(self.environ)
        needs_base = spec.request is not None or (spec.grant is not None and token_url is None)
        if needs_base and base_url is None:
            return self.cannot_probe([self.integration.base_url_env or self.base_url_setting])
        if base_url is not None and not base_url.startswith(("http://", "https://")):
            variable = self.integration.base_url_env or self.base_url_setting
            return self.failed(
                spec, CallFailed(Category.not_configured, f"{variable} must be an http(s) URL")
            )
        service = self.prober.service(self.integration)
        deadline = asyncio.get_running_loop().time() + self.prober.settings.deadline_seconds
        started = time.perf_counter()
        try:
            outcome = await self.run(spec, service, base_url, token_url, deadline)
        except CallFailed as failure:
            result = self.failed(spec, failure)
        else:
            latency = (time.perf_counter() - started) * 1000
            result = self.succeeded(spec, outcome, latency, upgrade)
        return result.model_copy(update={"breaker": service.breaker.snapshot()})

    @property
    def base_url_setting(self) -> str:
        return env_prefix(self.integration.id) + "BASE_URL"

    async def run(
        self,
        spec: ProbeSpec,
        service: IntegrationService,
        base_url: str | None,
        token_url: str | None,
        deadline: float,
    ) -> Reply | ClientRecognised:
        token: str | None = None
        if spec.grant is not None:
            granted = await self.token(spec, service, token_url, deadline, fresh=False)
            if isinstance(granted, ClientRecognised):
                return granted
            token = granted
        if spec.request is None or base_url is None:
            raise CallFailed(Category.not_configured, "the probe has no request to make")
        try:
            return await self.call(service, spec.request, base_url, token, deadline)
        except CallFailed as failure:
            stale = self.token_from_cache and failure.category is Category.credentials_rejected
            if not stale:
                raise
        # The provider no longer accepts the cached token: get a fresh one, once.
        granted = await self.token(spec, service, token_url, deadline, fresh=True)
        if isinstance(granted, ClientRecognised):
            return granted
        return await self.call(service, spec.request, base_url, granted, deadline)

    async def token(
        self,
        spec: ProbeSpec,
        service: IntegrationService,
        token_url: str | None,
        deadline: float,
        fresh: bool,
    ) -> str | ClientRecognised:
        """An access token from the cache, or from the token endpoint."""
        grant = spec.grant
        if grant is None or token_url is None:
            raise CallFailed(Category.not_configured, "no token URL is configured")
        values = [self.value(v) for v in grant.variables()] + [token_url, spec.name]
        key = TokenCache.key(self.integration.id, values)
        cached = None if fresh or grant.check_only else self.prober.tokens.get(key)
        self.token_from_cache = cached is not None
        self.grant_key = key
        if cached is not None:
            return cached
        granted = await request_grant(service, grant, token_url, self.value, deadline)
        if isinstance(granted, ClientRecognised):
            return granted
        self.remember(key, granted)
        return granted.token

    def remember(self, key: str, granted: Granted) -> None:
        self.prober.tokens.put(key, granted.token, granted.lifetime)
        refresh = after(granted.refresh_expires_in) if granted.refresh_expires_in else None
        self.prober.grants[key] = (granted.scopes, refresh)

    async def call(
        self,
        service: IntegrationService,
        spec: RequestSpec,
        base_url: str,
        token: str | None,
        deadline: float,
        operation: str = "probe",
    ) -> Reply:
        path = PLACEHOLDER.sub(lambda m: quote(self.value(m.group(1)), safe=""), spec.path)
        headers = dict(spec.headers)
        params = dict(spec.query)
        scheme = spec.auth.scheme
        source = service.token_source(spec.auth.token) if spec.auth.token else None
        if scheme == "bearer" and source is not None:
            pass  # the service's token source sends (and renews) it
        elif scheme == "bearer" and spec.auth.token:
            headers["Authorization"] = f"Bearer {self.value(spec.auth.token)}"
        elif scheme == "grant" and token:
            headers["Authorization"] = f"Bearer {token}"
        elif scheme == "header" and spec.auth.token:
            headers[spec.auth.header] = spec.auth.prefix + self.value(spec.auth.token)
        elif scheme == "basic" and spec.auth.username:
            password = self.value(spec.auth.password) if spec.auth.password else ""
            headers["Authorization"] = basic_auth(self.value(spec.auth.username), password)
        elif scheme == "query":
            params.update({param: self.value(var) for param, var in spec.auth.params.items()})
        return await service.request(
            spec.method,
            base_url + path,
            headers=headers,
            params=params,
            json=spec.body,
            interpret=lambda reply: dialects.interpret(reply, spec.expect),
            deadline=deadline,
            operation=operation,
            path=spec.path,
            auth=source if scheme == "bearer" else None,
        )

    def cannot_probe(self, missing: list[str]) -> ApiAccessCheck:
        return ApiAccessCheck(
            status=CheckStatus.warn,
            message=f"{self.name} is configured, but its credentials cannot be verified live: "
            f"set {join_names(missing)} for a live check",
        )

    def succeeded(
        self, spec: ProbeSpec, outcome: Reply | ClientRecognised, latency: float, upgrade: list[str]
    ) -> ApiAccessCheck:
        latency = round(latency, 1)
        if isinstance(outcome, ClientRecognised):
            answer = f" (answer: {outcome.code})" if outcome.code else ""
            if spec.grant is not None and not spec.grant.check_only:
                message = (
                    f"{self.name} recognised the client id and secret but refused the "
                    f"{spec.grant.grant_type} grant{answer}: enable it for the app"
                )
            else:
                message = (
                    f"{self.name} recognised the OAuth client id and secret at its token "
                    f"endpoint{answer}"
                )
            if upgrade:
                message += f"; set {join_names(upgrade)} for a full check"
            return ApiAccessCheck(
                status=CheckStatus.warn,
                message=message,
                method=spec.name,
                http_status=outcome.reply.status,
                latency_ms=latency,
                attempts=outcome.reply.attempts,
                evidence=Evidence.client,
            )
        request = spec.request
        body = body_of(outcome) if request is not None and request.expect.json_body else None
        check = ApiAccessCheck(
            status=CheckStatus.passed,
            message=f"{self.name} accepted the credentials ({spec.name})",
            method=spec.name,
            http_status=outcome.status,
            latency_ms=latency,
            attempts=outcome.attempts,
            evidence=spec.evidence,
            quota=read_quota(request.quota, outcome, body) if request else None,
            scopes=self.scopes(spec, outcome, body),
            credential=self.credential(spec, outcome),
        )
        return self.judged(spec, check, outcome, body)

    def judged(
        self, spec: ProbeSpec, check: ApiAccessCheck, reply: Reply, body: Any
    ) -> ApiAccessCheck:
        marker = None
        if self.prober.production:
            base_url = self.integration.resolved_base_url(self.environ)
            marker = sandbox_marker(
                self.integration.test_mode, self.value, self.integration.env_name, base_url, body
            )
        return assess(
            check, reply, self.prober.settings, self.name, marker, self.secret_names(spec)
        )

    def scopes(self, spec: ProbeSpec, reply: Reply, body: Any) -> Scopes | None:
        """Granted scopes as the provider reports them, against the catalog's needed ones."""
        granted: tuple[str, ...] | None = None
        request = spec.request
        if request is not None and request.scopes is not None:
            value = lookup(request.scopes.granted_at, body, reply.headers)
            if value is not None:
                granted = scope_names(value, request.scopes.separator)
        if granted is None and self.grant_key is not None:
            granted = self.prober.grants.get(self.grant_key, (None, None))[0]
        needed = list(self.integration.needed_scopes)
        if granted is None and not needed:
            return None
        missing = [s for s in needed if s not in granted] if granted is not None else []
        return Scopes(
            granted=list(granted) if granted is not None else None, needed=needed, missing=missing
        )

    def credential(self, spec: ProbeSpec, reply: Reply) -> CredentialExpiry | None:
        """The soonest known expiry among the probe's credentials."""
        found: list[CredentialExpiry | None] = []
        request = spec.request
        if request is not None and request.expiry is not None:
            moment = parse_moment(
                lookup(request.expiry.at, None, reply.headers), request.expiry.format
            )
            variables = request.auth.variables()
            if moment is not None and variables:
                found.append(expiry(self.integration.env_name(variables[0]), moment, "provider"))
        for variable in spec.variables():
            moment = jwt_expiry(self.value(variable))
            if moment is not None:
                found.append(expiry(self.integration.env_name(variable), moment, "jwt"))
        if self.grant_key is not None and spec.grant is not None and spec.grant.env_fields:
            refresh = self.prober.grants.get(self.grant_key, (None, None))[1]
            if refresh is not None:
                variable = next(iter(spec.grant.env_fields.values()))
                found.append(expiry(self.integration.env_name(variable), refresh, "grant"))
        return soonest(found)

    def secret_names(self, spec: ProbeSpec) -> list[str]:
        names = spec.request.variables() if spec.request else spec.variables()
        return [self.integration.env_name(v) for v in names or spec.variables()]

    def failed(self, spec: ProbeSpec, failure: CallFailed) -> ApiAccessCheck:
        return ApiAccessCheck(
            status=check_status_for(failure.category),
            message=self.failure_message(spec, failure),
            method=spec.name,
            http_status=failure.http_status,
            latency_ms=round(failure.latency_ms, 1) if failure.latency_ms is not None else None,
            category=failure.category,
            attempts=failure.attempts,
            provider_code=failure.code,
            scopes=self.refused_scopes(failure),
        )

    def refused_scopes(self, failure: CallFailed) -> Scopes | None:
        needed = list(self.integration.needed_scopes)
        if not failure.missing_scopes and not (
            needed and failure.category is Category.permission_denied
        ):
            return None
        return Scopes(granted=None, needed=needed, missing=list(failure.missing_scopes))

    def failure_message(self, spec: ProbeSpec, failure: CallFailed) -> str:
        return failure_message(self.integration, spec.name, failure, self.secret_names(spec))

    def redact(self, result: ApiAccessCheck) -> ApiAccessCheck:
        """Defence in depth: no value of any of this integration's variables in the message."""
        message = result.message
        for canonical in (*self.integration.required_env, *self.integration.optional_env):
            secret = self.environ.get(canonical, "").strip()
            if len(secret) >= 4 and secret in message:
                message = message.replace(secret, "[redacted]")
        return (
            result if message == result.message else result.model_copy(update={"message": message})
        )


def failure_message(
    integration: Integration, operation: str, failure: CallFailed, secret_names: Sequence[str]
) -> str:
    """What a failed call means and what to do, as the health check and the provider routes
    say it. ``secret_names`` are the variables a rejected credential points at."""
    name, detail = integration.name, failure.detail
    tries = f" after {failure.attempts} attempts" if failure.attempts > 1 else ""
    if failure.breaker_open:
        return f"{name} is not being called: {detail} ({failure.category.value})"
    match failure.category:
        case Category.credentials_rejected:
            names = (
                [integration.env_name(v) for v in failure.variables]
                if failure.variables
                else list(secret_names)
            )
            return f"{name} rejected the credentials ({_code(failure)}): check or regenerate {join_names(names)}"
        case Category.permission_denied if failure.code is None and failure.http_status == 200:
            # A successful answer that means no access (e.g. no connected tenant).
            return f"{name} accepted the credentials, but {detail}"
        case Category.permission_denied:
            what = (
                f"the scopes {join_names(list(failure.missing_scopes))}"
                if failure.missing_scopes
                else "the permission it needs"
            )
            return f"{name} accepted the credentials but refused {operation} ({_code(failure)}): grant the app {what}"
        case Category.rate_limited:
            wait = f"; retry after {failure.retry_after:.0f} s" if failure.retry_after else ""
            if failure.local_budget:
                return f"{name} was not called: {detail}"
            return f"{name} is rate limiting us ({_code(failure)}{wait})"
        case Category.timeout:
            return f"{name} did not answer in time{tries}"
        case Category.dns:
            return f"{name}'s API host name did not resolve: check the base URL and DNS"
        case Category.tls:
            return f"The TLS handshake with {name} failed: check the certificate or proxy"
        case Category.connect:
            return f"Could not connect to {name}: {detail}{tries}"
        case Category.server_error:
            return f"{name} answered with a server error ({_code(failure)}){tries}: a problem on {name}'s side"
        case Category.not_configured:
            return f"{name} is not configured correctly: {detail}"
        case Category.credential_expiring | Category.test_credentials:
            return f"{name}: {detail} ({_code(failure)})"
        case _:
            code = f" ({failure.code})" if failure.code and failure.code not in detail else ""
            return f"{name} answered unexpectedly: {detail}{code}"


def _code(failure: CallFailed) -> str:
    if failure.code and failure.http_status:
        return f"{failure.code}, HTTP {failure.http_status}"
    return failure.code or (
        f"HTTP {failure.http_status}" if failure.http_status else failure.detail
    )
