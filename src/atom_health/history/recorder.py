"""The recorder: every fresh check result into the store, in batches, off the event loop.

It subscribes to the monitor; a background thread writes results, keeps incidents up
to date (with the same :class:`IncidentTracker` the analytics use) and stores
configuration events. A database that fails is retried; nothing queued is dropped.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence

from atom_health.history.analytics import IncidentTracker
from atom_health.model.history import CheckRecord, ConfigEvent, Incident
from atom_health.model.results import ServiceHealth
from atom_health.services.retry import Backoff
from atom_health.store.base import Store

log = logging.getLogger(__name__)
WRITE_BACKOFF = Backoff(base=0.5, cap=30.0)  # a database that fails is retried at this pace

_Item = CheckRecord | ConfigEvent | threading.Event


class Recorder:
    def __init__(self, store: Store, flush_interval: float = 0.5, batch_size: int = 2000) -> None:
        self.store = store
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()  # set by flush and stop only: recording never wakes it
        self._tracker: IncidentTracker | None = None
        self.written = 0
        self.failures = 0

    def start(self) -> None:
        if self._thread is None:
            self._tracker = IncidentTracker(
                self.store.incidents(None, 0, float("inf"), open_only=True)
            )
            self._thread = threading.Thread(
                target=self._run, name="atom-health-recorder", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Write everything still queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._wake.set()
            self._thread.join(timeout)
            self._thread = None

    def record(self, result: ServiceHealth) -> None:
        """Monitor subscriber: queue one result (cheap; safe from the event loop)."""
        self._queue.put(CheckRecord.of(result))

    def record_config_events(self, events: Sequence[ConfigEvent]) -> None:
        for event in events:
            self._queue.put(event)

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything queued before this call is written."""
        if self._thread is None:
            return True
        done = threading.Event()
        self._queue.put(done)
        self._wake.set()
        return done.wait(timeout)

    def _run(self) -> None:
        """Every ``flush_interval`` (or at once on flush or stop), write what has queued up:
        one transaction per batch. Recording a result only enqueues it; it never wakes this
        thread, so a busy engine pays no thread switch per result."""
        stopping = False
        while not stopping:
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            batch: list[_Item] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._write(batch)
                    batch = []
            self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        records = [i for i in batch if isinstance(i, CheckRecord)]
        events = [i for i in batch if isinstance(i, ConfigEvent)]
        assert self._tracker is not None
        changed: dict[int, Incident] = {}
        for record in sorted(records, key=lambda r: r.checked_at):
            incident = self._tracker.observe(record)
            if incident is not None:
                changed[id(incident)] = incident
        failures = 0
        while records or events or changed:
            try:
                self.store.add_results(records)
                self.store.save_incidents(list(changed.values()))
                self.store.add_config_events(events)
            except Exception as exc:  # keep the batch and try again: nothing is dropped
                self.failures += 1
                delay = WRITE_BACKOFF.delay(failures)
                failures += 1
                log.error(
                    "writing history failed (%s); retrying in %.1f s", type(exc).__name__, delay
                )
                time.sleep(delay)
                continue
            self.written += len(records)
            break
        for item in batch:
            if isinstance(item, threading.Event):
                item.set()
