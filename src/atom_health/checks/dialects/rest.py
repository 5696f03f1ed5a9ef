"""Plain REST: the HTTP status says success or failure; the body's code says which failure."""

from __future__ import annotations

from atom_health.catalog.probe_spec import ExpectSpec
from atom_health.checks.dialects.answer import body_of, refine
from atom_health.checks.dialects.meaning import judge
from atom_health.services.http import CallFailed, Reply, status_failure


def interpret(reply: Reply, expect: ExpectSpec) -> CallFailed | None:
    failure = status_failure(reply)
    if not expect.json_body:
        return failure
    body = body_of(reply)
    if failure is not None:
        return refine(failure, reply, body, expect)
    if body is None:
        return reply.json_failure()
    return judge(reply, body, expect)
