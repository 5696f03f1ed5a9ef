"""Building the catalog: built-in entries, then the config file, then environment overrides."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from importlib import resources
from typing import Any, Protocol

import yaml
from pydantic import ValidationError

from atom_health.catalog.entries import BackendEntry, IntegrationEntry
from atom_health.catalog.model import Integration, StatusFormat, env_prefix
from atom_health.catalog.probe_spec import AuthSpec, ExpectSpec, ProbeSpec, RequestSpec
from atom_health.model.errors import ConfigError
from atom_health.model.vocabulary import Criticality

_URL_SETTINGS = ("base_url", "token_url", "status_url")


class CatalogSource(Protocol):
    """What the catalog needs from the settings: the user's entries and where they came from."""

    @property
    def integrations(self) -> Mapping[str, IntegrationEntry]: ...

    @property
    def backends(self) -> Mapping[str, BackendEntry]: ...

    @property
    def source(self) -> str: ...


class Catalog:
    """The integrations this process knows, looked up by id or alias (case-insensitive)."""

    def __init__(self, integrations: Iterable[Integration]) -> None:
        self._by_id: dict[str, Integration] = {}
        self._by_name: dict[str, Integration] = {}
        self.version = 0  # changes whenever an integration is enabled, disabled or reloaded
        for integration in integrations:
            self._by_id[integration.id] = integration
            for name in (integration.id, *integration.aliases):
                self._by_name[name.lower()] = integration

    def get(self, name: str) -> Integration | None:
        """The integration called ``name`` (id or alias), or None when unknown or disabled."""
        found = self._by_name.get(name.strip().lower())
        return found if found is not None and found.enabled else None

    def enabled(self) -> list[Integration]:
        return [integration for integration in self._by_id.values() if integration.enabled]

    def every(self) -> list[Integration]:
        """Every integration, disabled ones included."""
        return list(self._by_id.values())

    def lookup(self, name: str) -> Integration | None:
        """Like :meth:`get`, but also finds a disabled integration."""
        return self._by_name.get(name.strip().lower())

    def set_enabled(self, integration_id: str, enabled: bool) -> None:
        """Enable or disable an integration at run time (every lookup sees it at once)."""
        changed = self._by_id[integration_id].model_copy(update={"enabled": enabled})
        self._by_id[integration_id] = changed
        for name in (changed.id, *changed.aliases):
            self._by_name[name.lower()] = changed
        self.version += 1

    def replace_with(self, other: Catalog) -> None:
        """Take ``other``'s integrations (a reloaded config), keeping this object, which
        every part of the system holds."""
        self._by_id, self._by_name = dict(other._by_id), dict(other._by_name)
        self.version += 1

    def __iter__(self) -> Iterator[Integration]:
        return iter(self.enabled())

    def __len__(self) -> int:
        return len(self.enabled())


@cache
def builtin_entries() -> Mapping[str, IntegrationEntry]:
    """The packaged ``builtin.yaml``, validated with the same schema as user entries."""
    text = resources.files("atom_health.catalog").joinpath("builtin.yaml").read_text("utf-8")
    raw: dict[str, Any] = yaml.safe_load(text)
    try:
        return {key: IntegrationEntry.model_validate(value) for key, value in raw.items()}
    except ValidationError as exc:  # a packaging defect, not a user error
        raise RuntimeError(f"built-in catalog is invalid: {exc}") from exc


def build_catalog(settings: CatalogSource, environ: Mapping[str, str]) -> Catalog:
    """Merge built-ins with the user's entries and the ``ATOM_HEALTH_<ID>_*_URL`` variables."""
    merged: dict[str, dict[str, Any]] = {
        key: entry.model_dump(exclude_none=True) for key, entry in builtin_entries().items()
    }
    for key, entry in settings.integrations.items():
        overrides = entry.model_dump(exclude_unset=True, exclude_none=True)
        if "env" in overrides:
            overrides["env"] = {**merged.get(key, {}).get("env", {}), **overrides["env"]}
        merged[key] = {**merged.get(key, {}), **overrides}
    integrations = [_integration(key, fields, environ) for key, fields in merged.items()]
    integrations += [_backend(key, entry) for key, entry in settings.backends.items()]
    _refuse_clashing_names(integrations, settings.source)
    return Catalog(integrations)


def _integration(key: str, fields: Mapping[str, Any], environ: Mapping[str, str]) -> Integration:
    renames: dict[str, str] = dict(fields.get("env", {}))
    urls = {name: fields.get(name) for name in _URL_SETTINGS}
    base_url_env = fields.get("base_url_env")
    prefix = env_prefix(key)
    for name in _URL_SETTINGS:
        override = environ.get(prefix + name.upper(), "").strip()
        if override:
            if not override.startswith(("http://", "https://")):
                raise ConfigError(f"{prefix}{name.upper()}: must be an http:// or https:// URL")
            urls[name] = override
            if name == "base_url":
                base_url_env = None
    return Integration(
        id=key,
        name=fields.get("name") or key.replace("-", " ").replace("_", " ").title(),
        criticality=fields.get("criticality", Criticality.normal),
        required_env=tuple(renames.get(n, n) for n in fields.get("required_env", ())),
        optional_env=tuple(renames.get(n, n) for n in fields.get("optional_env", ())),
        env_names=renames,
        base_url=_strip_slash(urls["base_url"]),
        base_url_env=renames.get(base_url_env, base_url_env) if base_url_env else None,
        token_url=urls["token_url"],
        status_url=_strip_slash(urls["status_url"]),
        status_format=fields.get("status_format", StatusFormat.none),
        aliases=tuple(fields.get("aliases", ())),
        enabled=fields.get("enabled", True),
        probes=tuple(fields.get("probes", ())),
        rate_limit=fields.get("rate_limit"),
        needed_scopes=tuple(fields.get("needed_scopes", ())),
        test_mode=fields.get("test_mode"),
        interval_seconds=fields.get("interval_seconds"),
        webhook=fields.get("webhook"),
    )


def _backend(key: str, entry: BackendEntry) -> Integration:
    """A back-end service as a catalog entry: one unauthenticated GET of its health path."""
    probe = ProbeSpec(
        name=f"GET {entry.health_path}",
        request=RequestSpec(
            path=entry.health_path,
            auth=AuthSpec(scheme="none"),
            expect=ExpectSpec(json_body=False),
        ),
    )
    return Integration(
        id=key,
        name=entry.name or key,
        criticality=entry.criticality,
        base_url=entry.url.rstrip("/"),
        enabled=entry.enabled,
        probes=(probe,),
        interval_seconds=entry.interval_seconds,
        kind="backend",
        framework=entry.framework,
    )


def _strip_slash(url: str | None) -> str | None:
    return url.rstrip("/") if url else url


def _refuse_clashing_names(integrations: list[Integration], source: str) -> None:
    owner: dict[str, str] = {}
    for integration in integrations:
        for name in (integration.id, *integration.aliases):
            previous = owner.setdefault(name.lower(), integration.id)
            if previous != integration.id:
                raise ConfigError(
                    f"{source}: integrations.{integration.id}.aliases: {name!r} is already the name of "
                    f"integration {previous!r}"
                )
