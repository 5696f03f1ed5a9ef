"""OAuth token endpoints, read by OAuth error code (RFC 6749 section 5.2 and the common
provider variants), never by free text:

- the client id or secret was refused -> ``credentials_rejected``;
- the client was recognised but the grant was refused (``invalid_grant`` for a refresh
  token or account id) -> ``credentials_rejected``, naming the grant's own variables;
- the client was recognised but may not use this grant type -> success (the caller reports
  that the client was recognised);
- for a ``check_only`` grant, any other refusal means the client was recognised.
"""

from __future__ import annotations

from atom_health.catalog.probe_spec import GrantSpec
from atom_health.checks.dialects.answer import body_of
from atom_health.model.vocabulary import Category
from atom_health.services.http import CallFailed, Reply, error_code, status_failure

CLIENT_REJECTED = frozenset(
    {
        "invalid_client",  # RFC 6749
        "incorrect_client_credentials",  # GitHub
        "invalid_client_id",  # Slack
        "bad_client_secret",  # Slack
    }
)
GRANT_NOT_ALLOWED = frozenset({"unauthorized_client", "unsupported_grant_type"})


def interpret(reply: Reply, spec: GrantSpec) -> CallFailed | None:
    """Decide a token endpoint's answer by its OAuth error code.

    OAuth reports errors with 400 or 401 (Slack and GitHub with 200); any other status
    means what it means anywhere, so the shared status mapping decides it.
    """
    if reply.status not in (200, 400, 401):
        return status_failure(reply)
    answer = body_of(reply)
    answer = answer if isinstance(answer, dict) else {}
    code = error_code(answer)
    if code in CLIENT_REJECTED or (reply.status == 401 and code is None):
        return CallFailed(
            Category.credentials_rejected,
            f"the client id or secret was refused ({code or 'HTTP 401'})",
            reply.status,
            code=code,
            variables=(spec.client_id, spec.client_secret),
        )
    if code is None and 200 <= reply.status < 300 and "access_token" in answer:
        return None
    if code is not None and code in spec.error_categories:
        return CallFailed(
            spec.error_categories[code],
            f"the token endpoint refused the {spec.grant_type} grant ({code}): check the "
            "app's settings for this grant",
            reply.status,
            code=code,
            variables=tuple(spec.variables()),
        )
    if code is not None and (spec.check_only or code in GRANT_NOT_ALLOWED):
        return None
    if code is not None:
        return CallFailed(
            Category.credentials_rejected,
            f"the grant was refused ({code})",
            reply.status,
            code=code,
            variables=tuple(spec.variables()),
        )
    return CallFailed(
        Category.bad_response, f"HTTP {reply.status}, no token and no error code", reply.status
    )
