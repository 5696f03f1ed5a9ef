"""The configuration check: which required variables are set. Pure; reads only the environment.

A variable set to an empty (or whitespace-only) string counts as missing. Values are
read only to test for emptiness and never leave this function.
"""

from __future__ import annotations

import operator
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import cast

from atom_health.catalog.model import Integration
from atom_health.checks.fingerprint import fingerprints
from atom_health.model.results import CheckStatus, ConfigurationCheck


def read_env(environ: Mapping[str, str], names: Iterable[str]) -> list[str | None]:
    """The values of ``names`` (None when unset). For the process environment it reads
    os.environ's own dict: ``os.environ.get`` raises and catches a KeyError for every unset
    name (~6 µs each)."""
    data = _process_bytes(environ)
    if data is None:
        return [environ.get(name) for name in names]
    decode = cast(Callable[[bytes], str], os.environ.decodevalue)  # typeshed: str -> str
    return [None if (v := data.get(_encoded(name))) is None else decode(v) for name in names]


class VariableWatch:
    """Notices when any of some variables is set, cleared or changed: :meth:`signature` is a
    number that changes then (it holds no value).

    Cached answers ask on every request. For the process environment it looks at the
    bytes os.environ holds: the variables set at the last look are fetched in one call and
    compared with what they were (by identity first), and the unset ones are checked to be
    still unset; only a difference makes it look again.
    """

    __slots__ = ("_data", "_environ", "_keys", "_last", "names")

    def __init__(self, environ: Mapping[str, str], names: tuple[str, ...]) -> None:
        self.names = names
        self._environ = environ
        data = self._data = _process_bytes(environ)
        self._keys = tuple(_encoded(name) for name in names) if data is not None else ()
        self._last = self._look(data) if data is not None else None

    def _look(self, data: dict[bytes, bytes]) -> _Look:
        present = [key for key in self._keys if key in data]
        fetch = operator.itemgetter(*present) if present else _nothing
        unset = frozenset(key for key in self._keys if key not in data)
        return _Look(fetch, fetch(data), unset, hash(tuple(map(data.get, self._keys))))

    def signature(self) -> int:
        data, last = self._data, self._last
        if data is None or last is None:
            return hash(tuple(self._environ.get(name) for name in self.names))
        try:
            same = last.fetch(data) == last.values and data.keys().isdisjoint(last.unset)
        except KeyError:  # one was cleared
            same = False
        if not same:
            last = self._last = self._look(data)  # one assignment: safe to read from threads
        return last.signature


@dataclass(frozen=True, slots=True)
class _Look:
    """What a :class:`VariableWatch` saw: how to fetch the variables that were set, their
    values (never shown: they may be secrets), the names that were unset, and the signature
    of it all."""

    fetch: Callable[[dict[bytes, bytes]], object] = field(repr=False)
    values: object = field(repr=False)
    unset: frozenset[bytes]
    signature: int


def _nothing(data: dict[bytes, bytes]) -> tuple[()]:
    return ()


def _process_bytes(environ: Mapping[str, str]) -> dict[bytes, bytes] | None:
    """The dict of bytes behind the process environment (None for any other mapping)."""
    return getattr(environ, "_data", None) if isinstance(environ, os._Environ) else None


def _encoded(name: str) -> bytes:
    """A name as os.environ keys its own dict."""
    return cast(bytes, os.environ.encodekey(name))  # typeshed types it as str


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
