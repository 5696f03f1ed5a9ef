"""The schema of a probe definition: how to prove an integration's credentials, as data.

Variable names in a probe are canonical names (as in the built-in catalog); a rename
in the config file applies to them too. A probe can run when every variable it names
is set; an integration's probes are listed strongest first and the first runnable one
is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from atom_health.model.vocabulary import Category, Evidence

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AuthSpec(_Spec):
    """How the request carries credentials. ``grant`` means the token the probe's grant obtained;
    ``none`` is for a public health endpoint."""

    scheme: Literal["bearer", "basic", "header", "query", "grant", "none"]
    token: EnvName | None = Field(default=None, description="bearer/header: the variable")
    header: str = Field(default="Authorization", description="header: the header's name")
    prefix: str = Field(default="", description="header: text before the value")
    username: EnvName | None = Field(default=None, description="basic: the user variable")
    password: EnvName | None = Field(default=None, description="basic: the password variable")
    params: dict[str, EnvName] = Field(default_factory=dict, description="query: param -> var")

    def variables(self) -> list[str]:
        named = [self.token, self.username, self.password, *self.params.values()]
        return [name for name in named if name]


class GrantSpec(_Spec):
    """An OAuth2 token request. With ``check_only`` the grant is expected to fail: the probe
    only learns whether the token endpoint recognised the client id and secret."""

    grant_type: str
    client_id: EnvName
    client_secret: EnvName
    client_auth: Literal["basic", "body"] = "basic"
    encoding: Literal["form", "json"] = "form"
    fields: dict[str, str] = Field(default_factory=dict, description="Literal form fields")
    env_fields: dict[str, EnvName] = Field(default_factory=dict, description="Fields from vars")
    headers: dict[str, str] = Field(default_factory=dict)
    check_only: bool = False
    error_categories: dict[str, Category] = Field(
        default_factory=dict,
        description="OAuth error code -> category, where the provider gives a code a meaning "
        "of its own for this grant (e.g. Salesforce invalid_grant: no run-as user)",
    )

    def variables(self) -> list[str]:
        return [self.client_id, self.client_secret, *self.env_fields.values()]


class FieldSpec(_Spec):
    """Where one value sits in an answer: ``header:<Name>``, a dotted JSON path
    (``errors.0.extensions.code``; numbers index lists), or ``text`` (a plain-text error
    body). ``pattern`` keeps its first group."""

    at: str = Field(min_length=1)
    pattern: str | None = None


def _field_shorthand(value: object) -> object:
    return {"at": value} if isinstance(value, str) else value


Field_ = Annotated[FieldSpec, BeforeValidator(_field_shorthand)]


class ExpectSpec(_Spec):
    """What the answer must mean to count as success, and how to read its failures.

    A probe's dialect follows from it: ``graphql`` (errors[] in the body), ``ok_field``
    (Slack style ``ok: false`` with an ``error`` code), else plain REST (HTTP status).
    """

    json_body: bool = Field(default=True, description="false: any 2xx answer passes")
    ok_field: str | None = Field(default=None, description="Slack style: this field must be true")
    graphql: bool = Field(default=False, description="Any errors[] entry is a failure")
    json_type: Literal["object", "array", "any"] = Field(
        default="object", description="The JSON type a successful answer has"
    )
    required_field: str | None = Field(
        default=None, description="Dotted path that must be in a successful answer"
    )
    equals: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Dotted path -> the value a successful answer has"
    )
    non_empty: bool = Field(
        default=False, description="required_field (else the whole answer) must not be empty"
    )
    empty_category: Category = Field(
        default=Category.bad_response, description="The category of an empty answer"
    )
    empty_meaning: str | None = Field(
        default=None, description="What an empty answer means, for the message"
    )
    code_at: list[Field_] = Field(
        default_factory=list, description="Where the provider's error code is (first found)"
    )
    error_categories: dict[str, Category] = Field(
        default_factory=dict, description="Provider error code -> category"
    )
    missing_scopes_at: list[Field_] = Field(
        default_factory=list, description="Where a refusal names the scopes it lacks"
    )
    retry_after_at: list[Field_] = Field(
        default_factory=list, description="Seconds to wait, inside an error body"
    )

    @property
    def dialect(self) -> Literal["graphql", "ok_field", "rest"]:
        return "graphql" if self.graphql else "ok_field" if self.ok_field else "rest"


MomentForm = Literal["epoch_seconds", "epoch_ms", "iso8601", "http_date", "delta_seconds", "auto"]


class QuotaSpec(_Spec):
    """Where a successful answer reports the remaining request quota."""

    remaining: Field_ | None = None
    used: Field_ | None = Field(default=None, description="When only used/limit is given")
    limit: Field_ | None = None
    limit_value: int | None = Field(default=None, gt=0, description="A documented fixed limit")
    resets_at: Field_ | None = None
    reset_format: MomentForm = "auto"


class ScopeSpec(_Spec):
    """Where a successful answer lists the scopes the credential was granted."""

    granted_at: Field_
    separator: str = ","


class ExpirySpec(_Spec):
    """Where a successful answer says when the credential expires."""

    at: Field_
    format: MomentForm = "auto"


class RequestSpec(_Spec):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="Appended to the base URL; {VAR} inserts a variable's value")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="Sent as JSON")
    auth: AuthSpec
    expect: ExpectSpec = ExpectSpec()
    quota: list[QuotaSpec] = Field(
        default_factory=list, description="Quota reports, tightest first wins when several"
    )
    scopes: ScopeSpec | None = None
    expiry: ExpirySpec | None = Field(default=None, description="The token's expiry header")

    def variables(self) -> list[str]:
        return [*PLACEHOLDER.findall(self.path), *self.auth.variables()]


class ProbeSpec(_Spec):
    name: str = Field(description="Reported as api_access.method")
    grant: GrantSpec | None = None
    request: RequestSpec | None = None

    @property
    def evidence(self) -> Evidence:
        return Evidence.client if self.grant and self.grant.check_only else Evidence.full

    def variables(self) -> list[str]:
        """Every canonical variable this probe reads, in order, without repeats."""
        names = [
            *(self.grant.variables() if self.grant else []),
            *(self.request.variables() if self.request else []),
        ]
        return list(dict.fromkeys(names))


class SandboxSpec(_Spec):
    """How to tell test or sandbox credentials, which a production deployment must not use."""

    prefixes: dict[EnvName, list[str]] = Field(
        default_factory=dict, description="Variable -> value prefixes of test credentials"
    )
    answer_equals: dict[str, str | int | bool] = Field(
        default_factory=dict, description="Dotted path -> value that marks a test-mode answer"
    )
    base_url_contains: list[str] = Field(
        default_factory=list, description="Text in a sandbox base URL"
    )


class RateLimitSpec(_Spec):
    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)
