"""The configuration check: which required variables are set. Pure; reads only the environment.

A variable set to an empty (or whitespace-only) string counts as missing. Values are
read only to test for emptiness and never leave this function.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterable, Mapping

from atom_health.catalog.model import Integration
from atom_health.checks.fingerprint import fingerprints
from atom_health.model.results import CheckStatus, ConfigurationCheck


def read_env(environ: Mapping[str, str], names: Iterable[str]) -> list[str | None]:
    """The values of ``names`` (None when unset).

    For the process environment it reads os.environ's own dict: ``os.environ.get`` raises
    and catches a KeyError for every unset name (~6 µs each), and cached answers check their
    integrations' variables on every request.
    """
    data = getattr(environ, "_data", None) if isinstance(environ, os._Environ) else None
    if data is None:
        return [environ.get(name) for name in names]
    encode, decode = os.environ.encodekey, os.environ.decodevalue
    return [None if (v := data.get(encode(name))) is None else decode(v) for name in names]


def signature(environ: Mapping[str, str], names: tuple[str, ...]) -> int:
    """A number that changes whenever any of ``names`` is set, cleared or changed (it holds
    no value). Cached answers ask for it on every request, so for the process environment
    it compares the stored bytes, without decoding them."""
    data = getattr(environ, "_data", None) if isinstance(environ, os._Environ) else None
    if data is None:
        return hash(tuple(environ.get(name) for name in names))
    return hash(tuple(map(data.get, _encoded(names))))


@functools.lru_cache(maxsize=512)
def _encoded(names: tuple[str, ...]) -> tuple[bytes, ...]:
    return tuple(os.environ.encodekey(name) for name in names)  # type: ignore[misc]


def is_set(environ: Mapping[str, str], name: str) -> bool:
    (value,) = read_env(environ, (name,))
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
