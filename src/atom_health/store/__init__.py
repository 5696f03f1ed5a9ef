"""History storage: one interface (:class:`Store`), memory and SQL backends."""

from __future__ import annotations

from atom_health.model.errors import ConfigError, MissingExtraError
from atom_health.store.base import Store
from atom_health.store.memory import MemoryStore


def open_store(url: str) -> Store:
    """``memory://`` for an in-memory store; any SQLAlchemy URL (sqlite, postgresql) otherwise."""
    if url == "memory://":
        return MemoryStore()
    if url.startswith("postgresql"):
        try:
            import psycopg  # noqa: F401  (SQLAlchemy's driver for postgresql+psycopg)
        except ImportError:
            raise ConfigError(str(MissingExtraError("A PostgreSQL database", "postgres"))) from None
    from atom_health.store.sql import SqlStore

    return SqlStore(url)


__all__ = ["MemoryStore", "Store", "open_store"]
