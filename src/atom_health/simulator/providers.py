"""Each provider as the simulator plays it: valid credentials, endpoints, and answer shapes.

Shapes follow the providers' public API documentation and OpenAPI descriptions: the
identity (ping) endpoint, the OAuth token endpoint, the error bodies for a refused
credential, a missing permission and rate limiting, and the status feed. The facts used are
summarised per provider in ``provider-api-facts.md``, which is kept outside this repository,
beside it: ``../shared/reference/provider-api-facts.md`` from the repository's root.
"""

from __future__ import annotations

import base64
import itertools
import json
import secrets
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from atom_health.catalog.model import env_prefix
from atom_health.simulator import hubspot_crm
from atom_health.simulator.hubspot_crm import HUBSPOT_CREDENTIALS

# Valid credentials of the simulated accounts (test values, not secrets of anyone's).
CREDENTIALS: dict[str, str] = {
    "ZOOM_API_KEY": "sim-zoom-client-id",
    "ZOOM_API_SECRET": "sim-zoom-client-secret",
    "ZOOM_ACCOUNT_ID": "sim-zoom-account",
    "NOTION_CLIENT_ID": "sim-notion-client-id",
    "NOTION_CLIENT_SECRET": "sim-notion-client-secret",
    "NOTION_TOKEN": "ntn_sim_notion_integration_token",
    "TRELLO_API_KEY": "simtrellokey0000000000000000000",
    "TRELLO_API_SECRET": "sim-trello-secret",
    "TRELLO_TOKEN": "ATTAsimtrellotoken",
    "STRIPE_API_KEY": "sk_test_sim51Hxyz0000000000000",
    "STRIPE_WEBHOOK_SECRET": "whsec_sim",
    "QUICKBOOKS_CLIENT_ID": "sim-qb-client-id",
    "QUICKBOOKS_CLIENT_SECRET": "sim-qb-client-secret",
    "QUICKBOOKS_ACCESS_TOKEN": "sim-qb-access-token",
    "QUICKBOOKS_REALM_ID": "9130350000000000",
    "GITHUB_CLIENT_ID": "Iv1.simgithubclient",
    "GITHUB_CLIENT_SECRET": "sim-github-client-secret",
    "GITHUB_TOKEN": "ghp_simGitHubToken000000000000000000",
    "SALESFORCE_CLIENT_ID": "3MVG9sim.salesforce.client",
    "SALESFORCE_CLIENT_SECRET": "sim-salesforce-secret",
    "GOOGLE_CLIENT_ID": "sim-client.apps.googleusercontent.com",
    "GOOGLE_CLIENT_SECRET": "GOCSPX-sim-google-secret",
    "GOOGLE_REFRESH_TOKEN": "1//sim-google-refresh-token",
    "DROPBOX_APP_KEY": "simdropboxkey",
    "DROPBOX_APP_SECRET": "simdropboxsecret",
    "DROPBOX_ACCESS_TOKEN": "sl.sim-dropbox-access-token",
    "SLACK_CLIENT_ID": "1111111111.2222222222",
    "SLACK_CLIENT_SECRET": "sim-slack-client-secret",
    "SLACK_SIGNING_SECRET": "sim-slack-signing-secret",
    "SLACK_BOT_TOKEN": "xoxb-sim-slack-bot-token",
    # The private-app token only: OAuth (client id, secret, refresh token) is opt-in.
    "HUBSPOT_ACCESS_TOKEN": HUBSPOT_CREDENTIALS["HUBSPOT_ACCESS_TOKEN"],
    "JIRA_EMAIL": "ops@example.com",
    "JIRA_API_TOKEN": "ATATTsimjiratoken",
    "LINEAR_API_KEY": "lin_api_simlinearkey",
    "XERO_CLIENT_ID": "SIMXEROCLIENTID",
    "XERO_CLIENT_SECRET": "sim-xero-client-secret",
}

Handler = Callable[[Request, "Accounts"], Awaitable[Response]]


@dataclass
class Accounts:
    """Access tokens issued by the simulated token endpoints, per provider."""

    issued: dict[str, set[str]] = field(default_factory=dict)
    _counter: itertools.count[int] = field(default_factory=itertools.count)

    def issue(self, provider: str) -> str:
        token = f"sim-{provider}-access-{next(self._counter)}-{secrets.token_hex(4)}"
        self.issued.setdefault(provider, set()).add(token)
        return token

    def valid(self, provider: str, token: str | None) -> bool:
        return token is not None and token in self.issued.get(provider, set())

    def revoke(self, provider: str) -> None:
        self.issued.pop(provider, None)


def bearer(request: Request) -> str | None:
    value = request.headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token if scheme.lower() in ("bearer", "token") and token else None


def basic(request: Request) -> tuple[str, str] | None:
    value = request.headers.get("authorization", "")
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded).decode().partition(":")
    except ValueError:
        return None
    return user, password


async def fields(request: Request) -> dict[str, str]:
    """A token request's fields, from a form or a JSON body."""
    body = await request.body()
    if request.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    return dict(parse_qsl(body.decode(errors="replace")))


def client_of(request: Request, form: Mapping[str, str]) -> tuple[str, str]:
    """Client id and secret from HTTP Basic, else from the body."""
    pair = basic(request)
    return pair if pair else (form.get("client_id", ""), form.get("client_secret", ""))


def is_client(pair: tuple[str, str], id_var: str, secret_var: str) -> bool:
    return pair == (CREDENTIALS[id_var], CREDENTIALS[secret_var])


def oauth_token(
    provider: str, accounts: Accounts, lifetime: int | None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "access_token": accounts.issue(provider),
        "token_type": "Bearer",
        **extra,
    }
    if lifetime is not None:
        body["expires_in"] = lifetime
    return JSONResponse(body)


def oauth_error(status: int, error: str, description: str | None = None) -> JSONResponse:
    body = {"error": error}
    if description:
        body["error_description"] = description
    return JSONResponse(body, status_code=status)


# -- Zoom --------------------------------------------------------------------------------


async def zoom_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    if not is_client(client_of(request, form), "ZOOM_API_KEY", "ZOOM_API_SECRET"):
        return JSONResponse(
            {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, 400
        )
    if form.get("grant_type") != "account_credentials":
        return JSONResponse(
            {"reason": "Invalid authorization code", "error": "invalid_request"}, 400
        )
    if form.get("account_id") != CREDENTIALS["ZOOM_ACCOUNT_ID"]:
        return JSONResponse({"reason": "Invalid account_id", "error": "invalid_request"}, 400)
    return oauth_token(
        "zoom", accounts, 3599, scope="user:read:user", api_url="https://api.zoom.us"
    )


async def zoom_api(request: Request, accounts: Accounts) -> Response:
    if not accounts.valid("zoom", bearer(request)):
        return JSONResponse({"code": 124, "message": "Invalid access token."}, 401)
    return JSONResponse(
        {"id": "KDcuGIm1QgePTO8WbOqwIQ", "first_name": "Atom", "last_name": "Health",
         "email": "ops@example.com", "type": 2, "account_id": CREDENTIALS["ZOOM_ACCOUNT_ID"]}
    )  # fmt: skip


# -- Notion ------------------------------------------------------------------------------


async def notion_api(request: Request, accounts: Accounts) -> Response:
    if "notion-version" not in request.headers:
        return JSONResponse(
            {"object": "error", "status": 400, "code": "missing_version",
             "message": "Notion-Version header failed validation: Notion-Version header should be defined, instead was `undefined`."},
            400,
        )  # fmt: skip
    if bearer(request) != CREDENTIALS["NOTION_TOKEN"]:
        return JSONResponse(
            {
                "object": "error",
                "status": 401,
                "code": "unauthorized",
                "message": "API token is invalid.",
            },
            401,
        )
    return JSONResponse(
        {"object": "user", "id": "92a680bb-6970-4726-952b-4f4c03bff617", "name": "atom-health",
         "type": "bot", "bot": {"owner": {"type": "workspace", "workspace": True}, "workspace_name": "Atom Sim"}}
    )  # fmt: skip


async def notion_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    if not is_client(client_of(request, form), "NOTION_CLIENT_ID", "NOTION_CLIENT_SECRET"):
        return oauth_error(401, "invalid_client", "Invalid client.")
    return oauth_error(400, "invalid_grant", "Invalid code.")


# -- Trello ------------------------------------------------------------------------------


async def trello_api(request: Request, accounts: Accounts) -> Response:
    if request.query_params.get("key") != CREDENTIALS["TRELLO_API_KEY"]:
        return PlainTextResponse("invalid key", 401)
    if request.query_params.get("token") != CREDENTIALS["TRELLO_TOKEN"]:
        return PlainTextResponse("invalid token", 401)
    return JSONResponse({"id": "5abbe4b7ddc1b351ef961414", "username": "atomhealth"})


# -- Stripe ------------------------------------------------------------------------------


async def stripe_api(request: Request, accounts: Accounts) -> Response:
    pair = basic(request)
    key = pair[0] if pair else bearer(request)
    if not key:
        return JSONResponse(
            {
                "error": {
                    "message": "You did not provide an API key.",
                    "type": "invalid_request_error",
                }
            },
            401,
        )
    if key != CREDENTIALS["STRIPE_API_KEY"]:
        masked = key[:8] + "*" * max(0, len(key) - 12) + key[-4:]
        return JSONResponse(
            {
                "error": {
                    "message": f"Invalid API Key provided: {masked}",
                    "type": "invalid_request_error",
                }
            },
            401,
            headers={"WWW-Authenticate": 'Basic realm="Stripe"'},
        )
    return JSONResponse(
        {"object": "balance", "livemode": False,
         "available": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}],
         "pending": [{"amount": 0, "currency": "usd", "source_types": {"card": 0}}]}
    )  # fmt: skip


async def stripe_webhook_endpoints(request: Request, accounts: Accounts) -> Response:
    """``GET /v1/webhook_endpoints``: one endpoint whose ``status`` the admin API sets."""
    pair = basic(request)
    if (pair[0] if pair else bearer(request)) != CREDENTIALS["STRIPE_API_KEY"]:
        return _json_refusal(401, {"error": {"message": "Invalid API Key provided: sk_test_****0000",
                                             "type": "invalid_request_error"}})()  # fmt: skip
    state = request.app.state.sim.webhook_states.get("stripe", "enabled")
    endpoints = [] if state == "none" else [
        {"id": "we_1Mr5jULkdIwHu7ix1ibLTM0x", "object": "webhook_endpoint", "api_version": None,
         "application": None, "created": 1680122196, "description": None, "enabled_events": ["*"],
         "livemode": False, "metadata": {}, "status": state, "url": "https://example.com/webhooks/stripe"}
    ]  # fmt: skip
    return JSONResponse(
        {"object": "list", "data": endpoints, "has_more": False, "url": "/v1/webhook_endpoints"}
    )


# -- QuickBooks --------------------------------------------------------------------------


async def quickbooks_api(request: Request, accounts: Accounts) -> Response:
    realm = CREDENTIALS["QUICKBOOKS_REALM_ID"]
    realms = {request.path_params.get("realm"), request.path_params.get("realm2")}
    if bearer(request) != CREDENTIALS["QUICKBOOKS_ACCESS_TOKEN"] or realms != {realm}:
        return JSONResponse(
            {"warnings": None, "intuitObject": None,
             "fault": {"error": [{"message": "message=AuthenticationFailed; errorCode=003200; statusCode=401",
                                  "detail": "Token revoked", "code": "3200", "element": None}],
                       "type": "AUTHENTICATION"},
             "time": "2026-11-22T00:00:00.000-08:00"},
            401,
        )  # fmt: skip
    return JSONResponse(
        {"CompanyInfo": {"CompanyName": "Atom Sim Co", "Id": "1", "Country": "US"},
         "time": "2026-11-22T00:00:00.000-08:00"}
    )  # fmt: skip


async def quickbooks_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    if not is_client(client_of(request, form), "QUICKBOOKS_CLIENT_ID", "QUICKBOOKS_CLIENT_SECRET"):
        return oauth_error(401, "invalid_client")
    return oauth_error(400, "invalid_grant")


# -- GitHub ------------------------------------------------------------------------------


async def github_api(request: Request, accounts: Accounts) -> Response:
    if not request.headers.get("user-agent"):
        return JSONResponse(
            {
                "message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header."
            },
            403,
        )
    if bearer(request) != CREDENTIALS["GITHUB_TOKEN"]:
        return JSONResponse(
            {
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest",
                "status": "401",
            },
            401,
        )
    core = {"limit": 5000, "used": 1, "remaining": 4999, "reset": 1795000000}
    return JSONResponse(
        {"resources": {"core": core, "search": {**core, "limit": 30, "remaining": 30, "used": 0}}, "rate": core},
        headers={"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "4999", "x-ratelimit-used": "1",
                 "x-ratelimit-reset": "1795000000", "x-ratelimit-resource": "core"},
    )  # fmt: skip


async def github_hook_deliveries(request: Request, accounts: Accounts) -> Response:
    """``GET /repos/{owner}/{repo}/hooks/{hook_id}/deliveries``, newest first: all answered
    200, or (state ``failing``) the latest three answered 500."""
    if bearer(request) != CREDENTIALS["GITHUB_TOKEN"]:
        return JSONResponse({"message": "Bad credentials", "status": "401"}, 401)
    if request.path_params.get("hook_id") != "12345678":
        return JSONResponse({"message": "Not Found", "status": "404"}, 404)
    failing = request.app.state.sim.webhook_states.get("github") == "failing"
    deliveries = [
        {"id": 90000 + n, "guid": f"0b989ba4-242f-11e5-81e1-{n:012d}", "delivered_at": "2026-11-22T00:00:00Z",
         "redelivery": False, "duration": 0.03, "status": "Internal Server Error" if failing and n < 3 else "OK",
         "status_code": 500 if failing and n < 3 else 200, "event": "push", "action": None,
         "installation_id": None, "repository_id": 1296269}
        for n in range(5)
    ]  # fmt: skip
    return JSONResponse(deliveries)


# -- Salesforce --------------------------------------------------------------------------


async def salesforce_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    if not is_client(client_of(request, form), "SALESFORCE_CLIENT_ID", "SALESFORCE_CLIENT_SECRET"):
        return oauth_error(400, "invalid_client", "invalid client credentials")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type", "grant type not supported")
    instance = str(request.base_url).rstrip("/") + "/salesforce"
    return oauth_token(
        "salesforce", accounts, None, instance_url=instance, scope="api", signature="c2lt",
        id=f"{instance}/id/00Dsim/005sim", issued_at="1795000000000",
    )  # fmt: skip


async def salesforce_api(request: Request, accounts: Accounts) -> Response:
    if not accounts.valid("salesforce", bearer(request)):
        return JSONResponse(
            [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}], 401
        )
    return JSONResponse(
        {
            "DailyApiRequests": {"Max": 15000, "Remaining": 14990},
            "DataStorageMB": {"Max": 5, "Remaining": 5},
        },
        headers={"Sforce-Limit-Info": "api-usage=10/15000"},
    )


# -- Google Drive ------------------------------------------------------------------------


async def google_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    client_id, secret = client_of(request, form)
    if client_id != CREDENTIALS["GOOGLE_CLIENT_ID"]:
        return oauth_error(401, "invalid_client", "The OAuth client was not found.")
    if secret != CREDENTIALS["GOOGLE_CLIENT_SECRET"]:
        return oauth_error(401, "invalid_client", "Unauthorized")
    if form.get("grant_type") == "authorization_code":
        return oauth_error(400, "invalid_grant", "Malformed auth code.")
    if form.get("refresh_token") != CREDENTIALS["GOOGLE_REFRESH_TOKEN"]:
        return oauth_error(400, "invalid_grant", "Token has been expired or revoked.")
    return oauth_token(
        "googledrive",
        accounts,
        3599,
        scope="https://www.googleapis.com/auth/drive.metadata.readonly",
    )


async def google_api(request: Request, accounts: Accounts) -> Response:
    if not accounts.valid("googledrive", bearer(request)):
        return JSONResponse(
            {"error": {"code": 401, "message": "Request had invalid authentication credentials.",
                       "errors": [{"message": "Invalid Credentials", "domain": "global", "reason": "authError",
                                   "location": "Authorization", "locationType": "header"}],
                       "status": "UNAUTHENTICATED"}},
            401,
        )  # fmt: skip
    if "fields" not in request.query_params:
        return JSONResponse(
            {"error": {"code": 400, "message": "The 'fields' parameter is required for this operation.",
                       "errors": [{"domain": "global", "reason": "required", "location": "fields"}]}},
            400,
        )  # fmt: skip
    return JSONResponse(
        {"user": {"kind": "drive#user", "displayName": "Atom Health", "me": True,
                  "permissionId": "00112233445566778899", "emailAddress": "ops@example.com"}}
    )  # fmt: skip


# -- Dropbox -----------------------------------------------------------------------------


async def _dropbox_echo(request: Request) -> Response:
    if not request.headers.get("content-type", "").startswith("application/json"):
        return PlainTextResponse(
            'Error in call to API function "check/user": Bad HTTP "Content-Type" header', 400
        )
    body = await request.json()
    return JSONResponse({"result": str(body.get("query", ""))})


def _dropbox_refused() -> Response:
    return JSONResponse(
        {"error_summary": "invalid_access_token/..", "error": {".tag": "invalid_access_token"}}, 401
    )


async def dropbox_user(request: Request, accounts: Accounts) -> Response:
    if bearer(request) != CREDENTIALS["DROPBOX_ACCESS_TOKEN"]:
        return _dropbox_refused()
    return await _dropbox_echo(request)


async def dropbox_app(request: Request, accounts: Accounts) -> Response:
    if basic(request) != (CREDENTIALS["DROPBOX_APP_KEY"], CREDENTIALS["DROPBOX_APP_SECRET"]):
        return _dropbox_refused()
    return await _dropbox_echo(request)


# -- Slack -------------------------------------------------------------------------------


async def slack_api(request: Request, accounts: Accounts) -> Response:
    token = bearer(request)
    if token is None:
        return JSONResponse({"ok": False, "error": "not_authed"})
    if token != CREDENTIALS["SLACK_BOT_TOKEN"]:
        return JSONResponse({"ok": False, "error": "invalid_auth"})
    return JSONResponse(
        {"ok": True, "url": "https://atom-sim.slack.com/", "team": "Atom Sim", "user": "atom-health",
         "team_id": "T0SIM", "user_id": "U0SIM", "bot_id": "B0SIM", "is_enterprise_install": False}
    )  # fmt: skip


async def slack_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    client_id, secret = client_of(request, form)
    if client_id != CREDENTIALS["SLACK_CLIENT_ID"]:
        return JSONResponse({"ok": False, "error": "invalid_client_id"})
    if secret != CREDENTIALS["SLACK_CLIENT_SECRET"]:
        return JSONResponse({"ok": False, "error": "bad_client_secret"})
    return JSONResponse({"ok": False, "error": "invalid_code"})


# -- Jira --------------------------------------------------------------------------------


async def jira_api(request: Request, accounts: Accounts) -> Response:
    if basic(request) != (CREDENTIALS["JIRA_EMAIL"], CREDENTIALS["JIRA_API_TOKEN"]):
        return JSONResponse(
            {
                "errorMessages": ["Client must be authenticated to access this resource."],
                "errors": {},
            },
            401,
            headers={"X-Seraph-LoginReason": "AUTHENTICATED_FAILED"},
        )
    return JSONResponse(
        {"accountId": "5b10ac8d82e05b22cc7d4ef5", "emailAddress": CREDENTIALS["JIRA_EMAIL"],
         "displayName": "Atom Health", "active": True, "timeZone": "Etc/UTC", "accountType": "atlassian"}
    )  # fmt: skip


# -- Linear ------------------------------------------------------------------------------


async def linear_api(request: Request, accounts: Accounts) -> Response:
    if request.headers.get("authorization") != CREDENTIALS["LINEAR_API_KEY"]:
        return JSONResponse(
            {"errors": [{"message": "Authentication required, not authenticated",
                         "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR",
                                        "statusCode": 401,
                                        "userPresentableMessage": "You need to authenticate to access this operation."}}]},
            400,
        )  # fmt: skip
    body = await request.json()
    if "viewer" not in str(body.get("query", "")):
        return JSONResponse(
            {
                "errors": [
                    {
                        "message": "Unknown query",
                        "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"},
                    }
                ]
            },
            400,
        )
    return JSONResponse({"data": {"viewer": {"id": "2b5a1c3e-0000-4000-8000-00000000a7e1"}}})


# -- Xero --------------------------------------------------------------------------------


async def xero_token(request: Request, accounts: Accounts) -> Response:
    form = await fields(request)
    if not is_client(client_of(request, form), "XERO_CLIENT_ID", "XERO_CLIENT_SECRET"):
        return oauth_error(400, "invalid_client")
    if form.get("grant_type") != "client_credentials":
        return oauth_error(400, "unsupported_grant_type")
    return oauth_token("xero", accounts, 1800, scope="accounting.settings.read")


async def xero_api(request: Request, accounts: Accounts) -> Response:
    if not accounts.valid("xero", bearer(request)):
        return JSONResponse(
            {"Type": None, "Title": "Unauthorized", "Status": 401, "Detail": "AuthenticationUnsuccessful",
             "Instance": "f1ef6b3d-0000-4000-8000-000000000000", "Extensions": {}},
            401,
        )  # fmt: skip
    return JSONResponse(
        [{"id": "7cb59f93-2964-421d-bb5e-a0f7a4572a44", "authEventId": "d99ecdfe-0000-4000-8000-000000000000",
          "tenantId": "fe79f7dd-b6d4-4a92-ba7b-538af6289c58", "tenantType": "ORGANISATION",
          "tenantName": "Demo Company (NZ)", "createdDateUtc": "2019-12-07T18:46:19.5165400",
          "updatedDateUtc": "2019-12-07T18:46:19.5187840"}]
    )  # fmt: skip


@dataclass(frozen=True)
class SimProvider:
    """Where a provider's endpoints sit under ``/<id>`` and how it answers its faults."""

    id: str
    name: str
    api: Mapping[tuple[str, str], Handler]  # (method, path under /<id>) -> handler
    token_path: str | None = None
    token: Handler | None = None
    status_format: str = "statuspage"
    base_path: str = ""  # the provider's base URL path under /<id>, e.g. /api for Slack
    refused: Callable[[], Response] | None = None  # the provider's 401, for the reject fault
    rate_limited: Callable[[int], Response] | None = None


def _json_refusal(status: int, body: Any) -> Callable[[], Response]:
    return lambda: JSONResponse(body, status)


PROVIDERS: dict[str, SimProvider] = {
    p.id: p
    for p in [
        SimProvider("zoom", "Zoom", {("GET", "/v2/users/me"): zoom_api}, "/oauth/token", zoom_token,
                    refused=_json_refusal(401, {"code": 124, "message": "Invalid access token."})),
        SimProvider("notion", "Notion", {("GET", "/v1/users/me"): notion_api}, "/oauth/token", notion_token,
                    refused=_json_refusal(401, {"object": "error", "status": 401, "code": "unauthorized",
                                                "message": "API token is invalid."}),
                    rate_limited=lambda s: JSONResponse({"object": "error", "status": 429, "code": "rate_limited",
                                                         "message": "You have been rate limited."}, 429,
                                                        headers={"Retry-After": str(s)})),
        SimProvider("trello", "Trello", {("GET", "/1/members/me"): trello_api},
                    refused=lambda: PlainTextResponse("invalid token", 401),
                    rate_limited=lambda s: JSONResponse({"error": "API_TOKEN_LIMIT_EXCEEDED",
                                                         "message": "Rate limit exceeded"}, 429,
                                                        headers={"Retry-After": str(s)})),
        SimProvider("stripe", "Stripe", {("GET", "/v1/balance"): stripe_api,
                                         ("GET", "/v1/webhook_endpoints"): stripe_webhook_endpoints},
                    status_format="stripe",
                    refused=_json_refusal(401, {"error": {"message": "Invalid API Key provided: sk_test_****0000",
                                                          "type": "invalid_request_error"}})),
        SimProvider("quickbooks", "QuickBooks",
                    {("GET", "/v3/company/{realm}/companyinfo/{realm2}"): quickbooks_api},
                    "/oauth/token", quickbooks_token),
        SimProvider("github", "GitHub", {("GET", "/rate_limit"): github_api,
                                         ("GET", "/repos/{owner}/{repo}/hooks/{hook_id}/deliveries"):
                                             github_hook_deliveries},
                    refused=_json_refusal(401, {"message": "Bad credentials", "status": "401"}),
                    rate_limited=lambda s: JSONResponse(
                        {"message": "API rate limit exceeded for user ID 1.",
                         "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"},
                        403, headers={"x-ratelimit-remaining": "0", "x-ratelimit-limit": "5000",
                                      "x-ratelimit-reset": "1795000000", "Retry-After": str(s)})),
        SimProvider("salesforce", "Salesforce", {("GET", "/services/data/v62.0/limits"): salesforce_api},
                    "/services/oauth2/token", salesforce_token, status_format="none",
                    refused=_json_refusal(401, [{"message": "Session expired or invalid",
                                                 "errorCode": "INVALID_SESSION_ID"}])),
        SimProvider("googledrive", "Google Drive", {("GET", "/drive/v3/about"): google_api},
                    "/oauth/token", google_token, status_format="google",
                    rate_limited=lambda s: JSONResponse(
                        {"error": {"code": 403, "message": "User rate limit exceeded.",
                                   "errors": [{"domain": "usageLimits", "reason": "userRateLimitExceeded"}]}},
                        403)),
        SimProvider("dropbox", "Dropbox", {("POST", "/2/check/user"): dropbox_user,
                                           ("POST", "/2/check/app"): dropbox_app},
                    refused=_dropbox_refused,
                    rate_limited=lambda s: JSONResponse({"error_summary": "too_many_requests/..",
                                                         "error": {"reason": {".tag": "too_many_requests"},
                                                                   "retry_after": s}}, 429,
                                                        headers={"Retry-After": str(s)})),
        SimProvider("slack", "Slack", {("POST", "/auth.test"): slack_api}, "/oauth.v2.access", slack_token,
                    status_format="slack", base_path="/api",
                    refused=lambda: JSONResponse({"ok": False, "error": "invalid_auth"}),
                    rate_limited=lambda s: JSONResponse({"ok": False, "error": "ratelimited"}, 429,
                                                        headers={"Retry-After": str(s)})),
        SimProvider("hubspot", "HubSpot", hubspot_crm.HUBSPOT_API, "/oauth/v1/token", hubspot_crm.oauth_token,
                    refused=hubspot_crm.refused, rate_limited=hubspot_crm.fault_rate_limited),
        SimProvider("jira", "Jira", {("GET", "/rest/api/3/myself"): jira_api}),
        SimProvider("linear", "Linear", {("POST", "/graphql"): linear_api},
                    refused=_json_refusal(400, {"errors": [{"message": "Authentication required, not authenticated",
                                                            "extensions": {"code": "AUTHENTICATION_ERROR"}}]}),
                    rate_limited=lambda s: JSONResponse(
                        {"errors": [{"message": "Rate limit exceeded", "extensions": {"code": "RATELIMITED"}}]},
                        429, headers={"Retry-After": str(s)})),
        SimProvider("xero", "Xero", {("GET", "/connections"): xero_api, ("GET", "/Connections"): xero_api},
                    "/connect/token", xero_token),
    ]
}  # fmt: skip


def environment(url: str) -> dict[str, str]:
    """Every variable that points atom-health at a simulator on ``url``, with valid credentials."""
    env = dict(CREDENTIALS)
    for provider in PROVIDERS.values():
        prefix = env_prefix(provider.id)
        root = f"{url}/{provider.id}"
        env[prefix + "BASE_URL"] = root + provider.base_path
        env[prefix + "STATUS_URL"] = root + "/status"
        if provider.token_path and provider.id != "salesforce":
            env[prefix + "TOKEN_URL"] = root + provider.base_path + provider.token_path
    env["JIRA_BASE_URL"] = f"{url}/jira"
    env["SALESFORCE_INSTANCE_URL"] = f"{url}/salesforce"
    return env
