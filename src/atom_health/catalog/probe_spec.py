"""The schema of a probe definition: how to prove an integration's credentials, as data.

Variable names in a probe are canonical names (as in the built-in catalog); a rename
in the config file applies to them too. A probe can run when every variable it names
is set; an integration's probes are listed strongest first and the first runnable one
is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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

    def variables(self) -> list[str]:
        return [self.client_id, self.client_secret, *self.env_fields.values()]


class ExpectSpec(_Spec):
    """What a successful answer looks like beyond a 2xx JSON body."""

    json_body: bool = Field(default=True, description="false: any 2xx answer passes")
    ok_field: str | None = Field(default=None, description="Slack style: this field must be true")
    graphql: bool = Field(default=False, description="Any errors[] entry is a failure")
    required_field: str | None = Field(default=None, description="Must be in the JSON object")
    error_categories: dict[str, Category] = Field(
        default_factory=dict, description="Provider error code -> category"
    )


class RequestSpec(_Spec):
    method: Literal["GET", "POST"] = "GET"
    path: str = Field(description="Appended to the base URL; {VAR} inserts a variable's value")
    headers: dict[str, str] = Field(default_factory=dict)
    query: dict[str, str] = Field(default_factory=dict)
    body: dict[str, Any] | None = Field(default=None, description="Sent as JSON")
    auth: AuthSpec
    expect: ExpectSpec = ExpectSpec()

    def variables(self) -> list[str]:
        return [*PLACEHOLDER.findall(self.path), *self.auth.variables()]


class ProbeSpec(_Spec):
    name: str = Field(description="Reported as api_access.method")
    grant: GrantSpec | None = None
    request: RequestSpec | None = None

    @property
    def evidence(self) -> Evidence:
        return Evidence.client if self.grant and self.grant.check_only else Evidence.full

    @property
    def needs_base_url(self) -> bool:
        return self.request is not None

    def variables(self) -> list[str]:
        """Every canonical variable this probe reads, in order, without repeats."""
        names = [
            *(self.grant.variables() if self.grant else []),
            *(self.request.variables() if self.request else []),
        ]
        return list(dict.fromkeys(names))


class RateLimitSpec(_Spec):
    requests: int = Field(gt=0)
    per_seconds: float = Field(gt=0)
