"""The per-integration answer in three parts, ``services: {api, auth, webhooks}``.

- ``api``: the live call (the probe's verdict) and every call our client for that provider
  made, overall and per operation, with the provider's reported quota where it has one.
- ``auth``: the credential and grant state: configured or not, accepted, rejected or not
  proven yet; for OAuth clients, renewals and expiry.
- ``webhooks``: see :mod:`atom_health.checks.webhooks`.
"""

from __future__ import annotations

from atom_health.catalog.model import Integration
from atom_health.model.results import (
    ApiAccessCheck,
    ApiPart,
    AuthPart,
    Category,
    CheckStatus,
    ConfigurationCheck,
    Evidence,
    ServiceParts,
    WebhooksPart,
)
from atom_health.services.base import IntegrationService

# Failures that say nothing about the credential: the provider could not be asked.
_UNPROVEN = frozenset(
    {
        Category.rate_limited,
        Category.timeout,
        Category.dns,
        Category.tls,
        Category.connect,
        Category.server_error,
        Category.bad_response,
        Category.vendor_outage,
    }
)


def service_parts(
    integration: Integration,
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck,
    service: IntegrationService | None,
    webhooks: WebhooksPart,
) -> ServiceParts:
    return ServiceParts(
        api=api_part(api_access, service),
        auth=auth_part(integration, configuration, api_access, service),
        webhooks=webhooks,
    )


def api_part(api_access: ApiAccessCheck, service: IntegrationService | None) -> ApiPart:
    quota = service.quota_state() if service is not None else None
    return ApiPart(
        status=api_access.status,
        message=api_access.message,
        category=api_access.category,
        calls=service.metrics.snapshot() if service is not None and service.metrics.calls else None,
        operations=service.operations.snapshot() if service is not None else {},
        rate_limit=quota,
    )


def auth_part(
    integration: Integration,
    configuration: ConfigurationCheck,
    api_access: ApiAccessCheck,
    service: IntegrationService | None,
) -> AuthPart:
    name = integration.name
    state = service.auth_state() if service is not None else None
    if not configuration.configured:
        missing = ", ".join(configuration.missing_env_vars)
        return AuthPart(
            status=CheckStatus.failed,
            message=f"{name} has no credentials to use: set {missing}",
            category=Category.not_configured,
            credential=state,
        )
    category = api_access.category
    if category in (
        Category.credentials_rejected,
        Category.permission_denied,
        Category.not_configured,
    ):
        return AuthPart(
            status=CheckStatus.failed,
            message=api_access.message,
            category=category,
            credential=state,
        )
    if api_access.status is CheckStatus.skip:
        return AuthPart(
            status=CheckStatus.skip,
            message=f"{name}'s credentials are set but were not tried with the provider",
            credential=state,
        )
    if category in _UNPROVEN:
        return AuthPart(
            status=CheckStatus.warn,
            message=f"{name}'s credentials could not be tried: {api_access.message}",
            category=category,
            credential=state,
        )
    unproven = api_access.method is None  # configured, but no probe could run
    if api_access.evidence is Evidence.client or unproven:
        return AuthPart(status=CheckStatus.warn, message=api_access.message, credential=state)
    renewed = (
        f"; the access token was renewed {state.renewals} time(s)"
        if state and state.renewals
        else ""
    )
    return AuthPart(
        status=CheckStatus.passed,
        message=f"{name} accepted the credentials{renewed}",
        credential=state,
    )
