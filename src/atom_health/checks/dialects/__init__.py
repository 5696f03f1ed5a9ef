"""How each kind of provider says yes or no: one module per dialect.

- :mod:`.rest`: the HTTP status decides; the body's code refines the category;
- :mod:`.ok_field`: Slack style ``ok: false`` bodies with HTTP 200;
- :mod:`.graphql`: ``errors[]`` in the body, whatever the status;
- :mod:`.oauth`: token endpoints, read by OAuth error code.

Provider differences inside a dialect (where codes are, what they mean, what success
looks like) are catalog data (:class:`~atom_health.catalog.probe_spec.ExpectSpec`).
"""

from __future__ import annotations

from atom_health.catalog.probe_spec import ExpectSpec
from atom_health.checks.dialects import graphql, ok_field, rest
from atom_health.services.http import CallFailed, Reply

_DIALECTS = {"rest": rest.interpret, "ok_field": ok_field.interpret, "graphql": graphql.interpret}


def interpret(reply: Reply, expect: ExpectSpec) -> CallFailed | None:
    """A provider's answer to a probe request: the failure it states, or None for success."""
    return _DIALECTS[expect.dialect](reply, expect)
