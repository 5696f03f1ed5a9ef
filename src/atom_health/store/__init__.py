"""History storage: one interface (:class:`Store`), memory and SQL backends."""

from __future__ import annotations

from atom_health.store.base import Store
from atom_health.store.memory import MemoryStore


def open_store(url: str) -> Store:
    """``memory://`` for an in-memory store; any SQLAlchemy URL (sqlite, postgresql) otherwise."""
    if url == "memory://":
        return MemoryStore()
    from atom_health.store.sql import SqlStore

    return SqlStore(url)


__all__ = ["MemoryStore", "Store", "open_store"]
