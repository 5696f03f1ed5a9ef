"""Alert state, the outbox and silences on every store backend: memory, SQLite, PostgreSQL."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from atom_health.model.alerts import (
    Alert,
    AlertChange,
    AlertEvent,
    AlertKind,
    Delivery,
    Notification,
    Silence,
)
from atom_health.store import Store
from atom_health.store.sql import SqlStore
from tests.test_store import backend  # noqa: F401 - the fixture: memory, sqlite, postgresql

T = 1_800_000_000.0


def down(service: str, at: float, **extra: object) -> Alert:
    return Alert(f"down:{service}", AlertKind.down, [service], "critical", "own",
                 f"{service} is unhealthy", "HTTP 401", at, **extra)  # type: ignore[arg-type]  # fmt: skip


def outbox(event: AlertEvent, *notifiers: str) -> tuple[AlertEvent, list[Notification]]:
    return event, [Notification(0, name, event.action, event.idempotency_key, "", event.at, event.at)
                   for name in notifiers]  # fmt: skip


def commit(store: Store, *events: AlertEvent, limit: int = 1000, **states: str) -> dict[str, int]:
    change = AlertChange([outbox(e, "webhook", "email") for e in events], dict(states))
    return store.commit_alert_change(change, limit)


def test_state_change_and_outbox_are_written_together_and_read_back(backend: Store) -> None:  # noqa: F811
    alert = down("zoom", T)
    opened = AlertEvent(alert, "opened", T, idempotency_key="k-open")
    commit(backend, opened, zoom='{"bad":1}')

    assert alert.id is not None
    assert backend.rule_states() == {"zoom": '{"bad":1}'}
    found, total = backend.alerts(state="open")
    assert (total, found[0].key, found[0].kind, found[0].services) == (
        1,
        "down:zoom",
        AlertKind.down,
        ["zoom"],
    )
    pending = backend.pending_notifications(10)
    assert [(n.notifier, n.alert_id, n.idempotency_key) for n in pending] == [
        ("webhook", alert.id, "k-open"),
        ("email", alert.id, "k-open"),
    ]
    sent = pending[0].event()
    assert (sent.alert.id, sent.action, sent.idempotency_key) == (alert.id, "opened", "k-open")

    resolved = down("zoom", T, resolved_at=T + 60, id=alert.id)
    commit(backend, AlertEvent(resolved, "resolved", T + 60, idempotency_key="k-res"), zoom="{}")
    assert backend.alerts(state="open")[1] == 0
    assert backend.alerts(state="resolved")[0][0].resolved_at == T + 60
    assert backend.rule_states() == {"zoom": "{}"}
    assert len(backend.pending_notifications(10)) == 4


def test_an_attempt_and_the_new_notification_state_are_recorded_together(backend: Store) -> None:  # noqa: F811
    commit(backend, AlertEvent(down("zoom", T), "opened", T, idempotency_key="k"))
    first, second = backend.pending_notifications(10)
    assert first.id is not None
    first.attempts, first.last_error, first.next_attempt_at = 1, "webhook answered HTTP 503", T + 5
    backend.record_attempt(
        first,
        Delivery(
            first.id,
            first.alert_id,
            "webhook",
            "opened",
            1,
            T + 1,
            False,
            "webhook answered HTTP 503",
        ),
    )
    first.attempts, first.state, first.delivered_at, first.last_error = 2, "delivered", T + 6, None
    backend.record_attempt(
        first, Delivery(first.id, first.alert_id, "webhook", "opened", 2, T + 6, True)
    )

    assert [n.id for n in backend.pending_notifications(10)] == [second.id]
    (delivered,), _ = backend.notifications(state="delivered")
    assert (delivered.attempts, delivered.delivered_at) == (2, T + 6)
    attempts = backend.deliveries([first.id])
    assert [(d.attempt, d.ok, d.error) for d in attempts] == [
        (1, False, "webhook answered HTTP 503"), (2, True, None)
    ]  # fmt: skip


def test_past_the_bound_the_oldest_pending_are_dropped_and_counted(backend: Store) -> None:  # noqa: F811
    for i in range(3):
        dropped = commit(backend, AlertEvent(down(f"s{i}", T + i), "opened", T + i), limit=4)
    assert dropped == {"webhook": 1, "email": 1}  # 6 pending, bound 4: the two oldest go
    (gone, also), total = backend.notifications(state="dropped")
    assert total == 2
    assert gone.id is not None
    assert also.id == gone.id + 1
    assert gone.last_error == "dropped: the outbox was full"
    assert len(backend.pending_notifications(100)) == 4


def test_a_notification_being_sent_is_never_dropped_under_it(backend: Store) -> None:  # noqa: F811
    """Its attempt writes the row back when it ends: dropping it meanwhile counted a drop
    that then went back to pending (or was delivered)."""
    commit(backend, AlertEvent(down("s0", T), "opened", T), limit=100)
    sending = backend.pending_notifications(1)[0]
    assert sending.id is not None
    now = time.time()
    assert backend.claim_notifications([sending.id], "replica-a", now, now + 45) == [sending.id]
    for i in range(1, 3):
        dropped = commit(backend, AlertEvent(down(f"s{i}", T + i), "opened", T + i), limit=4)

    assert sum(dropped.values()) == 2  # 6 pending, bound 4: the two oldest not being sent
    gone, total = backend.notifications(state="dropped")
    assert total == 2
    assert sending.id not in [n.id for n in gone]
    assert [n.id for n in gone] == [sending.id + 1, sending.id + 2]


def test_acknowledgement_survives_later_commits_of_the_alert(backend: Store) -> None:  # noqa: F811
    alert = down("zoom", T)
    commit(backend, AlertEvent(alert, "opened", T))
    assert alert.id is not None
    backend.acknowledge_alert(alert.id, T + 5, "alice", "on it")
    reminder = down("zoom", T, last_sent_at=T + 3600, id=alert.id)  # an older snapshot
    commit(backend, AlertEvent(reminder, "reminder", T + 3600))

    stored = backend.alert(alert.id)
    assert stored is not None
    assert (stored.acknowledged_by, stored.ack_comment, stored.last_sent_at) == (
        "alice",
        "on it",
        T + 3600,
    )
    assert [a.id for a in backend.alerts(state="acknowledged")[0]] == [alert.id]
    assert backend.alert(alert.id + 100) is None


def test_alert_history_filters_by_state_integration_and_time_paginated(backend: Store) -> None:  # noqa: F811
    group = Alert(
        "group",
        AlertKind.group,
        ["notion", "trello", "zoom"],
        "critical",
        "own",
        "3 down",
        "",
        T + 500,
    )
    events = [  # minutes apart: separate outages (see REPEAT_WINDOW_SECONDS)
        AlertEvent(
            down("zoom", T + i * 100, resolved_at=T + i * 100 + 5), "resolved", T + i * 100 + 5
        )
        for i in range(4)
    ]
    commit(
        backend,
        *events,
        AlertEvent(group, "opened", T + 500),
        AlertEvent(down("notion", T + 600), "opened", T + 600),
    )

    page, total = backend.alerts(integration="zoom", limit=2, offset=1)
    assert total == 5  # four of its own and the group naming it
    assert [a.opened_at for a in page] == [T + 300, T + 200]
    assert backend.alerts(integration="notion")[1] == 2
    assert backend.alerts(integration="not")[1] == 0  # a member's name, not a substring
    assert [a.key for a in backend.alerts(state="open")[0]] == ["down:notion", "group"]
    windowed, count = backend.alerts(since=T + 100, until=T + 500)
    assert count == 3
    assert {a.opened_at for a in windowed} == {T + 100, T + 200, T + 300}


def test_silences_saved_listed_and_expired(backend: Store) -> None:  # noqa: F811
    silence = Silence(["zoom", "slack"], T, T + 7200, "alice", "vendor maintenance", T)
    backend.save_silence(silence)
    backend.save_silence(Silence(["github"], T + 100, T + 200, "bob", "deploy", T))
    assert silence.id is not None
    assert [s.integrations for s in backend.silences(active_at=T + 10)] == [["zoom", "slack"]]
    silence.ends_at = T + 20
    backend.save_silence(silence)
    assert backend.silences(active_at=T + 30) == []
    assert [s.created_by for s in backend.silences()] == ["bob", "alice"]


def test_alert_state_survives_reopening_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'alerts.db'}"
    first = SqlStore(url)
    commit(first, AlertEvent(down("zoom", T), "opened", T, idempotency_key="k"), zoom="{}")
    first.close()

    again = SqlStore(url)
    assert again.alerts(state="open")[1] == 1
    assert [n.idempotency_key for n in again.pending_notifications(10)] == ["k", "k"]
    assert again.rule_states() == {"zoom": "{}"}
    again.close()


@pytest.mark.parametrize("count", [0])
def test_no_change_writes_nothing(backend: Store, count: int) -> None:  # noqa: F811
    assert backend.commit_alert_change(AlertChange(), 10) == {}
    assert backend.alerts()[1] == count


def test_replicas_racing_on_one_change_write_it_once(backend: Store) -> None:  # noqa: F811
    """Two replicas (each with its own rules, so neither knows the other's alert ids) write
    the same changes: each change is stored, and notified, once."""

    def both(action: str, at: float, **extra: object) -> list[dict[str, int]]:
        ours = down("zoom", T, **extra)
        theirs = down("zoom", T + 0.5, **extra)  # the other replica saw it half a second later
        results = []
        for alert in (ours, theirs):
            event = AlertEvent(alert, action, at, idempotency_key=f"{action}-{alert.opened_at}")  # type: ignore[arg-type]
            results.append(commit(backend, event))
        return results

    both("opened", T)
    assert backend.alerts(state="open")[1] == 1
    assert [n.action for n in backend.pending_notifications(100)] == ["opened"] * 2  # 2 notifiers
    first = backend.alerts(state="open")[0][0]
    again = down("zoom", T, id=first.id)  # the same "opened" written again (a retried batch)
    commit(backend, AlertEvent(again, "opened", T, idempotency_key="opened-again"))
    assert len(backend.pending_notifications(100)) == 2

    reminded = down("zoom", T, last_sent_at=T + 600, id=first.id)
    commit(backend, AlertEvent(reminded, "reminder", T + 600, idempotency_key="r1"))
    again = down("zoom", T, last_sent_at=T + 602, id=first.id)  # the other replica's reminder
    commit(backend, AlertEvent(again, "reminder", T + 602, idempotency_key="r2"))
    later = down("zoom", T, last_sent_at=T + 1200, id=first.id)  # the next one is genuine
    commit(backend, AlertEvent(later, "reminder", T + 1200, idempotency_key="r3"))
    keys = [n.idempotency_key for n in backend.pending_notifications(100)]
    assert (keys.count("r1"), keys.count("r2"), keys.count("r3")) == (2, 0, 2)

    both("resolved", T + 1300, resolved_at=T + 1300)
    assert backend.alerts(state="open")[1] == 0
    assert backend.alerts()[1] == 1  # the second "resolved" did not store a second alert
    actions = [n.action for n in backend.pending_notifications(100)]
    assert actions.count("resolved") == 2  # one event, two notifiers

    reopened = down("zoom", T + 4000)  # minutes later: a new outage is a new alert
    commit(backend, AlertEvent(reopened, "opened", T + 4000, idempotency_key="o2"))
    assert backend.alerts(state="open")[1] == 1
    assert reopened.id != first.id


def test_a_notification_is_claimed_by_one_sender_until_its_claim_expires(backend: Store) -> None:  # noqa: F811
    commit(backend, AlertEvent(down("zoom", T), "opened", T, idempotency_key="k"))
    ids = [n.id for n in backend.pending_notifications(10) if n.id is not None]
    assert backend.claim_notifications(ids, "a", T, T + 45) == ids
    assert backend.claim_notifications(ids, "b", T + 1, T + 46) == []  # a is sending them
    assert backend.claim_notifications(ids, "a", T + 1, T + 46) == ids  # a may renew
    assert sorted(backend.claim_notifications(ids, "b", T + 47, T + 92)) == ids  # a died
    backend.release_claims()
    assert backend.claim_notifications(ids[:1], "c", T + 48, T + 93) == ids[:1]


def test_concurrent_claims_on_postgresql_never_overlap(postgres_url: str) -> None:
    """Row locks, not luck: eight threads claim the same 200 notifications at once."""
    import threading

    store = SqlStore(postgres_url)
    try:
        events = [AlertEvent(down(f"s{i}", T), "opened", T, idempotency_key=f"k{i}")
                  for i in range(100)]  # fmt: skip
        commit(store, *events)
        ids = [n.id for n in store.pending_notifications(1000) if n.id is not None]
        assert len(ids) == 200
        won: dict[str, list[int]] = {}
        start = threading.Barrier(8)

        def claim(owner: str) -> None:
            start.wait()
            won[owner] = store.claim_notifications(ids, owner, T, T + 45)

        threads = [threading.Thread(target=claim, args=(f"r{i}",)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        taken = [i for claimed in won.values() for i in claimed]
        assert sorted(taken) == sorted(ids)  # every one claimed, by exactly one replica
    finally:
        store.close()
