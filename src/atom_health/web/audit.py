"""The audit trail: one JSON line per API request on its own logger, admin actions stored.

A line holds the time, the key's name (or ``anonymous``), its role, the client address,
method, path (never the query string), status and duration; never a key or any secret.
State-changing requests (admin actions) are also written to the store and listed by
``GET /api/audit``.
"""

from __future__ import annotations

import asyncio
import json
import logging
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
    def __init__(self, store: Store, *, log_lines: bool) -> None:
        self.store = store
        self.logger = logging.getLogger(AUDIT_LOGGER)
        self.log_lines = log_lines
        self._writes: set[asyncio.Task[None]] = set()

    def record(self, entry: AuditRecord, *, admin_action: bool) -> None:
        if self.log_lines and self.logger.isEnabledFor(logging.INFO):
            self.logger.info(audit_line(entry))
        if admin_action:
            task = asyncio.create_task(self._store(entry))
            self._writes.add(task)
            task.add_done_callback(self._writes.discard)

    async def _store(self, entry: AuditRecord) -> None:
        try:
            await run_in_threadpool(self.store.add_audit, entry)
        except Exception as exc:  # the audit trail must never break a request
            log.error("could not store an audit record: %s", type(exc).__name__)

    async def flush(self) -> None:
        """Wait for admin actions still being written (before the store closes)."""
        await asyncio.gather(*self._writes, return_exceptions=True)


def audit_line(entry: AuditRecord) -> str:
    return json.dumps(
        {
            "time": datetime.fromtimestamp(entry.at, UTC).isoformat(),
            "key": entry.key,
            "role": entry.role,
            "client": entry.client,
            "method": entry.method,
            "path": entry.path,
            "status": entry.status,
            "duration_ms": entry.duration_ms,
        },
        separators=(",", ":"),
    )


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
