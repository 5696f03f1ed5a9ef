"""Alert delivery: rules in, notifications out through a persistent outbox, never in the way.

Results reach the rules through a monitor subscription (cheap: the rules are pure). What the
rules change goes on a queue; one worker writes each batch in one transaction: the alerts,
the rules' memory and a notification per notifier (the outbox). A dispatcher then claims
(replicas share the outbox) and delivers the outbox at least once, oldest first per alert
key and notifier, retrying with
:class:`~atom_health.services.retry.Backoff` until the receiver takes it. A crash anywhere
loses nothing: the state restored at start is the state whose notifications were written.
Every notification carries an idempotency key, the same on every retry, so receivers can
drop repeats. A maintenance window or a silence mutes sending; the alert and the muting are
still stored. Maintenance windows added at run time are kept in the store: restored at start
(one-off windows already over are deleted), and read again every
``MAINTENANCE_READ_SECONDS``, so replicas sharing a database apply each other's windows;
silences and acknowledgements are read again as often, so the replica writing the alerts
mutes and stops reminding by those made through any replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from atom_health.alerting.crash import crash_point
from atom_health.alerting.notifiers import DeliveryError, Notifier, build_notifiers
from atom_health.alerting.rules import AlertEngine, window_over
from atom_health.catalog import Catalog
from atom_health.config.alerting import AlertingSettings, MaintenanceWindow
from atom_health.model.alerts import (
    Alert,
    AlertChange,
    AlertEvent,
    Delivery,
    Notification,
    Silence,
)
from atom_health.model.history import ConfigEvent
from atom_health.model.results import ServiceHealth
from atom_health.services.retry import Backoff
from atom_health.store.base import Store

log = logging.getLogger(__name__)
TICK_SECONDS = 1.0  # reminders, settled flapping, group updates
SEND_TIMEOUT_SECONDS = 30.0
IDLE_POLL_SECONDS = 5.0  # the dispatcher looks at the outbox at least this often
DISPATCH_BATCH = 1000
STOP_GRACE_SECONDS = 3.0
STATE_FLUSH_SECONDS = 1.0
# A replica claims a notification while it sends it; a claim outlives the longest send, so a
# claim still held after that is a dead replica's, and another replica sends it (same key).
CLAIM_SECONDS = SEND_TIMEOUT_SECONDS + 15.0
MAINTENANCE_READ_SECONDS = 5.0  # a window added on one replica applies on the others this soon
RUNTIME_WINDOW = "runtime-"  # + the stored id: the id of a window added at run time


class AlertNotOpenError(Exception):
    """Only an open alert can be acknowledged."""


class AlertManager:
    def __init__(
        self,
        settings: AlertingSettings,
        catalog: Catalog,
        store: Store,
        environ: Mapping[str, str] = os.environ,
        notifiers: list[Notifier] | None = None,
        on_dropped: Callable[[str, int], None] | None = None,
    ) -> None:
        self.settings = settings
        self.engine = AlertEngine(settings, {i.id: i.criticality for i in catalog})
        self.notifiers = (
            notifiers if notifiers is not None else build_notifiers(settings.notifiers, environ)
        )
        self._by_name = {n.name: n for n in self.notifiers}
        self.store = store
        self.on_dropped = on_dropped
        self.backoff = Backoff(base=0.5, cap=settings.delivery_backoff_max_seconds)
        self.silences: list[Silence] = []
        self._queue: asyncio.Queue[list[AlertEvent] | None] = asyncio.Queue()
        self._ids: dict[tuple[str, float], int] = {}  # alerts written, until they resolve
        self._wake = asyncio.Event()
        self._inflight: dict[int, asyncio.Task[None]] = {}
        self._done_since_read: set[int] = set()
        self._loops: list[asyncio.Task[None]] = []
        self._flush_due = False
        # In a fleet every replica's rules see every result, but one replica writes what
        # they changed: the scheduler lease holder, or each replica alone while Redis is
        # away (system.py wires it; the store then refuses a change already written, see
        # Store.commit_alert_change). The others hold what the rules changed for
        # ``hold_seconds``: a replica that takes charge writes what changed while no replica
        # was (the lease changing hands).
        self.in_charge: Callable[[], bool] = lambda: True
        self.hold_seconds = 0.0
        self._held: deque[AlertEvent] = deque()
        # Every replica delivers from the shared outbox; a claim in the database makes one
        # send each notification. Alone, a claim left at start is a killed predecessor's.
        self.owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.shares_outbox = False
        # Silences, acknowledgements and maintenance windows written here: a read of what
        # other replicas wrote that began before such a write is stale.
        self._shared_writes = 0
        self.on_maintenance_change: Callable[[], None] | None = None  # another replica's

    # -- inputs (called in the event loop) ---------------------------------------------------

    def on_result(self, result: ServiceHealth) -> None:
        self.submit(self.engine.observe(result, time.time()))

    def on_config_events(self, events: list[ConfigEvent]) -> None:
        self.submit(self.engine.observe_config(events, time.time()))

    def tick(self, now: float | None = None) -> None:
        """Reminders and settled flapping, as of ``now``."""
        self.submit(self.engine.tick(time.time() if now is None else now))

    def submit(self, events: Iterable[AlertEvent]) -> None:
        """Queue what the rules just changed: events at once (with the rules' memory); a
        change of memory alone (a counter) is written within ``STATE_FLUSH_SECONDS``, so
        a result that changes no alert costs no transaction of its own."""
        found = list(events)
        if not self.in_charge():  # the rules learnt; the replica in charge writes and sends
            self.engine.take_changed_state()
            self._held.extend(found)
            while self._held and self._held[0].at < time.time() - self.hold_seconds:
                self._held.popleft()
            return
        if self._held:
            found = [*self._held, *found]
            self._held.clear()
        if found:
            self._queue.put_nowait(found)
        elif not self._flush_due:
            self._flush_due = True
            try:
                asyncio.get_running_loop().call_later(STATE_FLUSH_SECONDS, self._flush)
            except RuntimeError:  # called outside the event loop: write with the next batch
                self._flush()

    def _flush(self) -> None:
        self._flush_due = False
        self._queue.put_nowait([])

    # -- acknowledgements and silences (called in the event loop) -------------------------------

    async def acknowledge(self, alert_id: int, by: str, comment: str) -> Alert:
        """Acknowledge an open alert: no reminders until it resolves. In a fleet the alert
        may have been written by another replica: the store knows it by id."""
        live = next((a for a in self.engine.open.values() if a.id == alert_id), None)
        if live is None:
            stored = await asyncio.to_thread(self.store.alert, alert_id)
            if stored is None or stored.resolved_at is not None:
                raise AlertNotOpenError(alert_id)
            live = self.engine.open.get(stored.key)
            if live is None or live.id not in (None, alert_id):  # not the alert asked about
                live = stored
            live.id = alert_id
        live.acknowledged_at, live.acknowledged_by, live.ack_comment = time.time(), by, comment
        self._shared_writes += 1
        await asyncio.to_thread(
            self.store.acknowledge_alert, alert_id, live.acknowledged_at, by, comment
        )
        return live.snapshot()

    async def add_silence(self, silence: Silence) -> Silence:
        self._shared_writes += 1
        await asyncio.to_thread(self.store.save_silence, silence)
        self.silences.insert(0, silence)
        return silence

    async def expire_silence(self, silence_id: int) -> Silence | None:
        """End a silence now (as Alertmanager expires one); None if there is no such silence."""
        found = next((s for s in self.silences if s.id == silence_id), None)
        if found is None:
            return None
        self._shared_writes += 1
        found.ends_at = min(found.ends_at, time.time())
        found.starts_at = min(found.starts_at, found.ends_at)
        await asyncio.to_thread(self.store.save_silence, found)
        return found

    async def read_shared(self) -> None:
        """Take the maintenance windows, silences and acknowledgements other replicas stored
        (a replica writing alerts mutes and stops reminders by them too)."""
        await self.read_maintenance()
        writes = self._shared_writes
        silences = await asyncio.to_thread(self.store.silences)
        acked, _ = await asyncio.to_thread(
            lambda: self.store.alerts(state="acknowledged", limit=10_000)
        )
        if writes != self._shared_writes:  # changed here meanwhile: the next read
            return
        self.silences = silences
        by_id = {a.id: a for a in acked}
        for live in self.engine.open.values():
            stored = by_id.get(live.id) if live.id is not None else None
            if stored is not None and live.acknowledged_at is None:
                live.acknowledged_at = stored.acknowledged_at
                live.acknowledged_by, live.ack_comment = stored.acknowledged_by, stored.ack_comment

    def muted_by(self, event: AlertEvent) -> str | None:
        if event.silenced_by is not None:
            return event.silenced_by
        for silence in self.silences:
            if silence.active(event.at) and silence.matches(event.alert.services):
                return f"silence #{silence.id} by {silence.created_by}"
        return None

    # -- maintenance windows added at run time (called in the event loop) ----------------------

    async def add_maintenance(self, window: MaintenanceWindow) -> str:
        """Keep a window in the store and apply it now; returns its id."""
        kept = MaintenanceWindow.model_validate_json(window.model_dump_json())  # as read back
        window_id = await asyncio.to_thread(self.store.add_maintenance, kept, time.time())
        self._shared_writes += 1
        key = f"{RUNTIME_WINDOW}{window_id}"
        self.engine.runtime_maintenance[key] = kept
        return key

    async def remove_maintenance(self, key: str) -> bool:
        """Delete a window added at run time; False when there is none by that id."""
        number = key.removeprefix(RUNTIME_WINDOW)
        if not key.startswith(RUNTIME_WINDOW) or not number.isdigit():
            return False
        deleted = await asyncio.to_thread(self.store.delete_maintenance, int(number))
        self._shared_writes += 1
        applied = self.engine.runtime_maintenance.pop(key, None) is not None
        return deleted or applied

    async def read_maintenance(self, *, prune: bool = False) -> None:
        """Apply the stored windows (other replicas add and delete them too); ``prune``
        deletes one-off windows already over."""
        writes = self._shared_writes
        stored = await asyncio.to_thread(self.store.maintenance_windows)
        if prune:
            now = time.time()
            for window_id in [i for i, w in stored.items() if window_over(w, now)]:
                await asyncio.to_thread(self.store.delete_maintenance, window_id)
                del stored[window_id]
        if writes != self._shared_writes:  # changed here meanwhile: the next read
            return
        windows = {f"{RUNTIME_WINDOW}{i}": w for i, w in stored.items()}
        if windows != self.engine.runtime_maintenance:
            self.engine.runtime_maintenance = windows
            if self.on_maintenance_change is not None:
                self.on_maintenance_change()

    # -- lifecycle -------------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore the state a previous process left, then run."""
        store = self.store
        open_alerts, _ = await asyncio.to_thread(
            lambda: store.alerts(state="open", limit=1_000_000)
        )
        states = await asyncio.to_thread(store.rule_states)
        self.silences = await asyncio.to_thread(store.silences)
        await self.read_maintenance(prune=True)
        self.engine.restore(open_alerts, states)
        if not self.shares_outbox:
            await asyncio.to_thread(store.release_claims)
        self._loops = [
            asyncio.create_task(self._commit_forever(), name="atom-health-alert-commits"),
            asyncio.create_task(self._dispatch_forever(), name="atom-health-alert-outbox"),
            asyncio.create_task(self._tick_forever(), name="atom-health-alert-ticks"),
        ]

    async def stop(self) -> None:
        """Write what the rules changed; give deliveries in flight a moment; stop."""
        committer, dispatcher, ticker = self._loops or (None, None, None)
        if ticker is not None:
            ticker.cancel()
        if committer is not None:
            self._queue.put_nowait(None)
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(committer, STOP_GRACE_SECONDS)
        if dispatcher is not None:
            dispatcher.cancel()
        if self._inflight:
            await asyncio.wait(list(self._inflight.values()), timeout=STOP_GRACE_SECONDS)
        tasks = [*self._loops, *self._inflight.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _tick_forever(self) -> None:
        read_at = time.monotonic()
        while True:
            await asyncio.sleep(TICK_SECONDS)
            if time.monotonic() - read_at >= MAINTENANCE_READ_SECONDS:
                read_at = time.monotonic()
                try:
                    await self.read_shared()
                except Exception as exc:  # keep what it has; read again later
                    log.error("reading shared alert state failed: %s", type(exc).__name__)
            self.tick()

    # -- state and outbox, in one transaction ----------------------------------------------------

    async def _commit_forever(self) -> None:
        while True:
            batch = await self._queue.get()
            stopping = batch is None
            events = list(batch or [])
            while not self._queue.empty():  # everything queued so far, in one transaction
                more = self._queue.get_nowait()
                stopping = stopping or more is None
                events += more or []
            try:
                await self._commit(events)
            except Exception as exc:  # a failed write must not stop alerting
                log.error("writing alert state failed: %s", type(exc).__name__)
            if stopping:
                return

    async def _commit(self, events: list[AlertEvent]) -> None:
        states = self.engine.take_changed_state()
        if not events and not states:
            return
        now = time.time()
        change = AlertChange(rule_states=states)
        for event in events:
            alert = event.alert
            alert.id = alert.id or self._ids.get((alert.key, alert.opened_at))
            muted = self.muted_by(event)
            event = replace(event, silenced_by=muted, idempotency_key=uuid.uuid4().hex)
            notifications = [
                Notification(0, notifier.name, event.action, event.idempotency_key, "", now, now,
                             state="silenced" if muted else "pending", last_error=muted)
                for notifier in self.notifiers
                if alert.route in notifier.routes
            ]  # fmt: skip
            change.events.append((event, notifications))
        if events:
            crash_point("alert-changed")
        dropped = await asyncio.to_thread(
            self.store.commit_alert_change, change, self.settings.outbox_limit
        )
        for event, _ in change.events:
            self._remember_id(event)
        if events:
            crash_point("alert-committed")
        for notifier, count in dropped.items():
            log.warning("alert outbox full: dropped %d notification(s) for %s", count, notifier)
            if self.on_dropped is not None:
                self.on_dropped(notifier, count)
        self._wake.set()

    def _remember_id(self, event: AlertEvent) -> None:
        alert = event.alert
        assert alert.id is not None
        identity = (alert.key, alert.opened_at)
        if alert.resolved_at is not None:
            self._ids.pop(identity, None)
        else:
            self._ids[identity] = alert.id
        live = self.engine.open.get(alert.key)
        if live is not None and live.opened_at == alert.opened_at:
            live.id = alert.id

    # -- delivery --------------------------------------------------------------------------------

    async def _dispatch_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                wait = await self._dispatch_due()
            except Exception as exc:  # a database hiccup: try again shortly
                log.error("reading the alert outbox failed: %s", type(exc).__name__)
                wait = IDLE_POLL_SECONDS
            with contextlib.suppress(TimeoutError):  # asyncio.timeout never swallows a cancel
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _dispatch_due(self) -> float:
        """Claim and start the due head of each (alert, notifier) line; seconds until the
        next is due."""
        self._done_since_read.clear()
        pending = await asyncio.to_thread(self.store.pending_notifications, DISPATCH_BATCH)
        heads: dict[tuple[str, str], Notification] = {}
        for notification in pending:  # oldest first: in order per alert key and notifier
            heads.setdefault((notification.event().alert.key, notification.notifier), notification)
        now = time.time()
        next_due = now + IDLE_POLL_SECONDS
        due: dict[int, Notification] = {}
        for notification in heads.values():
            assert notification.id is not None
            if notification.id in self._inflight or notification.id in self._done_since_read:
                continue  # in flight, or attempted after this read: its row here is stale
            if self.shares_outbox and notification.notifier not in self._by_name:
                continue  # a replica configured with that notifier sends it (a rolling deploy)
            claimed_elsewhere = notification.claimed_by not in (None, self.owner)
            if claimed_elsewhere and (notification.claimed_until or 0) >= now:
                next_due = min(next_due, notification.claimed_until or now)
            elif notification.next_attempt_at <= now:
                due[notification.id] = notification
            else:
                next_due = min(next_due, notification.next_attempt_at)
        claimed = await asyncio.to_thread(
            self.store.claim_notifications, list(due), self.owner, now, now + CLAIM_SECONDS
        )
        for notification_id in claimed:
            if notification_id in self._inflight:
                continue
            task = asyncio.create_task(self._attempt(due[notification_id]))
            self._inflight[notification_id] = task
            task.add_done_callback(functools.partial(self._finished, notification_id))
        return max(0.01, next_due - now)

    def _finished(self, notification_id: int, _: asyncio.Task[None]) -> None:
        self._inflight.pop(notification_id, None)
        self._done_since_read.add(notification_id)
        self._wake.set()

    async def _attempt(self, notification: Notification) -> None:
        notifier = self._by_name.get(notification.notifier)
        error = (
            "this notifier is no longer configured"
            if notifier is None
            else await self._send(notifier, notification.event())
        )
        if error is None:
            crash_point("notification-sent")
        now = time.time()
        notification.attempts += 1
        notification.last_error = error
        notification.claimed_by = notification.claimed_until = None
        if error is None:
            notification.state, notification.delivered_at = "delivered", now
        elif notifier is None:
            notification.state = "dropped"
        else:
            log.warning("alert delivery by %s failed (attempt %d): %s",
                        notification.notifier, notification.attempts, error)  # fmt: skip
            notification.next_attempt_at = now + self.backoff.delay(notification.attempts - 1)
        assert notification.id is not None
        attempt = Delivery(
            notification.id, notification.alert_id, notification.notifier, notification.action,
            notification.attempts, now, error is None, error,
        )  # fmt: skip
        try:
            await asyncio.to_thread(self.store.record_attempt, notification, attempt)
        except Exception as exc:  # it stays pending, and is sent again: at least once
            log.error("recording an alert delivery failed: %s", type(exc).__name__)

    async def _send(self, notifier: Notifier, event: AlertEvent) -> str | None:
        """None when the receiver took it; otherwise why not (safe to store)."""
        try:
            await asyncio.wait_for(
                notifier.send(event, self.settings.dashboard_url), SEND_TIMEOUT_SECONDS
            )
        except DeliveryError as exc:
            return str(exc)
        except TimeoutError:
            return f"no answer in {SEND_TIMEOUT_SECONDS:.0f} s"
        except Exception as exc:  # a notifier's bug must not stop the outbox
            return f"{notifier.name} failed ({type(exc).__name__})"
        return None
