"""Keep secrets out of the HTTP libraries' logs, at every level.

httpx, httpcore, urllib3, aiohttp and Apprise log request URLs (a Slack or Teams webhook
URL is itself a secret), request lines and headers when the host application turns their
loggers up. :func:`install` puts a :class:`RedactingFilter` on each of their loggers: URL
paths and queries, user info, and credential values in headers are replaced before any
handler sees the record.
"""

from __future__ import annotations

import logging
import re

# The libraries' loggers: a filter on a logger applies to records created on that logger
# only, not to its children, so each child is named.
HTTP_LIBRARY_LOGGERS = (
    "httpx", "httpcore", "httpcore.connection", "httpcore.http11", "httpcore.http2",
    "httpcore.proxy", "httpcore.socks", "urllib3", "urllib3.connectionpool",
    "urllib3.connection", "urllib3.poolmanager", "urllib3.response", "urllib3.util.retry",
    "aiohttp", "aiohttp.client", "aiohttp.internal", "aiohttp.server", "aiohttp.access",
    "aiohttp.web", "aiohttp.websocket", "apprise", "requests",
)  # fmt: skip
_PREFIXES = tuple(sorted({name.split(".")[0] for name in HTTP_LIBRARY_LOGGERS}))
REDACTED = "[redacted]"

_RULES = [
    # scheme://user:password@host/path?query -> scheme://host/[redacted]
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(?:[^@/\s'\"<>]*@)?([^/\s'\"<>?#]+)[^\s'\"<>]*"),
     r"\1\2/" + REDACTED),
    # a request line: "POST /services/T0/B0/secret HTTP/1.1"
    (re.compile(r"\b(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) /[^\s'\"]* (HTTP/\d(?:\.\d)?)"),
     r"\1 /" + REDACTED + r" \2"),
    # header pairs as httpcore logs them: (b'Authorization', b'Bearer x')
    (re.compile(r"(?i)(b?['\"](?:authorization|proxy-authorization|cookie|set-cookie|x-api-key"
                r"|x-auth-token|api-key)['\"],\s*b?)(['\"])[^'\"]*\2"),
     r"\1\2" + REDACTED + r"\2"),
    # Authorization: Bearer x / Basic x / token x
    (re.compile(r"(?i)\b(bearer|basic|token)\s+[A-Za-z0-9._~+/=-]{6,}"), r"\1 " + REDACTED),
]  # fmt: skip


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message with :func:`redact`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep its template only
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Exception text can quote a URL; keep the type, never the text.
            record.msg += f" ({type(record.exc_info[1]).__name__})"
            record.exc_info = None
            record.exc_text = None
        return True


_FILTER = RedactingFilter()


def install() -> None:
    """Put the filter on every HTTP library logger, known now or already created."""
    existing = [
        name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in _PREFIXES
    ]
    for name in {*HTTP_LIBRARY_LOGGERS, *existing}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
