"""The schema of a provider's webhook signature scheme, as catalog data.

Most providers sign a delivery the same way: an HMAC of a string built from the raw body
(and sometimes a timestamp, the method or the URL) with a signing secret, encoded hex or
base64, maybe behind a prefix, in one header. Only the names differ, so a scheme is data:
``signed`` is a template over ``{body}``, ``{timestamp}``, ``{method}`` and ``{url}``.
Stripe's header carries the timestamp and several signatures (``t=...,v1=...``), which
``header_format: stripe`` reads; that is the one place code differs.

Provider facts: ``/work/research/hubspot-webhooks-facts.md`` (Part B, Part C).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from atom_health.catalog.probe_spec import EnvName, RequestSpec

SIGNED_FIELDS = ("body", "timestamp", "method", "url")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EndpointCheck(_Spec):
    """Where the provider's API reports our webhook endpoint's state, and how to read it."""

    reader: Literal["stripe_endpoints", "github_deliveries"]
    request: RequestSpec


class WebhookScheme(_Spec):
    secret: EnvName = Field(description="The variable holding the signing secret")
    signature_header: str
    header_format: Literal["plain", "stripe"] = "plain"
    signed: str = Field(
        default="{body}", description="What is signed: {body}, {timestamp}, {method}, {url}"
    )
    algorithm: Literal["sha256", "sha1"] = "sha256"
    encoding: Literal["hex", "base64"] = "hex"
    prefix: str = Field(default="", description="Before the signature in the header, e.g. v0=")
    timestamp_header: str | None = None
    timestamp_body_field: str | None = Field(
        default=None, description="A timestamp inside the JSON body (Linear's webhookTimestamp)"
    )
    timestamp_unit: Literal["s", "ms"] = "s"
    tolerance_seconds: float | None = Field(
        default=None, gt=0, description="Older (or, for two-sided schemes, newer) is refused"
    )
    expected_interval_seconds: float | None = Field(
        default=None, gt=0, description="Silence longer than this is a warning"
    )
    endpoint: EndpointCheck | None = None

    def variables(self) -> list[str]:
        return [self.secret]
