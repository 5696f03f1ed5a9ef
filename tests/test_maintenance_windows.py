"""Maintenance windows added at run time are kept in the store: on every backend, across a
``kill -9`` of a real ``atom-health system`` (SQLite and PostgreSQL), and between replicas
sharing one database."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from atom_health.config.alerting import MaintenanceWindow
from atom_health.simulator import Simulator
from atom_health.store import Store
from atom_health.store.sql import SqlStore
from tests.conftest import wait_for
from tests.receivers import Mailbox, Receiver
from tests.test_alert_restarts import (  # noqa: F401 - fixtures: database_url, running
    RunningSystem,
    database_url,
    raw_actions,
    running,
)
from tests.test_store import backend  # noqa: F401 - the fixture: memory, sqlite, postgresql

T = 1_800_000_000.0
BERLIN_UPGRADE = MaintenanceWindow(
    name="db upgrade",
    services=["zoom"],
    start=datetime(2027, 1, 10, 2, 0),  # no offset: in the window's time zone
    end=datetime(2027, 1, 10, 4, 30),
    timezone="Europe/Berlin",
)
NIGHTLY = MaintenanceWindow(
    name="nightly",
    weekdays=["mon", "thu"],
    start_time=time(23, 0),
    end_time=time(1, 15),  # past midnight
    timezone="America/New_York",
)


# -- the store, on every backend -----------------------------------------------------------------


def test_windows_are_kept_as_given_oldest_first(backend: Store) -> None:  # noqa: F811
    first = backend.add_maintenance(BERLIN_UPGRADE, T)
    second = backend.add_maintenance(NIGHTLY, T + 1)

    assert second > first
    assert backend.maintenance_windows() == {first: BERLIN_UPGRADE, second: NIGHTLY}
    assert list(backend.maintenance_windows()) == [first, second]
    read = backend.maintenance_windows()[first]
    assert (read.timezone, read.start, read.start.tzinfo if read.start else 0) == (
        "Europe/Berlin",
        datetime(2027, 1, 10, 2, 0),
        None,
    )
    if isinstance(backend, SqlStore):  # another process opening the same database
        again = SqlStore(backend.url)
        try:
            assert again.maintenance_windows() == {first: BERLIN_UPGRADE, second: NIGHTLY}
        finally:
            again.close()


def test_a_deleted_window_is_gone_and_its_id_never_names_another(backend: Store) -> None:  # noqa: F811
    first = backend.add_maintenance(BERLIN_UPGRADE, T)
    last = backend.add_maintenance(NIGHTLY, T)

    assert backend.delete_maintenance(last) is True
    assert backend.delete_maintenance(last) is False
    assert backend.delete_maintenance(last + 1000) is False
    assert backend.maintenance_windows() == {first: BERLIN_UPGRADE}
    added = backend.add_maintenance(NIGHTLY, T)
    assert added > last  # a client deleting the old id again never deletes this one
    assert backend.delete_maintenance(first) is True
    assert backend.maintenance_windows() == {added: NIGHTLY}


# -- a real system, killed and restarted -----------------------------------------------------------


def runtime_windows(system: RunningSystem) -> list[dict[str, Any]]:
    listed = system.get("/api/manage/maintenance")["windows"]
    return [w for w in listed if w["source"] == "runtime"]


def add(system: RunningSystem, window: dict[str, Any]) -> str:
    added = httpx.post(system.url + "/api/manage/maintenance", json=window, timeout=10)
    assert added.status_code == 200, added.text
    key: str = added.json()["id"]
    return key


def test_windows_survive_kill_9_and_still_mute_alerts_deleted_ones_stay_deleted(
    running: RunningSystem,  # noqa: F811
    receiver: Receiver,
    mailbox: Mailbox,
    simulator: Simulator,
) -> None:
    running.start()
    running.wait_ready()
    berlin = datetime.now(ZoneInfo("Europe/Berlin")).replace(tzinfo=None, microsecond=0)
    upgrade = add(running, {"name": "zoom upgrade", "services": ["zoom"],
                            "start": (berlin - timedelta(hours=1)).isoformat(),
                            "end": (berlin + timedelta(hours=1)).isoformat(),
                            "timezone": "Europe/Berlin"})  # fmt: skip
    weekly = add(running, {"name": "nightly", "services": ["trello"], "weekdays": ["tue", "sat"],
                           "start_time": "23:30", "end_time": "01:00",
                           "timezone": "America/New_York"})  # fmt: skip
    deleted = add(running, {"name": "cancelled", "start": "2020-01-01T00:00:00Z",
                            "end": "2100-01-01T00:00:00Z"})  # fmt: skip
    now = datetime.now(UTC)
    over = add(running, {"name": "over", "start": (now - timedelta(hours=2)).isoformat(),
                         "end": (now - timedelta(hours=1)).isoformat()})  # fmt: skip
    assert httpx.delete(f"{running.url}/api/manage/maintenance/{deleted}").status_code == 204
    before = runtime_windows(running)
    assert [w["id"] for w in before] == [upgrade, weekly, over]

    running.kill()
    running.start()
    running.wait_ready()

    after = runtime_windows(running)
    assert after == [w for w in before if w["id"] != over]  # a one-off window over: deleted
    by_id = {w["id"]: w for w in after}
    assert by_id[upgrade]["active"] is True
    assert by_id[upgrade]["timezone"] == "Europe/Berlin"
    assert (by_id[weekly]["weekdays"], by_id[weekly]["start_time"], by_id[weekly]["end_time"],
            by_id[weekly]["timezone"]) == (["tue", "sat"], "23:30:00", "01:00:00",
                                           "America/New_York")  # fmt: skip
    gone = httpx.delete(f"{running.url}/api/manage/maintenance/{deleted}")
    assert gone.status_code == 404

    simulator.set_fault("zoom", "reject")  # in the restored window: stored, never sent
    simulator.set_fault("notion", "reject")  # in no window: sent (the receivers work)
    wait_for(lambda: ("down:notion", "opened") in raw_actions(receiver), timeout=30)

    def zoom_notifications() -> list[dict[str, Any]]:
        report = running.get("/api/alerts?integration=zoom")
        return [n for a in report["alerts"] for n in a["notifications"]]

    wait_for(lambda: zoom_notifications(), timeout=30)
    wait_for(lambda: all(n["state"] != "pending" for n in zoom_notifications()), timeout=30)
    muted = zoom_notifications()
    assert {n["state"] for n in muted} == {"silenced"}, muted
    assert all("zoom upgrade" in n["last_error"] for n in muted)
    assert not [b for b in receiver.bodies() if "zoom" in b["alert"]["services"]]
    assert not [m for m in mailbox.messages if "Zoom" in str(m["Subject"])]
    assert "zoom upgrade" in running.get("/api/alerts")["maintenance"]


def test_a_window_added_on_one_replica_applies_on_another_sharing_the_database(
    running: RunningSystem,  # noqa: F811
) -> None:
    other = RunningSystem(running.config, running.database_url, running.environ,
                          running.log.with_name("other.log"))  # fmt: skip
    running.start()
    try:
        running.wait_ready()  # the database is migrated: the second one only opens it
        other.start()
        other.wait_ready()
        key = add(running, {"name": "shared", "start": "2020-01-01T00:00:00Z",
                            "end": "2100-01-01T00:00:00Z"})  # fmt: skip

        def on_other() -> list[str]:
            return [w["id"] for w in runtime_windows(other)]

        wait_for(lambda: on_other() == [key], timeout=30)  # read again every few seconds
        assert "shared" in other.get("/api/alerts")["maintenance"]

        assert httpx.delete(f"{other.url}/api/manage/maintenance/{key}").status_code == 204
        wait_for(lambda: runtime_windows(running) == [], timeout=30)
        assert "shared" not in running.get("/api/alerts")["maintenance"]
    finally:
        other.stop()
