"""Who is asking: API keys (``Authorization: Bearer``) and dashboard sessions (a cookie).

A presented key is hashed once and compared with every configured key's hash in constant
time, without stopping at a match, so timing says nothing about which keys exist. A
session is a random token held in an HttpOnly, SameSite=Strict cookie; the server keeps
only its hash, with the signed-in key's name and role.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from atom_health.config.security import ApiKey, Role, key_digest

SESSION_COOKIE = "atom_health_session"
MAX_SESSIONS = 10_000
MAX_KEY_LENGTH = 512


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: the key's name (never the key) and its role."""

    name: str
    role: Role


class KeyRing:
    def __init__(self, keys: Sequence[ApiKey]) -> None:
        self._keys = tuple(keys)

    @property
    def enabled(self) -> bool:
        """Whether any key is configured (then the API needs one)."""
        return bool(self._keys)

    def identify(self, key: str) -> Principal | None:
        if not key or len(key) > MAX_KEY_LENGTH:
            return None
        digest = key_digest(key)
        found: ApiKey | None = None
        for candidate in self._keys:  # every key is compared, match or not
            if hmac.compare_digest(digest, candidate.digest) and found is None:
                found = candidate
        return None if found is None else Principal(found.name, found.role)


@dataclass(slots=True)
class _Session:
    principal: Principal
    expires: float


class SessionStore:
    """Signed-in dashboards, in memory (a restart signs everyone out)."""

    def __init__(self, lifetime_seconds: float) -> None:
        self.lifetime_seconds = lifetime_seconds
        self._sessions: OrderedDict[bytes, _Session] = OrderedDict()

    def open(self, principal: Principal) -> str:
        token = secrets.token_urlsafe(32)
        self._sessions[_hash(token)] = _Session(principal, time.monotonic() + self.lifetime_seconds)
        while len(self._sessions) > MAX_SESSIONS:
            self._sessions.popitem(last=False)
        return token

    def lookup(self, token: str) -> Principal | None:
        if not token or len(token) > MAX_KEY_LENGTH:
            return None
        key = _hash(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if time.monotonic() >= session.expires:
            del self._sessions[key]
            return None
        return session.principal

    def close(self, token: str) -> None:
        self._sessions.pop(_hash(token), None)


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "replace")).digest()


def bearer_key(authorization: bytes) -> str:
    """The key of an ``Authorization: Bearer <key>`` header value; empty when it is not one."""
    scheme, _, key = authorization.partition(b" ")
    if scheme.lower() != b"bearer":
        return ""
    return key.strip().decode("latin-1")


def cookie_value(cookie_header: bytes, name: str) -> str:
    """One cookie's value from a ``Cookie`` header; empty when absent."""
    wanted = name.encode("latin-1") + b"="
    for part in cookie_header.split(b";"):
        part = part.strip()
        if part.startswith(wanted):
            return part[len(wanted) :].decode("latin-1")
    return ""


def new_key() -> str:
    """A fresh API key: 256 random bits, URL-safe."""
    return "ahk_" + secrets.token_urlsafe(32)
