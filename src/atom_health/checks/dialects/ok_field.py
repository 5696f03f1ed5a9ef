"""Slack style: HTTP 200 with ``ok: false`` and an ``error`` code for every failure.

Unmapped codes keep their name (``bad_response (upgrade_required)``), and a rate limit
stated in a 200 body still honours ``Retry-After``.
"""

from __future__ import annotations

from atom_health.catalog.probe_spec import ExpectSpec, FieldSpec
from atom_health.checks.dialects.answer import body_of, code_at, provider_failure, refine
from atom_health.checks.dialects.meaning import judge
from atom_health.model.vocabulary import Category
from atom_health.services.http import CallFailed, Reply, status_failure

_ERROR = (FieldSpec(at="error"),)


def interpret(reply: Reply, expect: ExpectSpec) -> CallFailed | None:
    body = body_of(reply)
    failure = status_failure(reply)
    if failure is not None:
        return refine(failure, reply, body, expect)
    if body is None:
        return reply.json_failure()
    field = expect.ok_field or "ok"
    if isinstance(body, dict) and body.get(field) is not True:
        code = code_at(expect.code_at or _ERROR, body, reply.headers)
        detail = f"{field}=false ({code})" if code else f"{field}=false"
        return provider_failure(reply, body, expect, code, Category.bad_response, detail)
    return judge(reply, body, expect)
