"""Uptime, incident, MTTR/MTBF and rollup arithmetic on constructed histories."""

from __future__ import annotations

import pytest

from atom_health.history.analytics import incident_stats, incidents_from, uptime_percentages
from atom_health.history.rollups import rollups_of
from atom_health.model.history import CheckRecord, Incident, counts_of
from atom_health.model.results import Status
from atom_health.model.stats import percentiles

H, U, D = Status.healthy, Status.unhealthy, Status.degraded


def history(*steps: tuple[float, Status] | tuple[float, Status, str]) -> list[CheckRecord]:
    return [
        CheckRecord("zoom", at, status, category=rest[0] if rest else None, latency_ms=at)
        for at, status, *rest in steps
    ]


def test_incidents_open_on_first_bad_result_and_close_on_first_healthy() -> None:
    found = incidents_from(history((0, H), (10, D), (20, U, "timeout"), (30, D), (40, H), (50, H)))

    assert len(found) == 1
    incident = found[0]
    assert (incident.started_at, incident.ended_at) == (10, 40)
    assert incident.worst_status is U
    assert incident.category == "timeout"  # the cause of the worst status
    assert incident.duration(now=999) == 30


def test_incident_still_open_runs_until_now() -> None:
    (incident,) = incidents_from(history((0, H), (10, U, "connect"), (20, U, "connect")))

    assert incident.open
    assert incident.duration(now=100) == 90


def test_separate_spells_are_separate_incidents_per_integration() -> None:
    records = history((0, U), (10, H), (20, U), (30, H))
    records.append(CheckRecord("slack", 5, U))

    found = incidents_from(records)

    assert [(i.integration, i.started_at, i.ended_at) for i in found] == [
        ("slack", 5, None),
        ("zoom", 0, 10),
        ("zoom", 20, 30),
    ]


def test_incident_stats_mttr_mtbf_and_vendor_split() -> None:
    incidents = [
        Incident("zoom", 100, U, "timeout", "", ended_at=160),  # 60 s, ours
        Incident("zoom", 400, U, "vendor_outage", "", ended_at=520),  # 120 s, the vendor's
        Incident("zoom", 900, D, None, "", ended_at=None),  # open
    ]

    stats = incident_stats(incidents, since=0, until=1000, now=1000)

    assert stats.count == 3
    assert stats.open == 1
    assert stats.mttr_seconds == 90  # (60 + 120) / 2; the open one is not repaired yet
    assert stats.mtbf_seconds == (240 + 380) / 2  # healthy time between incidents
    assert stats.own_seconds == 60 + 100  # the open one counts up to the window's end
    assert stats.vendor_seconds == 120


def test_incident_spanning_the_windows_edge_is_clipped() -> None:
    incidents = [Incident("zoom", 50, U, "timeout", "", ended_at=250)]

    stats = incident_stats(incidents, since=100, until=200, now=1000)

    assert stats.own_seconds == 100  # only the part inside [100, 200]
    assert stats.mttr_seconds is None  # it did not end inside the window


def test_no_incidents_means_no_mttr_or_mtbf() -> None:
    stats = incident_stats([], since=0, until=100, now=100)

    assert (stats.count, stats.mttr_seconds, stats.mtbf_seconds, stats.own_seconds) == (
        0,
        None,
        None,
        0,
    )


def test_uptime_is_check_weighted_and_gaps_count_for_nothing() -> None:
    # Two checks, a long gap with no data, then two more: the gap changes nothing.
    counts = counts_of(history((0, H), (60, U, "timeout"), (86_400, H), (86_460, D)))

    uptime, without_vendor = uptime_percentages(counts)

    assert uptime == 75.0  # healthy and degraded count as up
    assert without_vendor == 75.0


def test_uptime_excluding_vendor_leaves_out_vendor_outage_checks() -> None:
    counts = counts_of(history((0, H), (1, H), (2, U, "vendor_outage"), (3, U, "timeout")))

    assert uptime_percentages(counts) == (50.0, pytest.approx(66.6667))


def test_uptime_without_data_is_none() -> None:
    assert uptime_percentages(counts_of([])) == (None, None)


def test_percentiles_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]

    assert percentiles(values) == (51.0, 96.0, 100.0)
    assert percentiles([]) == (None, None, None)


def test_rollups_per_hour_and_integration() -> None:
    records = history((0, H), (1800, U, "timeout"), (3600, H), (7300, D))
    records.append(CheckRecord("slack", 10, H, latency_ms=5))

    hourly = rollups_of(records, "hour")

    assert [(r.integration, r.bucket, r.counts.total, r.counts.unhealthy) for r in hourly] == [
        ("slack", 0, 1, 0),
        ("zoom", 0, 2, 1),
        ("zoom", 3600, 1, 0),
        ("zoom", 7200, 1, 0),
    ]
    zoom_first = hourly[1]
    assert (zoom_first.latency_count, zoom_first.latency_sum) == (2, 1800.0)
    daily = rollups_of(records, "day")
    assert [(r.integration, r.counts.total) for r in daily] == [("slack", 1), ("zoom", 4)]
