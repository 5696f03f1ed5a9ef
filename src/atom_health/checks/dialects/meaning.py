"""Whether a successful-looking answer means what success means for this probe.

A field being present is not enough: the answer must have the expected JSON type, the
catalog's expected values (``ok: true``, ``object: balance``) and, where it says so, a
non-empty list (Xero's ``/connections`` answering ``[]`` means no organisation is connected).
"""

from __future__ import annotations

from typing import Any

from atom_health.catalog.probe_spec import ExpectSpec
from atom_health.checks.dialects.answer import at_path, has_path
from atom_health.model.vocabulary import Category
from atom_health.services.http import CallFailed, Reply

_TYPES: dict[str, type] = {"object": dict, "array": list}


def judge(reply: Reply, body: Any, expect: ExpectSpec) -> CallFailed | None:
    """None when the answer means success; otherwise a ``bad_response`` (or the catalog's
    category for an empty answer) saying what was expected, never what was received."""
    status = reply.status
    wanted = _TYPES.get(expect.json_type)
    if wanted is not None and not isinstance(body, wanted):
        return _bad(
            reply,
            f"HTTP {status} with a JSON {_kind(body)} where an {expect.json_type} is expected",
        )
    if expect.required_field and not has_path(body, expect.required_field):
        return _bad(reply, f"HTTP {status} without the expected {expect.required_field!r} field")
    for path, value in expect.equals.items():
        if at_path(body, path) != value:
            return _bad(reply, f"HTTP {status} where {path!r} is not {_show(value)}")
    if expect.non_empty:
        target = at_path(body, expect.required_field) if expect.required_field else body
        if isinstance(target, (list, dict, str)) and not target:
            meaning = expect.empty_meaning or "the answer is empty"
            return CallFailed(expect.empty_category, f"{meaning} (HTTP {status})", status)
    return None


def _bad(reply: Reply, detail: str) -> CallFailed:
    return CallFailed(Category.bad_response, detail, reply.status)


def _kind(body: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(body), "number")


def _show(value: object) -> str:
    return "true" if value is True else "false" if value is False else repr(value)
