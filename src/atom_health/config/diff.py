"""What changed between two configs: integrations added, removed or changed (field names),
and settings changed (dotted paths). Names only: a value, secret or not, is never reported."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from atom_health.catalog import Catalog
from atom_health.config.settings import Settings

CATALOG_SECTIONS = ("integrations", "backends")


def catalog_changes(
    old: Catalog, new: Catalog
) -> tuple[list[str], list[str], dict[str, list[str]]]:
    """(added ids, removed ids, {changed id: changed field names})."""
    before = {i.id: i.model_dump() for i in old.every()}
    after = {i.id: i.model_dump() for i in new.every()}
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = {
        key: sorted(f for f in after[key] if after[key][f] != before[key].get(f))
        for key in sorted(after.keys() & before.keys())
        if after[key] != before[key]
    }
    return added, removed, changed


def settings_changes(old: Settings, new: Settings) -> list[str]:
    """Dotted paths of the settings (not the catalog sections) whose values differ.

    Compared as Python values, so a secret that changed is seen (SecretStr compares its
    value) and only its path is reported."""
    return sorted(_paths(_fields(old), _fields(new), ""))


def _fields(settings: Settings) -> dict[str, Any]:
    return {
        name: getattr(settings, name)
        for name in type(settings).model_fields
        if name not in CATALOG_SECTIONS
    }


def _paths(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str) -> list[str]:
    found = []
    for name in old.keys() | new.keys():
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        path = prefix + name
        if _is_section(a) and _is_section(b):
            found += _paths(_section(a), _section(b), path + ".")
        else:
            found.append(path)
    return found


def _is_section(value: Any) -> bool:
    return hasattr(type(value), "model_fields")


def _section(value: Any) -> dict[str, Any]:
    return {name: getattr(value, name) for name in type(value).model_fields}
