"""The simulator's diagnosis signals per provider, in each provider's documented shape:
quota headroom on successful answers, "missing permission" refusals, an empty tenant
list, expiring credentials, and the forms a rate limit's wait can take.

Sources: ``/work/research/diagnosis-facts.md`` sections 1-3 and 7 (each line cites the
provider's docs), and the providers' OpenAPI descriptions.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse, Response

QUOTA_LIMITS = {
    "github": 5000, "salesforce": 15000, "zoom": 3000, "trello": 100, "hubspot": 250000,
    "jira": 1000, "linear": 5000, "xero": 5000,
}  # fmt: skip
RESET_IN = 1800  # a quota resets half an hour from now


def quota_answer(provider: str, response: Response, remaining: int | None) -> Response:
    """A successful answer with the provider's quota report (full quota unless ``remaining``)."""
    limit = QUOTA_LIMITS.get(provider)
    if limit is None or response.status_code != 200:
        return response
    left = limit - 1 if remaining is None else remaining
    reset = int(time.time()) + RESET_IN
    headers = dict(_QUOTA_HEADERS[provider](left, limit, reset))
    if provider not in _QUOTA_IN_BODY:
        # Headers only: keep the answer (and headers a handler set itself, as the HubSpot
        # CRM's own rate-limit window); a quota fault overrides the reported quota.
        if remaining is None and any(name in response.headers for name in headers):
            return response
        response.headers.update(headers)
        return response
    body = json.loads(bytes(response.body))
    if provider == "github" and isinstance(body, dict) and "resources" in body:  # /rate_limit
        core = {"limit": limit, "used": limit - left, "remaining": left, "reset": reset}
        body["resources"]["core"] = body["rate"] = core
    elif provider == "salesforce" and isinstance(body, dict):
        body["DailyApiRequests"] = {"Max": limit, "Remaining": left}
    return JSONResponse(body, response.status_code, headers=headers)


_QUOTA_IN_BODY = frozenset({"github", "salesforce"})
_QUOTA_HEADERS: dict[str, Callable[[int, int, int], dict[str, str]]] = {
    "github": lambda left, limit, reset: {
        "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(left),
        "X-RateLimit-Used": str(limit - left), "X-RateLimit-Reset": str(reset),
        "X-RateLimit-Resource": "core",
    },
    "salesforce": lambda left, limit, reset: {"Sforce-Limit-Info": f"api-usage={limit - left}/{limit}"},
    "zoom": lambda left, limit, reset: {
        "X-RateLimit-Category": "Light", "X-RateLimit-Type": "Daily-limit",
        "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(left),
    },
    "trello": lambda left, limit, reset: {
        "X-Rate-Limit-Api-Token-Interval-Ms": "10000", "X-Rate-Limit-Api-Token-Max": str(limit),
        "X-Rate-Limit-Api-Token-Remaining": str(left),
    },
    "hubspot": lambda left, limit, reset: {
        "X-HubSpot-RateLimit-Daily": str(limit), "X-HubSpot-RateLimit-Daily-Remaining": str(left),
    },
    "jira": lambda left, limit, reset: {
        "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": str(left),
        "X-RateLimit-Reset": datetime.fromtimestamp(reset, UTC).strftime("%Y-%m-%dT%H:%MZ"),
    },
    "linear": lambda left, limit, reset: {
        "X-RateLimit-Requests-Limit": str(limit), "X-RateLimit-Requests-Remaining": str(left),
        "X-RateLimit-Requests-Reset": str(reset * 1000),
    },
    "xero": lambda left, limit, reset: {
        "X-DayLimit-Remaining": str(left), "X-MinLimit-Remaining": "59",
        "X-AppMinLimit-Remaining": "9999",
    },
}  # fmt: skip


# The scopes granted to the simulated tokens, as GitHub and Slack report them on answers.
GRANTED_SCOPES = {"github": "read:user, repo", "slack": "chat:write,channels:read,users:read"}


def with_granted_scopes(provider: str, response: Response) -> Response:
    if provider in GRANTED_SCOPES and response.status_code == 200:
        response.headers["X-OAuth-Scopes"] = GRANTED_SCOPES[provider]
    return response


def _google_scope() -> Response:
    body = {
        "error": {
            "code": 403,
            "message": "Request had insufficient authentication scopes.",
            "errors": [
                {
                    "message": "Insufficient Permission",
                    "domain": "global",
                    "reason": "insufficientPermissions",
                }
            ],
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "ACCESS_TOKEN_SCOPE_INSUFFICIENT",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    scope = "https://www.googleapis.com/auth/drive.metadata.readonly"
    header = (
        f'Bearer realm="https://accounts.google.com/", error="insufficient_scope", scope="{scope}"'
    )
    return JSONResponse(body, 403, headers={"WWW-Authenticate": header})


# Each provider's answer to a valid credential without the permission (facts section 3).
MISSING_SCOPE: dict[str, Callable[[], Response]] = {
    "zoom": lambda: JSONResponse(
        {"code": 4711, "message": "Invalid access token, does not contain scopes:[user:read:user, user:read:user:admin]."}, 400),
    "notion": lambda: JSONResponse(
        {"object": "error", "status": 403, "code": "restricted_resource",
         "message": "Given the bearer token used, the client doesn't have permission to perform this operation."}, 403),
    "trello": lambda: PlainTextResponse("unauthorized permission requested", 401),
    "stripe": lambda: JSONResponse(
        {"error": {"type": "invalid_request_error",
                   "message": "The provided key does not have the required permissions for this endpoint."}}, 403),
    "quickbooks": lambda: JSONResponse(
        {"fault": {"error": [{"message": "message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403",
                              "detail": None, "code": "3100"}], "type": "SERVICE"}}, 403),
    "github": lambda: JSONResponse(
        {"message": "Resource not accessible by personal access token",
         "documentation_url": "https://docs.github.com/rest"}, 403,
        headers={"X-Accepted-GitHub-Permissions": "administration=read"}),
    "salesforce": lambda: JSONResponse(
        [{"message": "The REST API is not enabled for this Organization.", "errorCode": "API_DISABLED_FOR_ORG"}], 403),
    "googledrive": _google_scope,
    "dropbox": lambda: JSONResponse(
        {"error_summary": "missing_scope/..", "error": {".tag": "missing_scope", "required_scope": "account_info.read"}},
        401),
    "slack": lambda: JSONResponse({"ok": False, "error": "missing_scope", "needed": "users:read",
                                   "provided": "chat:write,channels:read"}),
    "hubspot": lambda: JSONResponse(
        {"status": "error", "message": "This app hasn't been granted all required scopes to make this call.",
         "correlationId": "5b7e1a1c-0000-4000-8000-000000000001",
         "errors": [{"message": "One or more of the following scopes are required.",
                     "context": {"requiredGranularScopes": ["crm.objects.contacts.read"]}}],
         "category": "MISSING_SCOPES"}, 403),
    "jira": lambda: JSONResponse({"code": 401, "message": "Unauthorized; scope does not match"}, 401),
    "linear": lambda: JSONResponse(
        {"errors": [{"message": "Forbidden", "extensions": {"code": "FORBIDDEN", "type": "forbidden",
                                                          "statusCode": 403}}]}),
    "xero": lambda: JSONResponse(
        {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "AuthorizationUnsuccessful",
         "Instance": "f1ef6b3d-0000-4000-8000-000000000001", "Extensions": {}}, 401),
}  # fmt: skip

# Other refusals a provider documents for the same endpoint, by their code.
WRONG_TOKEN_TYPE = {"slack": lambda: JSONResponse({"ok": False, "error": "not_allowed_token_type"})}

EMPTY: dict[str, Callable[[], Response]] = {"xero": lambda: JSONResponse([])}


def expiring(provider: str, response: Response, days: float, token_endpoint: bool) -> Response:
    """Announce that the credential expires in ``days``: GitHub's expiration header on API
    answers; a refresh token's own lifetime in Google's token answer."""
    if response.status_code != 200:
        return response
    moment = datetime.now(UTC) + timedelta(days=days)
    if provider == "github" and not token_endpoint:
        response.headers["github-authentication-token-expiration"] = moment.strftime(
            "%Y-%m-%d %H:%M:%S UTC"
        )
    elif provider == "googledrive" and token_endpoint:
        body: dict[str, Any] = json.loads(bytes(response.body))
        body["refresh_token_expires_in"] = int(days * 86_400)
        return JSONResponse(body, response.status_code)
    return response


def wait_in_form(response: Response, provider: str, form: str, seconds: int) -> Response:
    """Say a rate limit's wait in one form: ``seconds`` (as built), ``http_date``,
    ``reset_epoch`` (``X-RateLimit-Reset`` with nothing remaining, no ``Retry-After``), or
    ``body`` (in the answer body, as Slack's and GraphQL's 200 answers and Dropbox do)."""
    if form == "seconds":
        return response
    replaced = ("retry-after", "content-length", "x-ratelimit-remaining", "x-ratelimit-reset")
    headers = {k: v for k, v in response.headers.items() if k.lower() not in replaced}
    status = response.status_code
    if form == "http_date":
        headers["Retry-After"] = format_datetime(
            datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True
        )
    elif form == "reset_epoch":
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset"] = str(int(time.time()) + seconds)
    elif form == "body" and provider in ("slack", "linear"):
        status = 200  # the error is in a 200 body; the wait stays in its header
        headers["Retry-After"] = str(seconds)
    return Response(response.body, status, headers=headers, media_type="application/json")
