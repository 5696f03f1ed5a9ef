"""The engine's one HTTP client (a pooled aiohttp session), replies, and failure categories.

Everything a failure says is built from status codes and short provider error codes,
never from exception text or raw bodies, which can quote URLs, headers or secrets.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from atom_health._version import __version__
from atom_health.catalog.probe_spec import MomentForm
from atom_health.model.results import Category

USER_AGENT = f"atom-health/{__version__}"
_SAFE_CODE = re.compile(r"^[A-Za-z0-9_.:\-]{1,64}$")


def create_session(connections: int = 200) -> aiohttp.ClientSession:
    """The pooled session shared by every check of one engine."""
    connector = aiohttp.TCPConnector(limit=connections, ttl_dns_cache=300)
    return aiohttp.ClientSession(
        connector=connector,
        headers={"User-Agent": USER_AGENT},
        cookie_jar=aiohttp.DummyCookieJar(),
    )


def basic_auth(user: str, password: str) -> str:
    """An ``Authorization`` header value for HTTP Basic."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Reply:
    """A provider's complete answer to one attempt."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    latency_ms: float
    attempts: int = 1

    def json(self) -> Any:
        """The body as JSON; raises :class:`CallFailed` (bad_response) when it is not."""
        try:
            return json.loads(self.body)
        except ValueError:
            raise self.json_failure() from None

    def json_failure(self) -> CallFailed:
        """What an answer that should be JSON and is not means."""
        return CallFailed(
            Category.bad_response, f"HTTP {self.status}, body is not JSON", self.status
        )


@dataclass
class CallFailed(Exception):
    """A call that did not succeed. ``detail`` is safe to show: codes and numbers only."""

    category: Category
    detail: str
    http_status: int | None = None
    retry_after: float | None = None
    code: str | None = None
    latency_ms: float | None = None
    attempts: int = 1
    variables: tuple[str, ...] = ()  # canonical variables a refusal names, when not the probe's
    missing_scopes: tuple[str, ...] = ()  # scopes the provider said the credential lacks
    local_budget: bool = False  # our own request budget held the call back; no provider answer
    breaker_open: bool = False  # the circuit breaker held the call back
    final: bool = False  # not worth retrying now (e.g. a daily quota used up)
    request_error: bool = False  # the caller's request was wrong (404, 400): the provider is fine

    def __str__(self) -> str:
        return f"{self.category.value}: {self.detail}"


def safe_code(value: object) -> str | None:
    """A provider error code fit to quote: short, with no spaces or unusual characters."""
    text = str(value) if isinstance(value, (str, int)) and not isinstance(value, bool) else ""
    return text if _SAFE_CODE.match(text) else None


def error_code(body: Any) -> str | None:
    """The provider's error code from the usual places in an error body, if any."""
    if isinstance(body, list) and body:
        return error_code(body[0])
    if not isinstance(body, dict):
        return None
    for key in ("error", "code", "errorCode", "category", "reason"):
        value = body.get(key)
        if isinstance(value, dict):
            nested = safe_code(value.get("code")) or safe_code(value.get("type"))
            if nested:
                return nested
        elif (code := safe_code(value)) is not None:
            return code
    summary = body.get("error_summary")
    if isinstance(summary, str):
        return safe_code(summary.split("/", 1)[0])
    return None


def transport_failure(exc: BaseException) -> CallFailed:
    """Name what went wrong below HTTP. Exception text is deliberately not used."""
    if isinstance(exc, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)):
        return CallFailed(Category.timeout, "no answer before the timeout")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return CallFailed(Category.dns, "the host name did not resolve")
    if isinstance(exc, (aiohttp.ClientSSLError, ssl.SSLError)):
        return CallFailed(Category.tls, "the TLS handshake failed")
    if isinstance(exc, aiohttp.ClientConnectorError):
        return CallFailed(Category.connect, "the connection was refused")
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return CallFailed(Category.connect, "the connection was closed mid-answer")
    if isinstance(exc, aiohttp.InvalidURL):
        return CallFailed(Category.not_configured, "the URL is not valid")
    return CallFailed(Category.connect, f"the connection failed ({type(exc).__name__})")


def status_failure(reply: Reply) -> CallFailed | None:
    """The failure an HTTP status means on its own, or None for 2xx."""
    if 200 <= reply.status < 300:
        return None
    code = _code_of(reply)
    retry_after = parse_retry_after(reply.headers.get("Retry-After"))
    if retry_after is None and reply.status in (403, 429):
        retry_after = reset_wait(reply)
    suffix = f" ({code})" if code else ""
    if reply.status == 401:
        category = Category.credentials_rejected
    elif reply.status == 429 or (reply.status == 403 and _signals_rate_limit(reply, code)):
        category = Category.rate_limited
    elif reply.status == 403:
        category = Category.permission_denied
    elif reply.status >= 500:
        category = Category.server_error
    else:
        category = Category.bad_response
    return CallFailed(
        category, f"HTTP {reply.status}{suffix}", reply.status, retry_after=retry_after, code=code
    )


def _code_of(reply: Reply) -> str | None:
    try:
        return error_code(json.loads(reply.body))
    except ValueError:
        return None


def _signals_rate_limit(reply: Reply, code: str | None) -> bool:
    """GitHub and Google answer 403 for some rate limits; tell those from missing permission."""
    remaining = reply.headers.get("X-RateLimit-Remaining")
    return (
        remaining == "0"
        or "Retry-After" in reply.headers
        or (code or "").lower() in {"ratelimitexceeded", "userratelimitexceeded"}
        or b"RateLimitExceeded" in reply.body[:2048]
    )


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a ``Retry-After`` header: delta-seconds, an HTTP date, or (as Zoom's docs
    show) an ISO 8601 time; None if unusable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    when = parse_moment(value, "http_date") or parse_moment(value, "iso8601")
    return None if when is None else max(0.0, (when - datetime.now(UTC)).total_seconds())


def parse_moment(value: object, form: MomentForm = "auto") -> datetime | None:
    """A point in time from a header or body value in one of the forms providers use.

    ``auto`` reads a number as epoch milliseconds (>= 1e12), epoch seconds (>= 1e9) or
    seconds from now (smaller), and text as ISO 8601 or an HTTP date.
    """
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    if not text or len(text) > 64:
        return None
    try:
        number = float(text)
    except ValueError:
        number = None
    now = datetime.now(UTC)
    if number is not None:
        if form == "auto":
            form = (
                "epoch_ms"
                if number >= 1e12
                else "epoch_seconds"
                if number >= 1e9
                else "delta_seconds"
            )
        try:
            if form == "epoch_seconds":
                return datetime.fromtimestamp(number, UTC)
            if form == "epoch_ms":
                return datetime.fromtimestamp(number / 1000, UTC)
            if form == "delta_seconds":
                return now + timedelta(seconds=max(0.0, number))
        except (OverflowError, OSError, ValueError):
            return None
        return None
    if form in ("iso8601", "auto"):
        iso = text.replace(" UTC", "+00:00").replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            moment = None
        if moment is not None:
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    if form in ("http_date", "auto"):
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def reset_wait(reply: Reply) -> float | None:
    """Seconds until a spent quota resets, from the common ``X-RateLimit-Reset`` header
    (epoch seconds or milliseconds, seconds from now, or ISO 8601), when nothing remains."""
    value = reply.headers.get("X-RateLimit-Reset")
    if value is None or reply.headers.get("X-RateLimit-Remaining", "0").strip() != "0":
        return None
    when = parse_moment(value)
    return None if when is None else max(0.0, (when - datetime.now(UTC)).total_seconds())
