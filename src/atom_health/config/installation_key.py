"""The per-installation key that fingerprints credentials.

From the config file (``fingerprint_key``), else a file next to a SQLite database
(``<database>.key``, created once with mode 0600), else a key for this process only
(fingerprints then change on restart; set ``fingerprint_key`` when replicas share a
PostgreSQL database or history is kept in memory).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from atom_health.config.settings import Settings
from atom_health.model.errors import ConfigError

KEY_BYTES = 32


def installation_key(settings: Settings, database_url: str) -> bytes:
    if settings.fingerprint_key is not None:
        return settings.fingerprint_key.get_secret_value().encode()
    path = key_file_for(database_url)
    return _read_or_create(path) if path is not None else secrets.token_bytes(KEY_BYTES)


def key_file_for(database_url: str) -> Path | None:
    """``<database>.key`` beside a SQLite database file; None for other stores."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if database_url.startswith(prefix):
            database = database_url.removeprefix(prefix).split("?", 1)[0]
            if database and database != ":memory:":
                return Path(database + ".key")
    return None


def _read_or_create(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        try:
            return bytes.fromhex(path.read_text(encoding="ascii").strip())
        except (OSError, ValueError):
            raise ConfigError(
                f"{path}: the fingerprint key file is unreadable; delete it to create a new one "
                "(fingerprints will change once)"
            ) from None
    key = secrets.token_bytes(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key.hex())
    return key
