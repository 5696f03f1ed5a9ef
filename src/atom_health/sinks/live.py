"""Live updates: every fresh result, fanned out to each open event stream (server-sent events).

Each stream has a bounded queue; a client too slow to keep up loses its oldest events
rather than holding memory, and the page reloads its data when it reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncGenerator

from atom_health.model.results import LiveEvent, ServiceHealth, ServiceRow
from atom_health.monitor import HealthMonitor, summary_of

KEEPALIVE_SECONDS = 15.0
QUEUE_SIZE = 256


class LiveUpdates:
    def __init__(self, monitor: HealthMonitor) -> None:
        self.monitor = monitor
        self._queues: set[asyncio.Queue[tuple[str, str]]] = set()

    @property
    def listeners(self) -> int:
        return len(self._queues)

    def publish(self, result: ServiceHealth) -> None:
        """Monitor subscriber: send the result and the new summary to every stream."""
        if not self._queues:
            return
        latest = list(self.monitor.latest_results().values())
        event = LiveEvent(row=ServiceRow.of(result), summary=summary_of(latest))
        self._send("result", event.model_dump_json())

    def announce(self, what: str) -> None:
        """Tell every stream that the managed state changed (``event: changed``, data
        ``{"what": "integrations"}`` or ``"maintenance"``): the page reloads its data."""
        self._send("changed", json.dumps({"what": what}))

    def _send(self, event: str, data: str) -> None:
        for queue in self._queues:
            if queue.full():
                with contextlib.suppress(asyncio.QueueEmpty):
                    queue.get_nowait()
            queue.put_nowait((event, data))

    async def stream(self) -> AsyncGenerator[str, None]:
        """The text/event-stream body for one client, until it disconnects."""
        queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield "retry: 2000\n\n"  # how soon the browser reconnects
            while True:
                try:
                    event, data = await asyncio.wait_for(queue.get(), KEEPALIVE_SECONDS)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                yield f"event: {event}\ndata: {data}\n\n"
        finally:
            self._queues.discard(queue)
