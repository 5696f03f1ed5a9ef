"""The configuration check: which required variables are set. Pure; reads only the environment.

A variable set to an empty (or whitespace-only) string counts as missing. Values are
read only to test for emptiness and never leave this function.
"""

from __future__ import annotations

from collections.abc import Mapping

from atom_health.catalog.model import Integration
from atom_health.checks.fingerprint import fingerprints
from atom_health.model.results import CheckStatus, ConfigurationCheck


def is_set(environ: Mapping[str, str], name: str) -> bool:
    value = environ.get(name)
    return value is not None and value.strip() != ""


def check_configuration(
    integration: Integration, environ: Mapping[str, str], key: bytes | None = None
) -> ConfigurationCheck:
    """With ``key``, each set variable's fingerprint (:mod:`.fingerprint`) is included."""
    required = list(integration.required_env)
    present = [name for name in required if is_set(environ, name)]
    missing = [name for name in required if name not in present]
    configured = not missing
    return ConfigurationCheck(
        status=CheckStatus.passed if configured else CheckStatus.failed,
        configured=configured,
        required_env_vars=required,
        present_env_vars=present,
        missing_env_vars=missing,
        configuration_percentage=len(present) * 100 // len(required) if required else 100,
        fingerprints=fingerprints(integration, environ, key) if key is not None else {},
    )
