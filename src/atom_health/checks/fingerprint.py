"""Fingerprints of credentials: short, non-reversible, comparable across checks.

An HMAC-SHA256 with a per-installation key, truncated: operators can tell which key is
deployed and notice when it changes, and a fingerprint cannot be tested against guesses
of a short secret without the key (a plain hash could).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from atom_health.catalog.model import Integration

FINGERPRINT_HEX_DIGITS = 12


def fingerprint(key: bytes, value: str) -> str:
    digest = hmac.new(key, value.strip().encode(), hashlib.sha256).hexdigest()
    return digest[:FINGERPRINT_HEX_DIGITS]


def fingerprints(
    integration: Integration, environ: Mapping[str, str], key: bytes
) -> dict[str, str]:
    """Each set variable of the integration (required and optional) -> its fingerprint."""
    names = dict.fromkeys((*integration.required_env, *integration.optional_env))
    values = {name: environ.get(name, "").strip() for name in names}
    return {name: fingerprint(key, value) for name, value in values.items() if value}
