"""Alert delivery: rules in, notifications out, every attempt recorded, never in the way.

Results reach the rules through a monitor subscription (cheap: the rules are pure). Alert
events go on a queue; a worker stores each alert and starts one delivery task per notifier
on the alert's route, retried with backoff. A receiver that is down or slow delays only its
own delivery, never a check. A maintenance window silences delivery; the alert and the
silencing are still stored.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping

from atom_health.alerting.notifiers import DeliveryError, Notifier, build_notifiers
from atom_health.alerting.rules import AlertEngine
from atom_health.catalog import Catalog
from atom_health.config.alerting import AlertingSettings
from atom_health.model.alerts import AlertEvent, Delivery
from atom_health.model.history import ConfigEvent
from atom_health.model.results import ServiceHealth
from atom_health.store.base import Store

log = logging.getLogger(__name__)
TICK_SECONDS = 10.0
SEND_TIMEOUT_SECONDS = 30.0


class AlertManager:
    def __init__(
        self,
        settings: AlertingSettings,
        catalog: Catalog,
        store: Store,
        environ: Mapping[str, str] = os.environ,
        notifiers: list[Notifier] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = AlertEngine(settings, {i.id: i.criticality for i in catalog})
        self.notifiers = (
            notifiers if notifiers is not None else build_notifiers(settings.notifiers, environ)
        )
        self.store = store
        self._queue: asyncio.Queue[AlertEvent] = asyncio.Queue()
        self._ids: dict[tuple[str, float], int] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._worker: asyncio.Task[None] | None = None
        self._ticker: asyncio.Task[None] | None = None
        # In a fleet every replica's rules see every result, but one replica alerts: the
        # scheduler lease holder, or each replica alone while Redis is away (system.py).
        # The others hold what they did not send for ``hold_seconds``: a replica that takes
        # charge sends what changed while no replica was (the lease changing hands).
        self.in_charge: Callable[[], bool] = lambda: True
        self.hold_seconds = 0.0
        self._held: deque[AlertEvent] = deque()

    # -- inputs (called in the event loop) ---------------------------------------------------

    def on_result(self, result: ServiceHealth) -> None:
        self.submit(self.engine.observe(result, time.time()))

    def on_config_events(self, events: list[ConfigEvent]) -> None:
        self.submit(self.engine.observe_config(events, time.time()))

    def tick(self, now: float | None = None) -> None:
        """Reminders and settled flapping, as of ``now``."""
        self.submit(self.engine.tick(time.time() if now is None else now))

    def submit(self, events: Iterable[AlertEvent]) -> None:
        if not self.in_charge():  # the rules learnt; another replica sends
            self._held.extend(events)
            while self._held and self._held[0].at < time.time() - self.hold_seconds:
                self._held.popleft()
            return
        while self._held:
            self._queue.put_nowait(self._held.popleft())
        for event in events:
            self._queue.put_nowait(event)

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        self._worker = asyncio.create_task(self._work(), name="atom-health-alerts")
        self._ticker = asyncio.create_task(self._tick_forever(), name="atom-health-alert-ticks")

    async def stop(self) -> None:
        for task in (self._worker, self._ticker, *self._tasks):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._worker, self._ticker, *self._tasks) if t is not None),
            return_exceptions=True,
        )

    async def _tick_forever(self) -> None:
        while True:
            await asyncio.sleep(TICK_SECONDS)
            self.tick()

    async def _work(self) -> None:
        while True:
            event = await self._queue.get()
            try:
                await self._handle(event)
            except Exception as exc:  # one bad event must not stop alerting
                log.error("alert handling failed: %s", type(exc).__name__)

    async def _handle(self, event: AlertEvent) -> None:
        alert = event.alert
        identity = (alert.key, alert.opened_at)
        alert.id = self._ids.get(identity)
        await asyncio.to_thread(self.store.save_alert, alert)
        assert alert.id is not None
        self._ids[identity] = alert.id
        if event.silenced_by is not None:
            note = f"silenced by maintenance window {event.silenced_by!r}"
            silenced = Delivery(alert.id, "maintenance", event.action, 0, event.at, False, note)
            await asyncio.to_thread(self.store.add_delivery, silenced)
            return
        for notifier in self.notifiers:
            if alert.route in notifier.routes:
                task = asyncio.create_task(self._deliver(notifier, event, alert.id))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _deliver(self, notifier: Notifier, event: AlertEvent, alert_id: int) -> None:
        pause = 0.5
        for attempt in range(1, self.settings.delivery_attempts + 1):
            error: str | None = None
            try:
                await asyncio.wait_for(
                    notifier.send(event, self.settings.dashboard_url), SEND_TIMEOUT_SECONDS
                )
            except DeliveryError as exc:
                error = str(exc)
            except TimeoutError:
                error = f"no answer in {SEND_TIMEOUT_SECONDS:.0f} s"
            record = Delivery(
                alert_id, notifier.name, event.action, attempt, time.time(), error is None, error
            )
            await asyncio.to_thread(self.store.add_delivery, record)
            if error is None:
                return
            log.warning(
                "alert delivery by %s failed (attempt %d): %s", notifier.name, attempt, error
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, self.settings.delivery_backoff_max_seconds)
