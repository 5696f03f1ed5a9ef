"""The engine: run an integration's checks, cache and share results, summarise sets.

One check: configuration (always live, microseconds), then, when configured and asked
for, the live probe and the vendor's status page concurrently, then classification.
Live results are cached for ``cache_ttl_seconds``; concurrent requests for the same
integration share one in-flight check; at most ``probes.concurrency`` run at once. With a
``fleet`` (replicas cooperating through Redis), the cache and the flight are the fleet's.

No amplification: however many requests ask (``refresh`` included), an integration is
checked live at most once per :meth:`HealthMonitor.min_interval` (fleet-wide with a
fleet); inside that window a request gets the newest result and its age, so a flood of
refreshes costs the provider nothing and never spends its request budget. Only the
scheduler's own cadence, which the operator sets, checks regardless of the window.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from atom_health._version import __version__
from atom_health.catalog import Catalog, Integration, build_catalog
from atom_health.checks.configuration import VariableWatch, check_configuration
from atom_health.checks.probe import LiveProber
from atom_health.checks.service_parts import service_parts
from atom_health.checks.vendor_status import VendorStatusReader
from atom_health.checks.webhook_endpoints import read_endpoint
from atom_health.checks.webhooks import WebhookLedger
from atom_health.classify import (
    attribute_to_vendor,
    classify,
    health_score,
    overall_status,
    vendor_could_explain,
    vendor_summary,
)
from atom_health.config import Settings
from atom_health.model.results import (
    ApiAccessCheck,
    Checks,
    CheckStatus,
    ConfigurationCheck,
    ConfigurationReport,
    ConfigurationSummary,
    Criticality,
    Overview,
    OverviewSummary,
    ServiceHealth,
    ServiceSummary,
    Status,
    VendorStatus,
    WebhookEndpoint,
    utc_now,
)
from atom_health.services import tracing
from atom_health.services.http import create_session

log = logging.getLogger(__name__)

SKIPPED_NOT_CONFIGURED = ApiAccessCheck(
    status=CheckStatus.skip,
    message="API access check skipped due to missing configuration",
)
SKIPPED_NOT_REQUESTED = ApiAccessCheck(
    status=CheckStatus.skip,
    message="API access check not requested (check_api=false)",
)


class FleetResults(Protocol):
    """The fleet's one cache and one flight per integration (see :mod:`atom_health.cluster`)."""

    async def shared(self, name: str) -> ServiceHealth | None:
        """A fresh result of ``name`` that any replica checked, or None."""

    async def once(
        self,
        name: str,
        check: Callable[[], Awaitable[ServiceHealth]],
        fits: Callable[[ServiceHealth], bool],
    ) -> ServiceHealth:
        """``check()``, unless another replica is checking ``name``: then its result."""


class UnknownIntegrationError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown integration: {name}")
        self.name = name


@dataclass
class _Cached:
    expires: float
    fingerprint: int | None  # of the integration's variables; None never matches
    result: ServiceHealth
    checked: float  # time.monotonic() when the result was made

    def is_fresh(self, fingerprint: int) -> bool:
        return self.fingerprint == fingerprint and time.monotonic() < self.expires


class HealthMonitor:
    """Checks integrations from a :class:`Catalog` against the process environment.

    ``environ`` is read on every check, so a variable set or cleared at run time shows
    in the next result (a change of any variable also bypasses the cache). Use it as an
    async context manager, or call :meth:`aclose`, to release its HTTP connections.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        settings: Settings | None = None,
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        self.catalog = catalog
        self.settings = settings or Settings()
        self.environ = environ
        self._session: aiohttp.ClientSession | None = None
        probes = self.settings.probes
        self.live_prober = LiveProber(
            probes, environ, self.session, production=self.settings.environment == "production"
        )
        self.vendor_status = (
            VendorStatusReader(
                self.session, probes.vendor_timeout_seconds, probes.vendor_cache_seconds
            )
            if probes.vendor_status
            else None
        )
        # Replaced by the installation's key where one is kept (see config.installation_key).
        self.fingerprint_key = secrets.token_bytes(32)
        self._cache: dict[str, _Cached] = {}
        self._configurations: dict[str, tuple[object, ConfigurationCheck]] = {}
        self._watches: dict[str, tuple[Integration, VariableWatch]] = {}  # their variables
        self.generation = 0  # changes whenever a cached result does
        self._inflight: dict[str, asyncio.Task[ServiceHealth]] = {}
        self._limit: asyncio.Semaphore | None = None
        self._subscribers: list[Callable[[ServiceHealth], None]] = []
        # Set by the bridge when this process also serves another framework's app (Flask);
        # every health answer reports it (the seed's enhanced answer field).
        self.bridge_system_used = False
        self.fleet: FleetResults | None = None
        # Webhook deliveries verified by host apps (helpers in web/ and frameworks/).
        self.webhooks = WebhookLedger(catalog.get, environ)

    def subscribe(self, callback: Callable[[ServiceHealth], None]) -> None:
        """Call ``callback`` with every fresh result of a full check (not cached ones, not
        configuration-only ones), in the event loop.

        Subscribers (the recorder, metrics, live streams) must be quick and never raise.
        """
        self._subscribers.append(callback)

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] = os.environ
    ) -> HealthMonitor:
        return cls(build_catalog(settings, environ), settings=settings, environ=environ)

    def session(self) -> aiohttp.ClientSession:
        """The engine's one pooled HTTP session, opened on first use in the running loop."""
        if self._session is None or self._session.closed:
            self._session = create_session(max(100, self.settings.probes.concurrency * 2))
        return self._session

    async def aclose(self) -> None:
        for task in list(self._inflight.values()):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HealthMonitor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def latest_results(self) -> dict[str, ServiceHealth]:
        """The last full result of each integration checked so far, however old."""
        return {
            name: cached.result
            for name, cached in self._cache.items()
            if self.catalog.get(name) is not None
        }

    def forget(self, names: Iterable[str]) -> None:
        """Drop the cached results of these integrations (their definitions changed)."""
        for name in names:
            self._cache.pop(name, None)
        self.generation += 1

    def fresh(self, integration: Integration) -> ServiceHealth | None:
        """The cached full result that :meth:`check` would serve now (``cached`` unset), or
        None when there is none, it expired, or the integration's variables changed."""
        cached = self._cache.get(integration.id)
        if cached is None or not cached.is_fresh(self._fingerprint(integration)):
            return None
        return cached.result

    def fresh_until(self, integration: Integration) -> float:
        """When (``time.monotonic()``) the cached result stops being fresh (-inf: none)."""
        cached = self._cache.get(integration.id)
        return cached.expires if cached is not None else float("-inf")

    def resolve(self, name: str) -> Integration:
        integration = self.catalog.get(name)
        if integration is None:
            raise UnknownIntegrationError(name)
        return integration

    def configuration(self, integration: Integration) -> ConfigurationCheck:
        """The configuration check; kept while the integration's definition, its variables'
        values and the fingerprint key are the same (it depends on nothing else)."""
        inputs = (integration, self._fingerprint(integration), self.fingerprint_key)
        kept = self._configurations.get(integration.id)
        if kept is not None and kept[0] == inputs:
            return kept[1]
        configuration = check_configuration(integration, self.environ, self.fingerprint_key)
        self._configurations[integration.id] = (inputs, configuration)
        return configuration

    async def check(
        self,
        name: str,
        *,
        check_api: bool = True,
        refresh: bool = False,
        stale_ok: bool = False,
        scheduled: bool = False,
    ) -> ServiceHealth:
        """The full health of one integration; raises :class:`UnknownIntegrationError`.

        ``refresh`` skips the cache, except inside :meth:`min_interval` of the last live
        check; it joins a check already in flight. With ``stale_ok`` an expired cached
        result is answered at once while a fresh check runs in the background
        (stale-while-revalidate). ``scheduled`` (the scheduler's own cadence, which the
        operator sets) ignores the window.
        """
        return await self._check(
            self.resolve(name),
            check_api=check_api,
            refresh=refresh,
            stale_ok=stale_ok,
            scheduled=scheduled,
        )

    async def _check(
        self,
        integration: Integration,
        *,
        check_api: bool,
        refresh: bool,
        stale_ok: bool = False,
        scheduled: bool = False,
    ) -> ServiceHealth:
        configuration = self.configuration(integration)
        if not check_api:
            api_access = None if configuration.configured else SKIPPED_NOT_CONFIGURED
            return self._result(integration, configuration, api_access, None)
        fingerprint = self._fingerprint(integration)
        cached = self._cache.get(integration.id)
        if cached is not None and cached.fingerprint == fingerprint and not scheduled:
            age = time.monotonic() - cached.checked
            fresh = age < self._reuse_for(integration, refresh)
            if fresh or (stale_ok and not refresh):
                if not fresh:
                    self._start(integration, configuration, fingerprint, refresh)
                # A refresh held back by the window says how old the answer is.
                update = {"cached": True, "age_seconds": round(age, 3) if refresh else None}
                return cached.result.model_copy(update=update)
        return await asyncio.shield(
            self._start(integration, configuration, fingerprint, refresh, scheduled)
        )

    def min_interval(self, integration: Integration) -> float:
        """The shortest time between two live checks of ``integration``:
        ``refresh_min_interval_seconds``, and long enough that checks spend at most half of
        the integration's request budget (``rate_limit``), leaving room for retries."""
        floor = self.settings.refresh_min_interval_seconds
        budget = integration.rate_limit
        if budget is not None:
            floor = max(floor, 2 * budget.per_seconds / budget.requests)
        return floor

    def _reuse_for(self, integration: Integration, refresh: bool) -> float:
        """How old a result may be and still answer a request."""
        window = self.min_interval(integration)
        return window if refresh else max(window, self.settings.cache_ttl_seconds)

    def _start(
        self,
        integration: Integration,
        configuration: ConfigurationCheck,
        fingerprint: int,
        refresh: bool,
        scheduled: bool = False,
    ) -> asyncio.Task[ServiceHealth]:
        """The integration's live check in flight, started if none is (single-flight)."""
        task = self._inflight.get(integration.id)
        if task is None:
            task = asyncio.create_task(
                self._fleet_check(integration, configuration, fingerprint, refresh, scheduled)
            )
            self._inflight[integration.id] = task
            task.add_done_callback(lambda _: self._inflight.pop(integration.id, None))
        return task

    async def _fleet_check(
        self,
        integration: Integration,
        configuration: ConfigurationCheck,
        fingerprint: int,
        refresh: bool,
        scheduled: bool = False,
    ) -> ServiceHealth:
        """Alone: check. In a fleet: a fresh shared result, else one check fleet-wide."""

        def live() -> Awaitable[ServiceHealth]:
            return self._live_check(integration, configuration, fingerprint, refresh)

        if self.fleet is None:
            return await live()

        def fits(result: ServiceHealth) -> bool:  # checked with the variables we have
            return result.checks.configuration.present_env_vars == configuration.present_env_vars

        if not scheduled:  # the refresh window is the fleet's too
            shared = await self.fleet.shared(integration.id)
            if shared is not None and fits(shared):
                age = max(0.0, (utc_now() - shared.timestamp).total_seconds())
                if not refresh or age < self._reuse_for(integration, refresh):
                    self.adopt(shared)
                    held = round(age, 3) if refresh else None
                    return shared.model_copy(update={"cached": True, "age_seconds": held})
        return await self.fleet.once(integration.id, live, fits)

    def adopt(self, result: ServiceHealth) -> None:
        """Take a result another replica checked as our own latest (and cached) one.

        It is reused for a request only while this replica has the same variables present
        (values are never shared, so a value changed here is checked here).
        """
        integration = self.catalog.get(result.service)
        if integration is None:
            return
        same = result.checks.configuration.present_env_vars == (
            self.configuration(integration).present_env_vars
        )
        fingerprint = self._fingerprint(integration) if same else None
        age = max(0.0, (utc_now() - result.timestamp).total_seconds())
        checked = time.monotonic() - age
        ttl = self.settings.cache_ttl_seconds
        self._cache[integration.id] = _Cached(checked + ttl, fingerprint, result, checked)
        self.generation += 1

    async def _live_check(
        self,
        integration: Integration,
        configuration: ConfigurationCheck,
        fingerprint: int,
        refresh: bool,
    ) -> ServiceHealth:
        attributes = {
            "atom_health.integration": integration.id,
            "atom_health.criticality": integration.criticality.value,
        }
        with tracing.span("atom_health.check", attributes) as span:
            endpoint = None
            if not configuration.configured:
                api_access, vendor = SKIPPED_NOT_CONFIGURED, None
            else:
                if self._limit is None:
                    self._limit = asyncio.Semaphore(self.settings.probes.concurrency)
                async with self._limit:
                    if integration.webhook is None or integration.webhook.endpoint is None:
                        api_access, vendor = await self._probe_and_vendor(integration, refresh)
                    else:  # the webhook endpoint's state is read beside the probe
                        (api_access, vendor), endpoint = await asyncio.gather(
                            self._probe_and_vendor(integration, refresh),
                            read_endpoint(self.live_prober, integration),
                        )
            result = self._result(integration, configuration, api_access, vendor, endpoint)
            span.set_attribute("atom_health.status", result.status.value)
            if api_access.category is not None:
                span.set_attribute("atom_health.category", api_access.category.value)
        checked, ttl = time.monotonic(), self.settings.cache_ttl_seconds
        self._cache[integration.id] = _Cached(checked + ttl, fingerprint, result, checked)
        self.generation += 1
        for callback in self._subscribers:
            try:
                callback(result)
            except Exception as exc:  # a broken subscriber must not break checks
                log.error("result subscriber %r failed: %s", callback, type(exc).__name__)
        return result

    async def _probe_and_vendor(
        self, integration: Integration, refresh: bool
    ) -> tuple[ApiAccessCheck, VendorStatus | None]:
        """Probe and read the vendor's status together; re-read a cached status that calls
        everything fine when the probe failed in a way the vendor could explain."""
        reader = self.vendor_status
        if reader is None:
            return await self.live_prober.probe(integration), None
        api_access, vendor = await asyncio.gather(
            self.live_prober.probe(integration), reader.read(integration, fresh=refresh)
        )
        if (
            not refresh
            and vendor is not None
            and not vendor.reports_trouble
            and vendor_could_explain(api_access)
        ):
            vendor = await reader.read(integration, fresh=True)
        return api_access, vendor

    def _fingerprint(self, integration: Integration) -> int:
        """Changes whenever any of the integration's variables does; holds no value itself."""
        kept = self._watches.get(integration.id)
        if kept is None or kept[0] is not integration:  # a reload makes new definitions
            names = (*integration.required_env, *integration.optional_env)
            kept = self._watches[integration.id] = (integration, VariableWatch(self.environ, names))
        return kept[1].signature()

    def _result(
        self,
        integration: Integration,
        configuration: ConfigurationCheck,
        api_access: ApiAccessCheck | None,
        vendor: VendorStatus | None,
        endpoint: WebhookEndpoint | None = None,
    ) -> ServiceHealth:
        if api_access is not None:
            api_access = attribute_to_vendor(api_access, vendor)
        status = classify(configuration, api_access, vendor)
        parts = service_parts(
            integration,
            configuration,
            api_access or SKIPPED_NOT_REQUESTED,
            self.live_prober.services().get(integration.id),
            self.webhooks.part(integration, endpoint),
        )
        return ServiceHealth(
            status=status,
            service=integration.id,
            name=integration.name,
            criticality=integration.criticality,
            timestamp=utc_now(),
            configured=configuration.configured,
            message=_message(integration, status, configuration, api_access, vendor),
            checks=Checks(
                configuration=configuration,
                api_access=api_access or SKIPPED_NOT_REQUESTED,
                vendor_status=vendor,
            ),
            services=parts,
            version=__version__,
            bridge_system_used=self.bridge_system_used,
        )

    async def check_many(
        self, names: Iterable[str] | None = None, *, check_api: bool = True, refresh: bool = False
    ) -> list[ServiceHealth]:
        """Check several integrations concurrently (all enabled ones when ``names`` is None),
        as the catalog is when asked (a reload meanwhile changes the next answer)."""
        chosen = self._chosen(names)
        checks = (self._check(i, check_api=check_api, refresh=refresh) for i in chosen)
        return list(await asyncio.gather(*checks))

    def _chosen(self, names: Iterable[str] | None) -> list[Integration]:
        return list(self.catalog) if names is None else [self.resolve(n) for n in names]

    async def check_many_within(
        self,
        names: Iterable[str] | None = None,
        *,
        check_api: bool = True,
        refresh: bool = False,
        deadline: float | None = None,
    ) -> list[ServiceHealth]:
        """Like :meth:`check_many`, but answers within ``deadline`` seconds (default
        ``batch_deadline_seconds``), never waiting on a hung provider: expired cached
        results are served at once and refreshed behind (stale-while-revalidate), and a
        check still running at the deadline is reported ``pending`` with its last known
        result. Its fresh result reaches the cache and the subscribers when it lands."""
        tasks = [
            (
                integration,
                asyncio.ensure_future(
                    self._check(
                        integration, check_api=check_api, refresh=refresh, stale_ok=not refresh
                    )
                ),
            )
            for integration in self._chosen(names)
        ]
        wait = self.settings.batch_deadline_seconds if deadline is None else deadline
        await asyncio.wait([task for _, task in tasks], timeout=wait)
        results = []
        for integration, task in tasks:
            if task.done():
                results.append(task.result())
            else:
                task.add_done_callback(_retrieve)  # it finishes on its own; nobody awaits it
                results.append(self._pending(integration))
        return results

    def _pending(self, integration: Integration) -> ServiceHealth:
        """A check still running: its last known result, else what configuration shows."""
        cached = self._cache.get(integration.id)
        if cached is not None:
            return cached.result.model_copy(update={"cached": True, "pending": True})
        configuration = self.configuration(integration)
        running = ApiAccessCheck(
            status=CheckStatus.skip,
            message=f"The live check of {integration.name} is still running; its result "
            "follows in the live stream and the next answer",
        )
        return ServiceHealth(
            status=Status.unknown,
            service=integration.id,
            name=integration.name,
            criticality=integration.criticality,
            timestamp=utc_now(),
            configured=configuration.configured,
            message=running.message,
            checks=Checks(configuration=configuration, api_access=running),
            pending=True,
        )

    async def overview_within(
        self, names: Iterable[str] | None = None, *, check_api: bool = True, refresh: bool = False
    ) -> Overview:
        """The overview within ``batch_deadline_seconds`` (see :meth:`check_many_within`)."""
        results = await self.check_many_within(names, check_api=check_api, refresh=refresh)
        return summarise(results, bridge_system_used=self.bridge_system_used)

    async def overview(
        self, names: Iterable[str] | None = None, *, check_api: bool = True, refresh: bool = False
    ) -> Overview:
        results = await self.check_many(names, check_api=check_api, refresh=refresh)
        return summarise(results, bridge_system_used=self.bridge_system_used)

    def configuration_report(self) -> ConfigurationReport:
        checks = {i.id: self.configuration(i) for i in self.catalog}
        full = sum(1 for c in checks.values() if c.configured)
        none = sum(1 for c in checks.values() if not c.present_env_vars and not c.configured)
        return ConfigurationReport(
            timestamp=utc_now(),
            integrations=checks,
            summary=ConfigurationSummary(
                total_integrations=len(checks),
                fully_configured=full,
                partially_configured=len(checks) - full - none,
                not_configured=none,
            ),
        )


def _retrieve(task: asyncio.Future[ServiceHealth]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("a check finished after its overview failed: %s", type(task.exception()).__name__)


def summary_of(results: Sequence[ServiceHealth]) -> OverviewSummary:
    statuses = [r.status for r in results]
    return OverviewSummary(
        total_services=len(results),
        healthy_services=statuses.count(Status.healthy),
        degraded_services=statuses.count(Status.degraded),
        unhealthy_services=statuses.count(Status.unhealthy),
        overall_status=overall_status(statuses),
        health_score=health_score(
            (r.status, r.criticality is Criticality.critical) for r in results
        ),
    )


def summarise(results: list[ServiceHealth], *, bridge_system_used: bool = False) -> Overview:
    """The overview body for a list of full results."""
    now = utc_now()
    return Overview(
        timestamp=now,
        version=__version__,
        bridge_system_used=bridge_system_used,
        summary=summary_of(results),
        services={
            r.service: ServiceSummary(
                status=r.status,
                configured=r.configured,
                message=r.message,
                missing_env_vars=r.checks.configuration.missing_env_vars,
                criticality=r.criticality,
                category=r.checks.api_access.category,
                pending=r.pending,
                checked_at=r.timestamp,
                age_seconds=round(max(0.0, (now - r.timestamp).total_seconds()), 1),
            )
            for r in results
        },
    )


def _message(
    integration: Integration,
    status: Status,
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck | None,
    vendor: VendorStatus | None,
) -> str:
    if not configuration.configured:
        return f"{integration.name} integration is not properly configured"
    if api_access is None:
        return f"{integration.name} integration is configured (API access not checked)"
    if status is Status.healthy:
        return f"{integration.name} integration is operational"
    if api_access.status is CheckStatus.passed and vendor is not None:
        return f"{integration.name} accepted the credentials, but {vendor.vendor} reports an incident ({vendor_summary(vendor)})"
    return api_access.message
