"""Replicas cooperating through a real redis-server and PostgreSQL: three ``atom-health
system`` processes on their own ports, the simulator counting every provider call.

Intervals are short (1 s) and three integrations are checked, so the whole module runs in
well under a minute; the assertions allow one extra check at a handover, never a fleet
that checks everything three times.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from atom_health.alerting.manager import MAINTENANCE_READ_SECONDS
from atom_health.catalog import build_catalog
from atom_health.config import Settings, load_settings
from atom_health.serving import free_port
from atom_health.simulator import Simulator
from tests.conftest import FAST_PROBES, wait_for
from tests.system_services import RedisServer, redis_server

pytest.importorskip("redis")

CHECKED = ("github", "linear", "hubspot")  # one provider call per check each
INTERVAL = 1.0
LEASE = 0.8


@dataclass
class Replica:
    process: subprocess.Popen[str]
    url: str
    output: list[str] = field(default_factory=list)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=5)

    def metric(self, name: str) -> float | None:
        for line in self.get("/metrics").text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None


class Webhook:
    """A webhook receiver on loopback that keeps every alert it is sent."""

    def __init__(self) -> None:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from atom_health.serving import ThreadedServer

        self.alerts: list[dict[str, Any]] = []

        async def record(request: Request) -> JSONResponse:
            self.alerts.append(json.loads(await request.body()))
            return JSONResponse({"ok": True})

        self.server = ThreadedServer(Starlette(routes=[Route("/", record, methods=["POST"])]))

    def actions(self, key: str) -> list[str]:
        return [a["action"] for a in self.alerts if a["alert"]["key"] == key]


def fleet_config(tmp_path: Path, webhook: str | None = None) -> Path:
    config = tmp_path / "atom.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "cache_ttl_seconds": 0.5,
                "refresh_min_interval_seconds": 0,
                "scheduler": {"interval_seconds": INTERVAL, "initial_spread_seconds": 0.5},
                "probes": {"vendor_status": False, "deadline_seconds": 2.0},
                "cluster": {
                    "lease_seconds": LEASE,
                    "claim_idle_seconds": 3.0,
                    "retry_seconds": 0.2,
                    "operation_timeout_seconds": 0.5,
                },
                "alerting": {
                    "enabled": webhook is not None,
                    "notifiers": [{"type": "webhook", "url": webhook}] if webhook else [],
                },
                "integrations": {
                    i.id: {"enabled": False}
                    for i in build_catalog(Settings(), {})
                    if i.id not in CHECKED
                },
            }
        )
    )
    return config


@contextmanager
def replicas(count: int, config: Path, env: dict[str, str]) -> Iterator[list[Replica]]:
    """``count`` ``atom-health system`` processes, started together, each on its own port."""
    with ExitStack() as stack:
        started = []
        for _ in range(count):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-m", "atom_health", "system", "--config", str(config),
                 "--port", str(port)],
                env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
            stack.callback(_kill, process)
            started.append(Replica(process, f"http://127.0.0.1:{port}"))
        for replica in started:
            _read_until_ready(replica)
        yield started


def _kill(process: subprocess.Popen[str]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _read_until_ready(replica: Replica) -> None:
    stdout = replica.process.stdout
    assert stdout is not None
    deadline = time.monotonic() + 60
    while not any("Dashboard:" in line for line in replica.output):
        line = stdout.readline()
        assert line or replica.process.poll() is None, "".join(replica.output)
        replica.output.append(line)
        assert time.monotonic() < deadline, "".join(replica.output)
    # keep draining, so a chatty replica never blocks on a full pipe
    threading.Thread(target=lambda: replica.output.extend(stdout), daemon=True).start()


def calls(simulator: Simulator) -> dict[str, int]:
    state = httpx.get(f"{simulator.url}/_admin/state").json()["providers"]
    return {name: state[name]["api_requests"] for name in CHECKED}


def lease_holder(redis_url: str) -> int:
    """The process id of the replica holding the scheduler lease."""
    import redis

    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        token = client.get("atom-health:scheduler:lease")
    assert isinstance(token, str), "no replica holds the scheduler lease"
    return int(token.split(":")[0].rsplit("-", 2)[1])


@pytest.fixture
def fleet_env(simulator: Simulator, postgres_url: str, redis: RedisServer) -> dict[str, str]:
    return {
        **os.environ,
        **simulator.environment(),
        "ATOM_HEALTH_DATABASE_URL": postgres_url,
        "ATOM_HEALTH_REDIS_URL": redis.url,
    }


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def test_three_replicas_check_each_integration_once_share_results_live_and_survive_a_kill(
    tmp_path: Path, simulator: Simulator, fleet_env: dict[str, str], redis: RedisServer
) -> None:
    webhook = Webhook()
    with (
        webhook.server,
        replicas(3, fleet_config(tmp_path, webhook.server.url), fleet_env) as fleet,
    ):
        wait_for(lambda: all(r.metric("atom_health_redis_connected") == 1 for r in fleet))
        time.sleep(2 * INTERVAL)  # past the start-up round every replica runs
        before = calls(simulator)
        time.sleep(10 * INTERVAL)
        after = calls(simulator)
        for name in CHECKED:  # alone, three replicas would make ~30 calls each
            assert 9 <= after[name] - before[name] <= 11, (name, before, after)
        holders = [r.metric("atom_health_scheduler_lease_held") for r in fleet]
        assert holders.count(1.0) == 1, holders

        # live everywhere: a result checked on A is on B's event stream within a second
        a, b = fleet[0], fleet[1]
        seen = stream_rows(b, "linear")
        simulator.set_fault("linear", "reject")
        result = a.get("/api/linear/health?refresh=true").json()
        answered = time.monotonic()
        assert result["status"] == "unhealthy"
        wait_for(lambda: any(_same_time(result["timestamp"], key) for key in seen), timeout=5)
        arrived = next(at for key, at in seen.items() if _same_time(result["timestamp"], key))
        assert arrived - answered < 1.0
        assert b.get("/api/linear/health").json()["status"] == "unhealthy"  # adopted by B

        # alerts once: every replica saw linear fail, one replica alerted, once each way
        wait_for(lambda: webhook.actions("down:linear") == ["opened"])
        simulator.set_fault("linear", None)
        wait_for(lambda: "resolved" in webhook.actions("down:linear"))
        time.sleep(2 * INTERVAL)  # any second sender would have sent by now
        assert webhook.actions("down:linear") == ["opened", "resolved"]

        # the lease holder is killed: another replica takes the role within two intervals
        victim = lease_holder(redis.url)
        assert victim in {r.process.pid for r in fleet}
        os.kill(victim, signal.SIGKILL)
        killed_at, at_kill = time.monotonic(), calls(simulator)
        wait_for(  # two intervals after the lease ran out, and slack for a busy machine
            lambda: all(n >= at_kill[k] + 2 for k, n in calls(simulator).items()),
            timeout=2 * INTERVAL + 2 * LEASE + 3,
        )
        assert time.monotonic() - killed_at < 2 * INTERVAL + 2 * LEASE + 3
        survivors = [r for r in fleet if r.process.pid != victim]
        wait_for(lambda: lease_holder(redis.url) in {r.process.pid for r in survivors})

        # acknowledged and silenced through a replica that does not write the alerts: the
        # writer learns both from the database (no reminders; its sends are muted)
        simulator.set_fault("linear", "reject")
        wait_for(lambda: webhook.actions("down:linear") == ["opened", "resolved", "opened"], 30)
        writer = lease_holder(redis.url)
        other = next(r for r in survivors if r.process.pid != writer)
        opened = other.get("/api/alerts?state=open").json()["alerts"][0]
        ack = {"author": "alice", "comment": "on it"}
        acked = httpx.post(f"{other.url}/api/alerts/{opened['id']}/acknowledge", json=ack)
        assert acked.status_code == 200, acked.text
        silence = {"integrations": ["hubspot"], "duration": "1h", "created_by": "alice",
                   "comment": "vendor maintenance"}  # fmt: skip
        assert httpx.post(f"{other.url}/api/alerts/silences", json=silence).status_code == 201
        time.sleep(MAINTENANCE_READ_SECONDS + 1)  # the writer reads shared state this often
        simulator.set_fault("hubspot", "reject")
        silenced = "/api/alerts/notifications?state=silenced"
        wait_for(lambda: other.get(silenced).json()["total"] >= 1, timeout=30)
        assert webhook.actions("down:hubspot") == []
        simulator.set_fault("hubspot", None)
        simulator.set_fault("linear", None)


def stream_rows(replica: Replica, service: str) -> dict[str, float]:
    """Follow the replica's event stream: ``checked_at`` of each row of ``service`` -> when it
    arrived (filled in by a background thread until the replica stops)."""
    seen: dict[str, float] = {}
    streaming = threading.Event()

    def listen() -> None:
        try:
            with httpx.stream("GET", replica.url + "/api/events", timeout=30) as response:
                for line in response.iter_lines():
                    streaming.set()
                    if line.startswith("data:"):
                        row = json.loads(line[5:])["row"]
                        if row["service"] == service:
                            seen.setdefault(row["checked_at"], time.monotonic())
        except httpx.HTTPError:
            return  # the replica stopped

    threading.Thread(target=listen, daemon=True).start()
    assert streaming.wait(10)
    return seen


def _same_time(a: str, b: str) -> bool:
    from datetime import datetime

    return datetime.fromisoformat(a) == datetime.fromisoformat(b)


def test_redis_going_away_is_not_an_outage_and_cooperation_resumes(
    tmp_path: Path, simulator: Simulator, fleet_env: dict[str, str], redis: RedisServer
) -> None:
    with replicas(3, fleet_config(tmp_path), fleet_env) as fleet:
        wait_for(lambda: all(r.metric("atom_health_redis_connected") == 1 for r in fleet))
        redis.stop()
        wait_for(lambda: all(r.metric("atom_health_redis_connected") == 0 for r in fleet))
        alone = calls(simulator)
        for replica in fleet:  # every replica answers, from its own checks
            answer = replica.get("/api/github/health")
            assert answer.status_code == 200
            assert answer.json()["status"] == "healthy"
        wait_for(lambda: all(n >= alone[k] + 6 for k, n in calls(simulator).items()))

        redis.start()  # same port, empty: the schedule and the group are made again
        wait_for(lambda: all(r.metric("atom_health_redis_connected") == 1 for r in fleet))
        time.sleep(2 * INTERVAL)
        before = calls(simulator)
        time.sleep(5 * INTERVAL)
        after = calls(simulator)
        for name in CHECKED:  # cooperating again: ~5 calls each, not ~15
            assert 4 <= after[name] - before[name] <= 7, (name, before, after)
        assert [r.metric("atom_health_scheduler_lease_held") for r in fleet].count(1.0) == 1


async def test_an_unreachable_redis_never_stops_a_replica_nor_shows_its_password(
    caplog: pytest.LogCaptureFixture, sim_credentials: dict[str, str], sim_urls: dict[str, str]
) -> None:
    from atom_health.store import MemoryStore
    from atom_health.system import HealthSystem

    password = "redis-pass-7f3a9c"
    environ = {
        **sim_urls,
        **sim_credentials,
        "ATOM_HEALTH_REDIS_URL": f"redis://:{password}@127.0.0.1:{free_port()}/0",
    }
    settings = load_settings(None, environ).model_copy(update={"probes": FAST_PROBES})
    system = HealthSystem(settings, environ, store=MemoryStore(), scheduler=False)
    caplog.set_level("DEBUG")
    await system.start()
    try:
        assert system.fleet is not None
        assert system.fleet.state().redis == "unreachable"
        assert (await system.monitor.check("github")).status.value == "healthy"
        scraped = system.metrics.render(system.monitor.live_prober, None).decode()
        assert "atom_health_integration_up" in scraped
    finally:
        await system.stop()
    assert password not in caplog.text


def test_a_bad_redis_url_is_a_clear_error_without_the_url() -> None:
    from atom_health.config import ConfigError
    from atom_health.store import MemoryStore
    from atom_health.system import HealthSystem

    settings = Settings(redis_url="http://user:hunter22@example.invalid/")
    with pytest.raises(ConfigError) as raised:
        HealthSystem(settings, {}, store=MemoryStore(), scheduler=False)
    assert "redis_url" in str(raised.value)
    assert "hunter22" not in str(raised.value)


def test_the_compose_file_runs_three_replicas_on_one_redis_and_one_postgresql() -> None:
    compose = yaml.safe_load(
        (Path(__file__).parent.parent / "deploy" / "compose.replicas.yaml").read_text()
    )
    services = compose["services"]
    replicas_ = [s for name, s in services.items() if name.startswith("replica")]
    assert len(replicas_) == 3
    assert {"redis", "postgres"} <= set(services)
    for replica in replicas_:
        env = replica["environment"]
        assert env["ATOM_HEALTH_REDIS_URL"].startswith("redis://redis:")
        assert "@postgres:" in env["ATOM_HEALTH_DATABASE_URL"]


async def test_one_flight_and_one_cache_for_the_fleet(
    redis: RedisServer, simulator: Simulator, sim_credentials: dict[str, str],
    sim_urls: dict[str, str],
) -> None:  # fmt: skip
    import asyncio

    from atom_health.store import MemoryStore
    from atom_health.system import HealthSystem

    environ = {**sim_urls, **sim_credentials, "ATOM_HEALTH_REDIS_URL": redis.url}
    settings = load_settings(None, environ).model_copy(
        update={"probes": FAST_PROBES.model_copy(update={"vendor_status": False})}
    )
    a, b = (HealthSystem(settings, environ, store=MemoryStore(), scheduler=False) for _ in "ab")
    for system in (a, b):
        await system.start()
    try:
        simulator.set_latency(300)  # a check long enough for the other replica to join it
        before = simulator.state("github")["api_requests"]
        first, second = await asyncio.gather(
            a.monitor.check("github", refresh=True), b.monitor.check("github", refresh=True)
        )
        assert simulator.state("github")["api_requests"] == before + 1
        assert first.timestamp == second.timestamp

        simulator.set_latency(0)
        before = simulator.state("linear")["api_requests"]
        checked = await a.monitor.check("linear")
        cached = await b.monitor.check("linear")  # from the fleet's cache: no provider call
        assert cached.cached
        assert cached.timestamp == checked.timestamp
        assert simulator.state("linear")["api_requests"] == before + 1
    finally:
        for system in (a, b):
            await system.stop()


async def test_consumers_of_stopped_replicas_are_forgotten_once_idle_and_empty(
    redis: RedisServer,
) -> None:
    import asyncio

    from atom_health.cluster import RedisLink, SharedWork
    from atom_health.config import ClusterSettings

    link = RedisLink(redis.url, ClusterSettings())
    await link.start()
    try:
        work = SharedWork(link, "me", {"github": 60.0}, initial_spread=0, concurrency=1)
        await work._create_group()
        for consumer in ("gone", "holding"):  # each takes one check; only "gone" finished it
            await link.client.xadd(work.stream_key, {"integration": "github"})
            taken = await link.client.xreadgroup(
                "checkers", consumer, {work.stream_key: ">"}, count=1
            )
            if consumer == "gone":
                await link.client.xack(work.stream_key, "checkers", taken[0][1][0][0])
        work.claim_idle_ms = 20  # forget after 200 ms of silence
        await asyncio.sleep(0.3)
        await work._forget_gone_consumers()
        left = await link.client.xinfo_consumers(work.stream_key, "checkers")
        assert [c["name"] for c in left] == ["holding"]  # its check is still to be claimed
    finally:
        await link.stop()


async def test_a_provider_request_budget_holds_for_the_whole_fleet(
    redis: RedisServer, simulator: Simulator, sim_credentials: dict[str, str],
    sim_urls: dict[str, str],
) -> None:  # fmt: skip
    from atom_health.store import MemoryStore
    from atom_health.system import HealthSystem

    environ = {**sim_urls, **sim_credentials}
    settings = Settings.model_validate(
        {
            "redis_url": redis.url,
            "probes": FAST_PROBES.model_copy(update={"vendor_status": False}).model_dump(),
            "integrations": {"linear": {"rate_limit": {"requests": 2, "per_seconds": 60}}},
        }
    )
    a, b = (HealthSystem(settings, environ, store=MemoryStore(), scheduler=False) for _ in "ab")
    for system in (a, b):
        await system.start()
    try:
        before = simulator.state("linear")["api_requests"]
        # Scheduled checks: requests could not spend the budget (the refresh window holds them).
        results = [await system.monitor.check("linear", scheduled=True) for system in (a, b, a, b)]
        assert simulator.state("linear")["api_requests"] == before + 2  # not 2 per replica
        assert [r.status.value for r in results[:2]] == ["healthy", "healthy"]
        assert all("budget" in r.message for r in results[2:])
    finally:
        for system in (a, b):
            await system.stop()


async def test_checks_a_stopped_replica_had_taken_are_claimed_and_run_once_by_another(
    redis: RedisServer,
) -> None:
    import asyncio

    from atom_health.cluster import RedisLink, SharedWork
    from atom_health.config import ClusterSettings

    link = RedisLink(redis.url, ClusterSettings())
    await link.start()
    try:
        work = SharedWork(link, "alive", {"github": 60.0, "zoom": 60.0}, initial_spread=0,
                          concurrency=10)  # fmt: skip
        await work._create_group()
        soon = time.time() + 60
        for name, due in (("github", soon), ("zoom", time.time() - 61)):  # zoom: stale
            await link.client.xadd(work.stream_key, {"integration": name, "next": due})
        await link.client.xreadgroup("checkers", "dead", {work.stream_key: ">"}, count=2)
        work.claim_idle_ms = 50
        await asyncio.sleep(0.1)
        claimed = await work._claim(10)
        assert [fields["integration"] for _, fields in claimed] == ["github", "zoom"]
        ran: list[str] = []

        async def run(name: str) -> None:
            ran.append(name)

        for entry_id, fields in claimed:
            await work._work(run, entry_id, fields)
        assert ran == ["github"]  # zoom's next check was already handed out: not twice
        pending = await link.client.xpending(work.stream_key, "checkers")
        assert pending["pending"] == 0
    finally:
        await link.stop()


async def test_alerts_not_sent_while_no_replica_was_in_charge_are_sent_by_the_next_one() -> None:
    from atom_health.alerting.manager import AlertManager
    from atom_health.catalog import build_catalog
    from atom_health.config import AlertingSettings
    from atom_health.model.alerts import Alert, AlertEvent
    from atom_health.store import MemoryStore

    catalog = build_catalog(Settings(), {})
    manager = AlertManager(AlertingSettings(), catalog, MemoryStore(), {}, notifiers=[])
    in_charge = False
    manager.in_charge = lambda: in_charge
    manager.hold_seconds = 20

    def event(service: str, at: float) -> AlertEvent:
        alert = Alert(f"down:{service}", "down", [service], "warning", "own", service, "", at)
        return AlertEvent(alert, "opened", at)

    manager.submit([event("zoom", time.time() - 60), event("slack", time.time())])
    assert manager._queue.empty()  # another replica sends (or the lease is changing hands)
    in_charge = True
    manager.submit([])
    batches = [manager._queue.get_nowait() for _ in range(manager._queue.qsize())]
    queued = [event.alert.key for batch in batches for event in batch or []]
    assert queued == ["down:slack"]  # zoom's was older than the hold: its sender had it


async def test_a_replica_leaves_notifications_for_notifiers_it_lacks_to_the_replicas_that_have_them() -> (
    None
):
    """During a rolling deploy that adds a notifier, an older replica must not drop (as "no
    longer configured") what a newer one would send; alone, it drops them."""
    from atom_health.alerting.manager import AlertManager
    from atom_health.catalog import build_catalog
    from atom_health.config import AlertingSettings
    from atom_health.model.alerts import Alert, AlertChange, AlertEvent, Notification
    from atom_health.store import MemoryStore

    for shares_outbox, expected in ((True, "pending"), (False, "dropped")):
        store = MemoryStore()
        at = time.time()
        alert = Alert("down:zoom", "down", ["zoom"], "critical", "own", "zoom", "", at)  # type: ignore[arg-type]
        event = AlertEvent(alert, "opened", at, idempotency_key="k")
        outbox = [Notification(0, "pagerduty", "opened", "k", "", at, at)]
        store.commit_alert_change(AlertChange([(event, outbox)]), 100)
        manager = AlertManager(AlertingSettings(), build_catalog(Settings(), {}), store, {},
                               notifiers=[])  # fmt: skip
        manager.shares_outbox = shares_outbox
        await manager._dispatch_due()
        if manager._inflight:
            await asyncio.gather(*manager._inflight.values())
        (row,), _ = store.notifications()
        assert row.state == expected, shares_outbox
