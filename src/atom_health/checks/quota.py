"""Quota headroom: what a successful answer says about the requests left, as catalog data
(:class:`~atom_health.catalog.probe_spec.QuotaSpec`: header names or body paths)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from atom_health.catalog.probe_spec import QuotaSpec
from atom_health.checks.dialects.answer import lookup
from atom_health.model.results import Quota
from atom_health.services.http import Reply, parse_moment


def read_quota(specs: Sequence[QuotaSpec], reply: Reply, body: Any) -> Quota | None:
    """The tightest quota the answer reports (least share left), or None when it reports none."""
    quotas = [q for q in (_one(spec, reply, body) for spec in specs) if q is not None]
    return min(quotas, key=share_left, default=None)


def share_left(quota: Quota) -> float:
    """The remaining share of the limit (1.0 when the limit is unknown and some remain)."""
    if quota.limit:
        return max(0.0, quota.remaining / quota.limit)
    return 0.0 if quota.remaining <= 0 else 1.0


def _one(spec: QuotaSpec, reply: Reply, body: Any) -> Quota | None:
    limit = _count(lookup(spec.limit, body, reply.headers)) if spec.limit else None
    limit = limit if limit is not None else spec.limit_value
    remaining = _count(lookup(spec.remaining, body, reply.headers)) if spec.remaining else None
    if remaining is None and spec.used is not None and limit is not None:
        used = _count(lookup(spec.used, body, reply.headers))
        remaining = None if used is None else max(0, limit - used)
    if remaining is None:
        return None
    resets_at = None
    if spec.resets_at is not None:
        resets_at = parse_moment(lookup(spec.resets_at, body, reply.headers), spec.reset_format)
    return Quota(remaining=remaining, limit=limit, resets_at=resets_at)


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(float(str(value).strip()))
    except ValueError:
        return None
    return number if number >= 0 else None
