"""Who is asking: API keys (``Authorization: Bearer``) and dashboard sessions (a cookie).

A presented key is hashed once and compared with every configured key's hash in constant
time, without stopping at a match, so timing says nothing about which keys exist. A
session is a token signed by the server (see :class:`SessionStore`), held in an HttpOnly,
SameSite=Strict cookie; it names the key, never holds it.
"""

from __future__ import annotations

import base64
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

    def named(self, name: str) -> Principal | None:
        """The key by this name, as it is configured now."""
        found = next((k for k in self._keys if k.name == name), None)
        return None if found is None else Principal(found.name, found.role)


class SessionStore:
    """Signed-in dashboards: a session is a token the server signed (HMAC-SHA256 with a key
    derived from the installation key), naming the signed-in key and its expiry. Replicas
    sharing the installation key (``fingerprint_key``) accept each other's sessions, and
    restarts keep them. The role is read from the key ring at each request: a key removed
    from the configuration ends its sessions. Signing out forgets the token on this process
    (and the browser drops the cookie)."""

    def __init__(self, lifetime_seconds: float, installation_key: bytes, keys: KeyRing) -> None:
        self.lifetime_seconds = lifetime_seconds
        self._secret = hmac.new(installation_key, b"atom-health dashboard sessions", "sha256")
        self._keys = keys
        self._closed: OrderedDict[bytes, float] = OrderedDict()  # token hash -> its expiry

    def open(self, principal: Principal) -> str:
        expires = int(time.time() + self.lifetime_seconds)
        name = base64.urlsafe_b64encode(principal.name.encode()).decode().rstrip("=")
        body = f"{expires}.{name}.{secrets.token_urlsafe(16)}"
        return f"{body}.{self._sign(body)}"

    def lookup(self, token: str) -> Principal | None:
        if not token or len(token) > MAX_KEY_LENGTH or token.count(".") != 3:
            return None
        body, _, signature = token.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        expires, name, _ = body.split(".")
        if not expires.isdigit() or int(expires) <= time.time() or _hash(token) in self._closed:
            return None
        try:
            key_name = base64.urlsafe_b64decode(name + "=" * (-len(name) % 4)).decode()
        except ValueError:
            return None
        return self._keys.named(key_name)

    def close(self, token: str) -> None:
        if self.lookup(token) is None:
            return
        now = time.time()
        while self._closed and next(iter(self._closed.values())) <= now:  # expired anyway
            self._closed.popitem(last=False)
        self._closed[_hash(token)] = int(token.split(".", 1)[0])
        while len(self._closed) > MAX_SESSIONS:
            self._closed.popitem(last=False)

    def _sign(self, body: str) -> str:
        mac = self._secret.copy()
        mac.update(body.encode())
        return base64.urlsafe_b64encode(mac.digest()).decode().rstrip("=")


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
