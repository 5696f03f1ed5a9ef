"""HTTP mechanics shared by probes and provider clients: one client factory, retries, breaker,
budgets, and :class:`~atom_health.services.base.IntegrationService`."""
