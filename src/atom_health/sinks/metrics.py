"""Prometheus metrics, on a registry of their own. Label values come only from the catalog
(integration ids, criticality, statuses, categories), so the series count is bounded.

``atom_health_integration_up`` is 1 when the integration can work (healthy or degraded, as
uptime counts it) and 0 when it cannot; the exact status is ``atom_health_integration_status``.
No ``_created`` series (they double the output for nothing); the process's own metrics
(CPU, memory, file descriptors, GC, Python version) are on the same registry."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable, Iterator, Mapping

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, Metric, SummaryMetricFamily
from prometheus_client.registry import Collector

from atom_health.catalog import Catalog
from atom_health.checks.probe import LiveProber
from atom_health.model.results import ServiceHealth, Status
from atom_health.services.base import IntegrationService

_UP = {Status.healthy: 1.0, Status.degraded: 1.0, Status.unhealthy: 0.0, Status.unknown: 0.0}
disable_created_metrics()  # type: ignore[no-untyped-call]  # process-wide: no per-registry switch
_BREAKER = {"closed": 0.0, "half_open": 1.0, "open": 2.0}
LOOP_LAG_WINDOW = 10.0
_LATENCY_BUCKETS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class _Series:
    """One integration's metric children, so a result costs no label lookups."""

    def __init__(self, metrics: HealthMetrics, name: str, criticality: str) -> None:
        self.status = {s: metrics.status.labels(name, criticality, s.value) for s in Status}
        self.up = metrics.up.labels(name, criticality)
        self.last_check = metrics.last_check.labels(name)
        self.last_success: Gauge | None = None  # no series until the first success
        self._metrics, self._name = metrics, name
        self.checks = {s: metrics.checks.labels(name, s.value) for s in Status}
        self.latency = metrics.latency.labels(name)
        self.quota_remaining = metrics.quota_remaining.labels(name)
        self.quota_limit = metrics.quota_limit.labels(name)
        self.quota_resets = metrics.quota_resets.labels(name)
        self.credential_expiry: Gauge | None = None  # no series until a credential reports one

    def succeeded(self, at: float) -> None:
        if self.last_success is None:
            self.last_success = self._metrics.last_success.labels(self._name)
        self.last_success.set(at)


class _ProviderCalls(Collector):
    """Every provider call our services made, by operation and outcome, read at scrape time
    from the services' own counters (so there is one count, kept in one place)."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.services: Mapping[str, IntegrationService] = {}

    def collect(self) -> Iterator[Metric]:
        calls = CounterMetricFamily(
            "atom_health_provider_calls",
            "Provider API calls by operation and final outcome (ok or a failure category)",
            labels=["integration", "operation", "outcome"],
        )
        duration = SummaryMetricFamily(
            "atom_health_provider_call_duration_seconds",
            "Duration of provider API calls, retries included",
            labels=["integration", "operation"],
        )
        for name, service in sorted(self.services.items()):
            if name not in self.known:
                continue
            for operation, metrics in sorted(service.operations.by_operation.items()):
                calls.add_metric([name, operation, "ok"], metrics.successes)
                for category, count in sorted(metrics.errors.items()):
                    calls.add_metric([name, operation, category.value], count)
                duration.add_metric([name, operation], metrics.calls, metrics.latency_sum_ms / 1000)
        yield calls
        yield duration


class HealthMetrics:
    def __init__(self, catalog: Catalog) -> None:
        self.known = {integration.id: integration.criticality.value for integration in catalog}
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.status = Gauge(
            "atom_health_integration_status",
            "1 for the integration's current status, 0 for the others",
            ["integration", "criticality", "status"],
            registry=r,
        )
        self.up = Gauge(
            "atom_health_integration_up",
            "1 when the integration can work (healthy or degraded), 0 when it cannot",
            ["integration", "criticality"],
            registry=r,
        )
        self.last_check = Gauge(
            "atom_health_integration_last_check_timestamp_seconds",
            "Unix time of the integration's latest check",
            ["integration"],
            registry=r,
        )
        self.last_success = Gauge(
            "atom_health_integration_last_success_timestamp_seconds",
            "Unix time of the integration's latest healthy or degraded check",
            ["integration"],
            registry=r,
        )
        self.latency = Histogram(
            "atom_health_check_duration_seconds",
            "Duration of live API checks",
            ["integration"],
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.checks = Counter(
            "atom_health_checks",
            "Checks by resulting status",
            ["integration", "status"],
            registry=r,
        )
        self.failures = Counter(
            "atom_health_check_failures",
            "Failed or warning checks by category",
            ["integration", "category"],
            registry=r,
        )
        self.breaker = Gauge(
            "atom_health_breaker_state",
            "Circuit breaker: 0 closed, 1 half-open, 2 open",
            ["integration"],
            registry=r,
        )
        self.quota_remaining = Gauge(
            "atom_health_quota_remaining",
            "Requests left in the quota the provider reported on its last answer",
            ["integration"],
            registry=r,
        )
        self.quota_limit = Gauge(
            "atom_health_quota_limit",
            "The quota's limit, as the provider reported it",
            ["integration"],
            registry=r,
        )
        self.quota_resets = Gauge(
            "atom_health_quota_resets_at_seconds",
            "When the quota resets (Unix time), where the provider says",
            ["integration"],
            registry=r,
        )
        self.credential_expiry = Gauge(
            "atom_health_credential_expiry_timestamp_seconds",
            "When the soonest known credential expiry falls (Unix time)",
            ["integration"],
            registry=r,
        )
        self.notifications_dropped = Counter(
            "atom_health_alert_notifications_dropped",
            "Alert notifications dropped from a full outbox, oldest first",
            ["notifier"],
            registry=r,
        )
        self._series: dict[str, _Series] = {}
        self.provider_calls = _ProviderCalls(set(self.known))
        r.register(self.provider_calls)
        self.scheduler_lag = Gauge(
            "atom_health_scheduler_lag_seconds",
            "How late the scheduler started the last due check",
            registry=r,
        )
        self.redis_connected = Gauge(
            "atom_health_redis_connected",
            "Replicas: 1 while this replica cooperates through Redis, 0 while it works alone",
            registry=r,
        )
        self.scheduler_lease = Gauge(
            "atom_health_scheduler_lease_held",
            "Replicas: 1 while this replica holds the scheduler lease",
            registry=r,
        )
        self.loop_lag = Gauge(
            "atom_health_event_loop_lag_seconds",
            f"The worst delay of the event loop over the last {LOOP_LAG_WINDOW:.0f} s "
            "(how late a timer ran)",
            registry=r,
        )

    def follow_catalog(self, catalog: Catalog) -> None:
        """After a reload: integrations added get series; an integration removed, or whose
        criticality changed, loses its status series (no stale status left behind)."""
        known = {integration.id: integration.criticality.value for integration in catalog}
        for name, criticality in self.known.items():
            if known.get(name) != criticality:
                self._series.pop(name, None)
                for status in Status:
                    with contextlib.suppress(KeyError):
                        self.status.remove(name, criticality, status.value)
                with contextlib.suppress(KeyError):
                    self.up.remove(name, criticality)
        self.known = known
        self.provider_calls.known = set(known)

    def observe(self, result: ServiceHealth) -> None:
        """Monitor subscriber: count one fresh result (label children are looked up once)."""
        series = self.show(result)
        if series is None:
            return
        name = result.service
        series.checks[result.status].inc()
        api = result.checks.api_access
        if api.latency_ms is not None:
            series.latency.observe(api.latency_ms / 1000)
        if api.category is not None:
            self.failures.labels(name, api.category.value).inc()
        if api.quota is not None:
            series.quota_remaining.set(api.quota.remaining)
            if api.quota.limit is not None:
                series.quota_limit.set(api.quota.limit)
            if api.quota.resets_at is not None:
                series.quota_resets.set(api.quota.resets_at.timestamp())
        if api.credential is not None:
            if series.credential_expiry is None:
                series.credential_expiry = self.credential_expiry.labels(name)
            series.credential_expiry.set(api.credential.expires_at.timestamp())

    def show(self, result: ServiceHealth) -> _Series | None:
        """Set the status gauges only: for a result another replica checked and counted."""
        name = result.service
        criticality = self.known.get(name)
        if criticality is None:
            return None
        series = self._series.get(name)
        if series is None:
            series = self._series[name] = _Series(self, name, criticality)
        for status, gauge in series.status.items():
            gauge.set(1.0 if status is result.status else 0.0)
        up = _UP[result.status]
        series.up.set(up)
        checked_at = result.timestamp.timestamp()
        series.last_check.set(checked_at)
        if up:
            series.succeeded(checked_at)
        return series

    def show_fleet(self, connected: bool, lease: bool) -> None:
        self.redis_connected.set(1.0 if connected else 0.0)
        self.scheduler_lease.set(1.0 if lease else 0.0)

    async def sample_loop_lag(self, interval: float = 0.05) -> None:
        """Forever: how late the event loop wakes a timer; the gauge shows the worst lately."""
        await sample_loop_lag(self.loop_lag.set, interval)

    def count_dropped(self, notifier: str, count: int) -> None:
        """Alerting's outbox dropped ``count`` notifications for ``notifier`` (a configured name)."""
        self.notifications_dropped.labels(notifier).inc(count)

    def render(self, prober: LiveProber, scheduler_lag: float | None) -> bytes:
        services = prober.services()
        self.provider_calls.services = services
        for name, service in services.items():
            if name in self.known:
                self.breaker.labels(name).set(_BREAKER[service.breaker.state])
        if scheduler_lag is not None:
            self.scheduler_lag.set(scheduler_lag)
        return generate_latest(self.registry)


async def sample_loop_lag(show: Callable[[float], None], interval: float = 0.05) -> None:
    """Forever: how late the event loop wakes a timer every ``interval`` seconds; ``show``
    gets the worst delay of the last :data:`LOOP_LAG_WINDOW` seconds after each sample."""
    loop = asyncio.get_running_loop()
    samples: deque[tuple[float, float]] = deque()
    while True:
        start = loop.time()
        await asyncio.sleep(interval)
        now = loop.time()
        samples.append((now, max(0.0, now - start - interval)))
        while samples[0][0] < now - LOOP_LAG_WINDOW:
            samples.popleft()
        show(max(lag for _, lag in samples))
