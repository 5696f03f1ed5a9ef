"""Alerts you can trust, proven the hard way: ``atom-health system`` runs as a subprocess on
SQLite and on PostgreSQL, integrations go down and recover through the simulator's fault
switch, the process is killed with SIGKILL (from outside, or by itself at a chosen point
between a state change and its delivery), and a real webhook receiver and a real SMTP server
count what arrived."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from atom_health.alerting.crash import CRASH_ENV_VAR, POINTS
from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.serving import free_port
from atom_health.simulator import Simulator
from tests.conftest import wait_for
from tests.receivers import Mailbox, Receiver

WATCHED = ("zoom", "notion", "trello", "hubspot", "slack")  # zoom and slack are critical
SEED = 20261130
RUNS = 20


class RunningSystem:
    """``atom-health system`` in a subprocess, restartable on the same database."""

    def __init__(self, config: Path, database_url: str, environ: dict[str, str], log: Path):
        self.config, self.database_url, self.environ, self.log = config, database_url, environ, log
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self, crash_at: str | None = None) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {**self.environ, CRASH_ENV_VAR: crash_at or ""}
        command = [sys.executable, "-m", "atom_health", "system", "--port", str(port),
                   "--config", str(self.config), "--database-url", self.database_url]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log)

    def ready(self) -> bool:
        try:
            return httpx.get(self.url + "/api/alerts?limit=1", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def wait_ready(self) -> None:
        wait_for(lambda: self.ready() or not self.alive(), timeout=60)
        assert self.alive(), f"atom-health system exited early:\n{self.log.read_text()[-3000:]}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)

    def wait_killed_itself(self, timeout: float = 60) -> None:
        assert self.process is not None
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f"it did not crash:\n{self.log.read_text()[-3000:]}")
        assert code == -signal.SIGKILL, f"exit {code}:\n{self.log.read_text()[-3000:]}"

    def stop(self) -> None:
        if self.alive():
            assert self.process is not None
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()

    def get(self, path: str) -> dict[str, Any]:
        body: dict[str, Any] = httpx.get(self.url + path, timeout=10).json()
        return body

    def checked_since(self, moment: float, *services: str) -> bool:
        """Each of these integrations has a stored result from after ``moment``."""
        for service in services:
            try:
                page = self.get(f"/api/integrations/{service}/history?limit=1")
            except httpx.HTTPError:
                return False
            items = page.get("items") or []
            if not items or _epoch(items[0]["checked_at"]) <= moment:
                return False
        return True

    def settle(self, since: float) -> bool:
        """Wait until two checks ran after ``since`` (so whatever the restored state
        re-derived has been written), or the process died; whether it is alive."""
        for moment in (since, None):
            after = time.time() if moment is None else moment
            wait_for(lambda: not self.alive() or self.checked_since(after, "zoom"), timeout=60)  # noqa: B023
        return self.alive()


def _epoch(text: str) -> float:
    from datetime import datetime

    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'atom-health.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def running(
    tmp_path: Path,
    database_url: str,
    receiver: Receiver,
    mailbox: Mailbox,
    simulator: Simulator,
) -> Iterator[RunningSystem]:
    everything = [i.id for i in build_catalog(Settings(), {})]
    config = {
        "cache_ttl_seconds": 0,
        "refresh_min_interval_seconds": 0,  # a check every scheduler interval
        "scheduler": {"interval_seconds": 0.25, "initial_spread_seconds": 0},
        "probes": {"attempt_timeout_seconds": 2, "deadline_seconds": 4, "max_retries": 0,
                   "breaker_threshold": 1000, "vendor_status": False},
        "integrations": {name: {"enabled": False} for name in everything if name not in WATCHED},
        "alerting": {
            "failure_threshold": 1, "success_threshold": 1, "group_threshold": 3,
            "delivery_backoff_max_seconds": 0.5, "vendor_incidents": False,
            "flapping": {"max_changes": 1000},  # the test flips zoom on purpose, many times
            "notifiers": [
                {"type": "webhook", "url": receiver.server.url + "/webhook"},
                {"type": "email", "host": "127.0.0.1", "port": mailbox.port, "starttls": False,
                 "sender": "atom-health@example.com", "recipients": ["oncall@example.com"]},
            ],
        },
    }  # fmt: skip
    path = tmp_path / "atom-health.yaml"
    path.write_text(json.dumps(config))  # JSON is YAML
    environ = {**os.environ, **simulator.environment(), "ATOM_HEALTH_DEBUG": "1"}
    environ.pop("ATOM_HEALTH_DATABASE_URL", None)
    system = RunningSystem(path, database_url, environ, tmp_path / "system.log")
    yield system
    system.stop()


def actions_by_key(receiver: Receiver) -> dict[str, list[str]]:
    """Per alert key, the actions the webhook received, in order, one per idempotency key."""
    seen: set[str] = set()
    found: dict[str, list[str]] = defaultdict(list)
    for body in receiver.bodies():
        if body["idempotency_key"] not in seen:
            seen.add(body["idempotency_key"])
            found[body["alert"]["key"]].append(body["action"])
    return found


def raw_actions(receiver: Receiver) -> Counter[tuple[str, str]]:
    return Counter((b["alert"]["key"], b["action"]) for b in receiver.bodies())


def test_kill_9_while_down_and_after_recovery_notifies_exactly_once(
    running: RunningSystem, receiver: Receiver, mailbox: Mailbox, simulator: Simulator
) -> None:
    simulator.set_fault("zoom", "reject")
    simulator.set_fault("notion", "reject")
    running.start()
    running.wait_ready()
    wait_for(lambda: raw_actions(receiver)[("down:zoom", "opened")] == 1
             and raw_actions(receiver)[("down:notion", "opened")] == 1 and len(mailbox.messages) == 2,
             timeout=30)  # fmt: skip

    # the outbox knows both were delivered (a kill before that may send again, same key)
    wait_for(lambda: running.get("/api/alerts/notifications?state=pending")["total"] == 0)
    running.kill()  # still down: a restart must not open again
    restarted = time.time()
    running.start()
    running.wait_ready()
    wait_for(lambda: running.checked_since(restarted + 0.5, "zoom", "notion"), timeout=30)
    assert raw_actions(receiver)[("down:zoom", "opened")] == 1
    assert raw_actions(receiver)[("down:notion", "opened")] == 1
    assert running.get("/api/alerts?state=open")["total"] == 2

    running.kill()  # it recovers while we are down: exactly one "resolved" after restart
    simulator.set_fault("zoom", None)
    simulator.set_fault("notion", None)
    restarted = time.time()
    running.start()
    running.wait_ready()
    wait_for(lambda: raw_actions(receiver)[("down:zoom", "resolved")] >= 1
             and raw_actions(receiver)[("down:notion", "resolved")] >= 1, timeout=30)  # fmt: skip
    assert running.settle(time.time())

    assert raw_actions(receiver) == Counter({
        ("down:zoom", "opened"): 1, ("down:notion", "opened"): 1,
        ("down:zoom", "resolved"): 1, ("down:notion", "resolved"): 1,
    })  # fmt: skip
    # Email is at least once too: a repeat after a kill carries the same Message-ID.
    wait_for(lambda: len({m["Message-ID"] for m in mailbox.messages}) == 4)
    subjects = {m["Message-ID"]: str(m["Subject"]) for m in mailbox.messages}.values()
    resolved = sum("resolved: Zoom is unhealthy" in s for s in subjects)
    assert (sum("Zoom is unhealthy" in s for s in subjects) - resolved, resolved) == (1, 1)
    assert running.get("/api/alerts?state=open")["total"] == 0


def test_kill_9_at_random_points_between_state_change_and_delivery_loses_nothing(
    running: RunningSystem, receiver: Receiver, simulator: Simulator
) -> None:
    rng = random.Random(SEED)
    down, flips = False, 0
    points = Counter[str]()
    for _ in range(RUNS):
        point = rng.choice(POINTS)
        started = time.time()
        running.start(crash_at=f"{point}:1")
        # It may die first, on what the last one left (re-derived, or still to be sent).
        if running.settle(started):
            down, flips = not down, flips + 1
            simulator.set_fault("zoom", "reject" if down else None)
        running.wait_killed_itself()
        points[point] += 1

    running.start()  # no crash this time: everything written must arrive
    running.wait_ready()

    def settled() -> bool:
        outbox = running.get("/api/alerts/notifications?limit=1000")
        keys = {b["idempotency_key"] for b in receiver.bodies()}
        webhook = [n for n in outbox["notifications"] if n["notifier"] == "webhook"]
        return all(n["state"] == "delivered" and n["idempotency_key"] in keys for n in webhook)

    running.settle(time.time())
    wait_for(settled, timeout=60)

    bodies = receiver.bodies()
    by_key: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for body in bodies:
        by_key[body["idempotency_key"]].add((body["alert"]["id"], body["action"]))
    assert all(len(events) == 1 for events in by_key.values())  # a repeat: the same key
    per_event = Counter(next(iter(events)) for events in by_key.values())
    assert max(per_event.values()) == 1  # one event, one key, however often it was sent
    sequence = actions_by_key(receiver)["down:zoom"]
    assert sequence == ["opened", "resolved"] * (len(sequence) // 2) + (
        ["opened"] if down else []
    ), sequence
    assert len(sequence) == flips, (sequence, points)  # every change, exactly once
    assert flips >= RUNS // 4  # the rest died first on what the run before left
    assert set(points) == set(POINTS)


def test_a_critical_integration_alerts_at_once_during_a_group_alert_and_the_group_updates(
    running: RunningSystem, receiver: Receiver, simulator: Simulator
) -> None:
    running.start()
    running.wait_ready()
    for name in ("notion", "trello", "hubspot"):
        simulator.set_fault(name, "reject")
    wait_for(lambda: ("group", "opened") in raw_actions(receiver), timeout=30)

    simulator.set_fault("zoom", "reject")  # critical: never held back by the group
    wait_for(lambda: ("down:zoom", "opened") in raw_actions(receiver), timeout=30)
    wait_for(lambda: ("group", "updated") in raw_actions(receiver), timeout=30)
    joined = [
        b for b in receiver.bodies() if (b["alert"]["key"], b["action"]) == ("group", "updated")
    ]
    assert joined[0]["alert"]["services"] == ["hubspot", "notion", "trello", "zoom"]
    assert "joined: zoom" in joined[0]["alert"]["message"]

    simulator.set_fault("notion", None)
    wait_for(lambda: any("left: notion" in b["alert"]["message"] for b in receiver.bodies()
                         if b["alert"]["key"] == "group"), timeout=90)  # fmt: skip
    simulator.set_fault("trello", None)
    simulator.set_fault("zoom", None)
    wait_for(lambda: ("group", "resolved") in raw_actions(receiver), timeout=30)
    assert actions_by_key(receiver)["group"][0] == "opened"
    assert actions_by_key(receiver)["group"].count("opened") == 1
    assert actions_by_key(receiver)["down:zoom"][:1] == ["opened"]
    assert actions_by_key(receiver)["down:zoom"].count("opened") == 1


def test_a_notifier_down_then_back_gets_everything_in_order_across_a_kill(
    running: RunningSystem, receiver: Receiver, simulator: Simulator
) -> None:
    receiver.mode = "down"
    running.start()
    running.wait_ready()
    for fault in ("reject", None, "reject"):
        simulator.set_fault("zoom", fault)
        simulator.set_fault("notion", fault)
        running.settle(time.time())
    pending = "/api/alerts/notifications?state=pending&limit=1000"
    wait_for(lambda: running.get(pending)["total"] == 6, timeout=30)  # 2 alerts x 3 events
    running.kill()

    running.start()
    running.wait_ready()
    receiver.mode = "up"
    wait_for(lambda: len(actions_by_key(receiver)["down:notion"]) == 3
             and len(actions_by_key(receiver)["down:zoom"]) == 3, timeout=60)  # fmt: skip
    for key in ("down:zoom", "down:notion"):
        unique = dict.fromkeys(  # one per idempotency key, in arrival order
            (b["idempotency_key"], b["alert"]["id"], b["action"])
            for b in receiver.bodies()
            if b["alert"]["key"] == key
        )
        ordered = [(alert_id, action) for _, alert_id, action in unique]
        first, second = sorted({alert_id for alert_id, _ in ordered})
        assert ordered == [(first, "opened"), (first, "resolved"), (second, "opened")], ordered
