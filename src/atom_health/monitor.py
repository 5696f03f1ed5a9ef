"""The engine: run an integration's checks, classify, and summarise sets of integrations."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterable, Mapping

from atom_health.catalog import Catalog, Integration, build_catalog
from atom_health.checks.api_access import (
    SKIPPED_NOT_CONFIGURED,
    SKIPPED_NOT_REQUESTED,
    ApiProber,
    NoProber,
)
from atom_health.checks.configuration import check_configuration
from atom_health.classify import classify, overall_status
from atom_health.config import Settings
from atom_health.results import (
    ApiAccessCheck,
    Checks,
    ConfigurationCheck,
    ConfigurationReport,
    ConfigurationSummary,
    Overview,
    OverviewSummary,
    ServiceHealth,
    ServiceSummary,
    Status,
    utc_now,
)


class UnknownIntegrationError(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Unknown integration: {name}")
        self.name = name


class HealthMonitor:
    """Checks integrations from a :class:`Catalog` against the process environment.

    ``environ`` is read on every check, so a variable set or cleared at run time shows
    in the next result.
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        settings: Settings | None = None,
        environ: Mapping[str, str] = os.environ,
        prober: ApiProber | None = None,
    ) -> None:
        self.catalog = catalog
        self.settings = settings or Settings()
        self.environ = environ
        self.prober: ApiProber = prober or NoProber()

    @classmethod
    def from_settings(
        cls, settings: Settings, environ: Mapping[str, str] = os.environ
    ) -> HealthMonitor:
        return cls(build_catalog(settings, environ), settings=settings, environ=environ)

    def resolve(self, name: str) -> Integration:
        integration = self.catalog.get(name)
        if integration is None:
            raise UnknownIntegrationError(name)
        return integration

    def configuration(self, integration: Integration) -> ConfigurationCheck:
        return check_configuration(integration, self.environ)

    async def check(self, name: str, *, check_api: bool = True) -> ServiceHealth:
        """The full health of one integration; raises :class:`UnknownIntegrationError`."""
        integration = self.resolve(name)
        configuration = self.configuration(integration)
        api_access: ApiAccessCheck | None
        if not configuration.configured:
            api_access = SKIPPED_NOT_CONFIGURED
        elif check_api:
            api_access = await self.prober.probe(integration)
        else:
            api_access = None
        status = classify(configuration, api_access)
        return ServiceHealth(
            status=status,
            service=integration.id,
            name=integration.name,
            criticality=integration.criticality,
            timestamp=utc_now(),
            configured=configuration.configured,
            message=_message(integration, status, configuration, api_access),
            checks=Checks(
                configuration=configuration,
                api_access=api_access or SKIPPED_NOT_REQUESTED,
            ),
        )

    async def check_many(
        self, names: Iterable[str] | None = None, *, check_api: bool = True
    ) -> list[ServiceHealth]:
        """Check several integrations concurrently (all enabled ones when ``names`` is None)."""
        ids = [i.id for i in self.catalog] if names is None else [self.resolve(n).id for n in names]
        return list(await asyncio.gather(*(self.check(i, check_api=check_api) for i in ids)))

    async def overview(
        self, names: Iterable[str] | None = None, *, check_api: bool = True
    ) -> Overview:
        return summarise(await self.check_many(names, check_api=check_api))

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


def summarise(results: list[ServiceHealth]) -> Overview:
    """The overview body for a list of full results."""
    statuses = [r.status for r in results]
    return Overview(
        timestamp=utc_now(),
        summary=OverviewSummary(
            total_services=len(results),
            healthy_services=statuses.count(Status.healthy),
            degraded_services=statuses.count(Status.degraded),
            unhealthy_services=statuses.count(Status.unhealthy),
            overall_status=overall_status(statuses),
        ),
        services={
            r.service: ServiceSummary(
                status=r.status,
                configured=r.configured,
                message=r.message,
                missing_env_vars=r.checks.configuration.missing_env_vars,
                criticality=r.criticality,
            )
            for r in results
        },
    )


def _message(
    integration: Integration,
    status: Status,
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck | None,
) -> str:
    if not configuration.configured:
        return f"{integration.name} integration is not properly configured"
    if api_access is None:
        return f"{integration.name} integration is configured (API access not checked)"
    if status is Status.healthy:
        return f"{integration.name} integration is operational"
    return api_access.message
