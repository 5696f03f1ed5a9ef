"""Access control and abuse resistance (the ``security:`` section of the config file).

API keys come from two places: ``$ATOM_HEALTH_READ_KEY`` / ``$ATOM_HEALTH_ADMIN_KEY`` for
simple deployments, and ``security.keys`` in the config file, which holds only each key's
SHA-256 hash (``atom-health keys new`` prints one). Nothing here ever holds a key in
clear text except the environment, which is read once, at start.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from atom_health.config.environment import read_environment

Sha256Hex = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
KeyName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]


class Role(StrEnum):
    """What a key may do. ``admin`` can do everything ``read`` can."""

    read = "read"
    admin = "admin"

    def allows(self, needed: Role) -> bool:
        return self is Role.admin or needed is Role.read


class KeyEntry(BaseModel):
    """One key in the config file: ``{name: ci, role: read, sha256: <64 hex digits>}``."""

    model_config = ConfigDict(extra="forbid")

    name: KeyName
    role: Role
    sha256: Sha256Hex = Field(description="SHA-256 of the key, lower-case hex; never the key")


class SecuritySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keys: list[KeyEntry] = Field(default_factory=list, max_length=1000)
    metrics_public: bool = Field(
        default=False, description="Serve /metrics without a key even when keys are configured"
    )
    refresh_role: Role = Field(
        default=Role.admin,
        description="Role a ?refresh=true request needs (it may call the provider)",
    )
    allowed_hosts: list[str] | None = Field(
        default=None,
        max_length=100,
        description="Host header values accepted (names, without port); '*' accepts any. "
        "Default: loopback names when the connection arrives on a loopback address, else any",
    )
    rate_limit: str = Field(
        default="600/minute",
        max_length=100,
        description="Requests per client on /api/..., in the limits library's notation "
        "('600/minute', '10/second;600/minute'); empty turns it off",
    )
    rate_limit_storage: str | None = Field(
        default=None,
        max_length=500,
        description="limits storage URI: memory:// per process, or redis://host:6379/0 shared "
        "by replicas. Default: the replicas' Redis (redis_url) when set, else memory://",
    )
    audit_log: bool = Field(
        default=True, description="One JSON line per API request on the atom_health.audit logger"
    )
    session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=1_073_741_824)
    max_header_bytes: int = Field(default=32_768, ge=1024, le=1_048_576)
    max_headers: int = Field(default=100, ge=10, le=10_000)
    header_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    keep_alive_seconds: float = Field(default=5.0, gt=0, le=300)
    max_concurrency: int = Field(
        default=1000, ge=1, le=1_000_000, description="Connections and requests at once"
    )


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A usable key: its name, role and the SHA-256 digest of its value."""

    name: str
    role: Role
    digest: bytes


def key_digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def configured_keys(security: SecuritySettings, environ: Mapping[str, str]) -> list[ApiKey]:
    """Every key: the environment's (named ``env-read`` / ``env-admin``) and the config file's."""
    environment = read_environment(environ)
    keys = [
        ApiKey(f"env-{role.value}", role, key_digest(secret.get_secret_value()))
        for role, secret in ((Role.read, environment.read_key), (Role.admin, environment.admin_key))
        if secret is not None
    ]
    keys += [ApiKey(k.name, k.role, bytes.fromhex(k.sha256)) for k in security.keys]
    return keys
