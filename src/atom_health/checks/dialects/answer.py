"""Reading a provider's answer by catalog data: values at paths, error codes, scope names.

Whatever leaves here is a code or a name fit to quote (short, no spaces beyond a few
words of an enumerated code, no unusual characters): never a provider's free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from atom_health.catalog.probe_spec import ExpectSpec, FieldSpec
from atom_health.model.vocabulary import Category
from atom_health.services.http import CallFailed, Reply, parse_retry_after, safe_code

_WORDY_CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,40}( [A-Za-z0-9_.:\-]{1,40}){0,3}$")
_SCOPE = re.compile(r"^[A-Za-z0-9_.:/\-]{1,120}$")
_MAX_SCOPES = 20
_ABSENT = object()


def body_of(reply: Reply) -> Any:
    """The answer's JSON, or ``None`` when it is not JSON."""
    try:
        return reply.json()
    except CallFailed:
        return None


def lookup(spec: FieldSpec, body: Any, headers: Mapping[str, str]) -> Any:
    """The value ``spec`` points at, or None. A ``pattern`` keeps its first group of the text.

    ``text`` is a plain-text answer's body (as Trello's refusals), when the body is text."""
    if spec.at.startswith("header:"):
        value: Any = headers.get(spec.at.removeprefix("header:"))
    elif spec.at == "text":
        value = body if isinstance(body, str) else None
    else:
        value = at_path(body, spec.at)
        if value is _ABSENT:
            value = None
    if value is None or spec.pattern is None:
        return value
    match = re.search(spec.pattern, str(value))
    return match.group(1) if match and match.groups() else None


def at_path(body: Any, path: str) -> Any:
    """The value at a dotted path (numbers index lists); ``_ABSENT`` when there is none."""
    value = body
    for part in path.split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _ABSENT
    return value


def _plain_text(reply: Reply) -> str:
    """The start of a body that is not JSON, to match a catalog pattern against."""
    return reply.body[:256].decode("utf-8", errors="replace").strip()


def has_path(body: Any, path: str) -> bool:
    return at_path(body, path) is not _ABSENT


def code_at(specs: Iterable[FieldSpec], body: Any, headers: Mapping[str, str]) -> str | None:
    """The first error code found where the catalog says codes are."""
    for spec in specs:
        value = lookup(spec, body, headers)
        if isinstance(value, str) and _WORDY_CODE.match(value.strip()):
            return value.strip()
        if (code := safe_code(value)) is not None:
            return code
    return None


def scope_names(value: Any, separator: str = ",") -> tuple[str, ...]:
    """Scope names from a list or a separated string; anything that is not a name is dropped."""
    if isinstance(value, str):
        parts: list[Any] = re.split(rf"[{re.escape(separator)}\s]+", value)
    elif isinstance(value, list):
        parts = value
    else:
        return ()
    names = [p.strip() for p in parts if isinstance(p, str) and _SCOPE.match(p.strip())]
    return tuple(dict.fromkeys(names))[:_MAX_SCOPES]


def missing_scopes(expect: ExpectSpec, body: Any, headers: Mapping[str, str]) -> tuple[str, ...]:
    for spec in expect.missing_scopes_at:
        names = scope_names(lookup(spec, body, headers))
        if names:
            return names
    return ()


def retry_after(expect: ExpectSpec, reply: Reply, body: Any) -> float | None:
    """Seconds to wait: the ``Retry-After`` header, else a wait the error body states."""
    header = parse_retry_after(reply.headers.get("Retry-After"))
    if header is not None:
        return header
    for spec in expect.retry_after_at:
        value = parse_retry_after(str(lookup(spec, body, reply.headers) or ""))
        if value is not None:
            return value
    return None


def provider_failure(
    reply: Reply,
    body: Any,
    expect: ExpectSpec,
    code: str | None,
    fallback: Category,
    detail: str,
) -> CallFailed:
    """A failure the provider stated, categorised by its code (catalog data) or ``fallback``."""
    category = expect.error_categories.get(code or "", fallback)
    wait = retry_after(expect, reply, body)
    return CallFailed(
        category,
        detail,
        reply.status,
        retry_after=wait,
        code=code,
        missing_scopes=missing_scopes(expect, body, reply.headers),
    )


def refine(failure: CallFailed, reply: Reply, body: Any, expect: ExpectSpec) -> CallFailed:
    """An HTTP-status failure, re-read in the provider's dialect: its own code (where the
    catalog says codes are), the category that code means, the scopes it names."""
    source = body if body is not None else _plain_text(reply)
    code = code_at(expect.code_at, source, reply.headers) or failure.code
    mapped = expect.error_categories.get(code or "")
    failure.code = code
    if mapped is not None:
        failure.category = mapped
    failure.missing_scopes = missing_scopes(expect, body, reply.headers)
    if failure.retry_after is None:
        failure.retry_after = retry_after(expect, reply, body)
    return failure
