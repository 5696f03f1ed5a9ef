"""GraphQL: any ``errors[]`` entry is a failure, whatever the HTTP status; its code is in
``extensions`` (``code`` or, as Linear's SDK reads it, ``type``)."""

from __future__ import annotations

from atom_health.catalog.probe_spec import ExpectSpec, FieldSpec
from atom_health.checks.dialects.answer import body_of, code_at, provider_failure, refine
from atom_health.checks.dialects.meaning import judge
from atom_health.model.vocabulary import Category
from atom_health.services.http import CallFailed, Reply, status_failure

_CODES = (FieldSpec(at="errors.0.extensions.code"), FieldSpec(at="errors.0.extensions.type"))


def interpret(reply: Reply, expect: ExpectSpec) -> CallFailed | None:
    body = body_of(reply)
    failure = status_failure(reply)
    if isinstance(body, dict) and body.get("errors"):
        code = code_at(expect.code_at or _CODES, body, reply.headers)
        fallback = failure.category if failure else Category.bad_response
        detail = f"GraphQL error ({code or 'no code'})"
        return provider_failure(reply, body, expect, code, fallback, detail)
    if failure is not None:
        return refine(failure, reply, body, expect)
    if body is None:
        return reply.json_failure()
    return judge(reply, body, expect)
