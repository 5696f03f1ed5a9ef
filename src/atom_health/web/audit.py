"""The audit trail: one JSON line per API request on its own logger, admin actions stored.

A line holds the time, the key's name (or ``anonymous``), its role, the client address,
method, path (never the query string), status and duration; never a key or any secret.
State-changing requests (admin actions) are also written to the store and listed by
``GET /api/audit``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool

from atom_health.model.audit import AuditEntry, AuditRecord, AuditReport
from atom_health.model.results import utc_now
from atom_health.store.base import Store

AUDIT_LOGGER = "atom_health.audit"
AUDIT_TAG = "audit"

log = logging.getLogger(__name__)


class AuditTrail:
    """Writes each request's line and stores admin actions.

    Lines go to the :data:`AUDIT_LOGGER` logger, one record each, unless
    :meth:`write_lines_to` names a writer (``serve`` and ``system`` give theirs: stderr, in
    batches, without a log record per request).
    """

    def __init__(self, store: Store, *, log_lines: bool) -> None:
        self.store = store
        self.logger = logging.getLogger(AUDIT_LOGGER)
        self._write: Callable[[str], None] | None = self._log if log_lines else None
        self._writes: set[asyncio.Task[None]] = set()

    @property
    def writes_lines(self) -> bool:
        """Whether a line is written per request (``security.audit_log``)."""
        return self._write is not None

    def write_lines_to(self, write: Callable[[str], None]) -> None:
        """Hand each line to ``write`` instead of the logger."""
        self._write = write

    def record(self, entry: AuditRecord, *, admin_action: bool) -> None:
        if self._write is not None:
            self._write(audit_line(entry))
        if admin_action:
            task = asyncio.create_task(self._store(entry))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    def _log(self, line: str) -> None:
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(line)

    async def _store(self, entry: AuditRecord) -> None:
        try:
            await run_in_threadpool(self.store.add_audit, entry)
        except Exception as exc:  # the audit trail must never break a request
            log.error("could not store an audit record: %s", type(exc).__name__)

    async def flush(self) -> None:
        """Wait for admin actions still being written (before the store closes)."""
        await asyncio.gather(*self._writes, return_exceptions=True)


def audit_line(entry: AuditRecord) -> str:
    """The entry as one line of JSON, in a few string operations (one per API request):
    the time to the microsecond in ISO 8601, every string escaped as JSON."""
    at, key, role, client, method, path, status, duration_ms = entry
    return (
        f'{{"time":"{_second(int(at))}.{int(at % 1 * 1_000_000):06d}+00:00",'
        f"{_who_and_what(key, role, client, method, path)},"
        f'"status":{int(status)},"duration_ms":{float(duration_ms)!r}}}'
    )


@functools.lru_cache(maxsize=4)
def _second(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%dT%H:%M:%S")


@functools.lru_cache(maxsize=1024)  # clients repeat the same few requests
def _who_and_what(key: str, role: str | None, client: str, method: str, path: str) -> str:
    return (
        f'"key":{_string(key)},"role":{"null" if role is None else _string(role)},'
        f'"client":{_string(client)},"method":{_string(method)},"path":{_string(path)}'
    )


def _string(text: str) -> str:
    """A JSON string: printable ASCII without quotes or backslashes is written as it is."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return f'"{text}"'
    return json.dumps(text)


async def audit(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> AuditReport:
    """Admin actions (state-changing requests), newest first. Needs the admin role."""
    trail: AuditTrail = request.app.state.access.audit
    records = await run_in_threadpool(trail.store.audit, limit=limit, offset=offset)
    return AuditReport(
        timestamp=utc_now(),
        entries=[
            AuditEntry(
                time=datetime.fromtimestamp(r.at, UTC),
                key=r.key,
                role=r.role,
                client=r.client,
                method=r.method,
                path=r.path,
                status=r.status,
                duration_ms=r.duration_ms,
            )
            for r in records
        ],
    )


def add_audit_routes(router: APIRouter | FastAPI) -> None:
    router.add_api_route("/api/audit", audit, response_model=AuditReport, tags=[AUDIT_TAG])
