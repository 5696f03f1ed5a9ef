"""History, uptime, incidents and metrics routes, over results the app really recorded."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from atom_health.simulator import Simulator
from atom_health.system import HealthSystem


@pytest.fixture
def recorded(
    api: httpx.Client,
    system: HealthSystem,
    simulator: Simulator,
    environ: dict[str, str],
    sim_credentials: dict[str, str],
) -> httpx.Client:
    """Zoom: healthy, then two failed checks (an incident), then healthy again."""
    environ.update(sim_credentials)
    for fault in (None, "server_error", "server_error", None, None):
        simulator.set_fault("zoom", fault)
        assert api.get("/api/zoom/health", params={"refresh": "true"}).status_code == 200
    assert system.recorder.flush()
    return api


def test_history_newest_first_with_fields(recorded: httpx.Client) -> None:
    body = recorded.get("/api/integrations/zoom/history").json()

    assert body["ok"] is True
    assert body["service"] == "zoom"
    assert body["total"] == 5
    assert [item["status"] for item in body["items"]] == [
        "healthy", "healthy", "unhealthy", "unhealthy", "healthy",
    ]  # fmt: skip
    failed = body["items"][2]
    assert failed["category"] == "server_error"
    assert failed["http_status"] == 503
    assert failed["message"].startswith("Zoom answered with a server error")
    assert failed["vendor_state"] == "operational"
    times = [item["checked_at"] for item in body["items"]]
    assert times == sorted(times, reverse=True)


def test_history_filters_and_pages(recorded: httpx.Client) -> None:
    bad = recorded.get("/api/integrations/zoom/history", params={"status": "unhealthy"}).json()
    first = recorded.get("/api/integrations/zoom/history", params={"limit": 2}).json()
    last = recorded.get("/api/integrations/zoom/history", params={"limit": 2, "offset": 4}).json()
    alias = recorded.get("/api/integrations/ZOOM/history").json()

    assert bad["total"] == 2
    assert (first["next_offset"], len(first["items"])) == (2, 2)
    assert (last["next_offset"], len(last["items"])) == (None, 1)
    assert alias["total"] == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 5000}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "sideways"}, "status"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
    ],
)
def test_history_rejects_bad_query_values(
    api: httpx.Client, params: dict[str, object], field: str
) -> None:
    response = api.get("/api/integrations/zoom/history", params=params)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", field]


@pytest.mark.parametrize(
    "path", ["/api/integrations/orkut/history", "/api/integrations/orkut/uptime"]
)
def test_history_of_unknown_service_is_404(api: httpx.Client, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 404
    assert response.json()["status"] == "unknown"


def test_uptime_windows(recorded: httpx.Client) -> None:
    body = recorded.get("/api/integrations/zoom/uptime").json()

    assert list(body["windows"]) == ["1h", "24h", "7d", "30d", "90d"]
    day = body["windows"]["24h"]
    assert day["checks"] == 5
    assert day["uptime_percentage"] == 60.0
    assert day["uptime_excluding_vendor_percentage"] == 60.0
    assert (day["healthy_checks"], day["unhealthy_checks"]) == (3, 2)
    assert day["incidents"] == 1
    assert day["open_incidents"] == 0
    assert day["mttr_seconds"] is not None
    assert day["mttr_seconds"] > 0
    assert day["downtime_seconds"] == day["mttr_seconds"]
    assert day["vendor_downtime_seconds"] == 0
    assert day["latency_source"] == "raw"
    assert day["latency_p50_ms"] <= day["latency_p95_ms"] <= day["latency_p99_ms"]


def test_uptime_for_a_custom_window(recorded: httpx.Client) -> None:
    since = (datetime.now(UTC) - timedelta(hours=2)).isoformat()

    body = recorded.get("/api/integrations/zoom/uptime", params={"since": since}).json()

    assert list(body["windows"]) == ["custom"]
    assert body["windows"]["custom"]["checks"] == 5


def test_incidents_route(recorded: httpx.Client) -> None:
    body = recorded.get("/api/incidents").json()

    assert body["open_incidents"] == 0
    (incident,) = body["incidents"]
    assert incident["service"] == "zoom"
    assert incident["open"] is False
    assert incident["worst_status"] == "unhealthy"
    assert incident["category"] == "server_error"
    assert incident["duration_seconds"] > 0
    assert body["mttr_seconds"] == incident["duration_seconds"]
    assert recorded.get("/api/incidents", params={"open": "true"}).json()["incidents"] == []


def test_open_incident_is_listed_first(
    recorded: httpx.Client, simulator: Simulator, system: HealthSystem
) -> None:
    simulator.set_fault("zoom", "reject")
    recorded.get("/api/zoom/health", params={"refresh": "true"})
    system.recorder.flush()

    body = recorded.get("/api/incidents").json()

    assert body["open_incidents"] == 1
    assert body["incidents"][0]["open"] is True
    assert body["incidents"][0]["category"] == "credentials_rejected"


def test_overview_has_uptime_and_last_check(recorded: httpx.Client) -> None:
    services = recorded.get("/api/integrations/health").json()["services"]

    assert services["zoom"]["uptime_24h"] == pytest.approx(100 * 3 / 5, abs=20)
    assert services["zoom"]["last_checked"] is not None
    assert services["trello"]["last_checked"] is not None  # its first check is stored now


def test_metrics_parse_and_carry_bounded_labels(recorded: httpx.Client) -> None:
    response = recorded.get("/metrics")

    assert response.status_code == 200
    families = {f.name: f for f in text_string_to_metric_families(response.text)}
    assert {
        "atom_health_integration_status",
        "atom_health_integration_up",
        "atom_health_check_duration_seconds",
        "atom_health_checks",
        "atom_health_check_failures",
        "atom_health_breaker_state",
    } <= set(families)
    up = {s.labels["integration"]: s.value for s in families["atom_health_integration_up"].samples}
    assert up["zoom"] == 1.0
    failures = {
        (s.labels["integration"], s.labels["category"]): s.value
        for s in families["atom_health_check_failures"].samples
        if s.name.endswith("_total")
    }
    assert failures[("zoom", "server_error")] == 2
    labels = {s.labels.get("integration") for f in families.values() for s in f.samples}
    assert labels - {None} <= {
        "zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
        "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero",
    }  # fmt: skip


def test_metrics_up_is_0_or_1_with_criticality_timestamps_and_process_metrics(
    recorded: httpx.Client, simulator: Simulator
) -> None:
    simulator.set_fault("trello", "reject")
    assert recorded.get("/api/trello/health", params={"refresh": "true"}).json()["status"] == (
        "unhealthy"
    )
    text = recorded.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}

    up = {s.labels["integration"]: s for s in families["atom_health_integration_up"].samples}
    assert {s.value for s in up.values()} <= {0.0, 1.0}
    assert (up["zoom"].labels["criticality"], up["trello"].labels["criticality"]) == (
        "critical",
        "normal",
    )
    assert up["trello"].value == 0.0  # credentials rejected: cannot work
    status = {
        (s.labels["integration"], s.labels["status"]): s.value
        for s in families["atom_health_integration_status"].samples
    }
    assert status[("trello", "unhealthy")] == 1.0
    assert status[("trello", "healthy")] == 0.0
    now = time.time()
    last_check = {
        s.labels["integration"]: s.value
        for s in families["atom_health_integration_last_check_timestamp_seconds"].samples
    }
    last_success = {
        s.labels["integration"]: s.value
        for s in families["atom_health_integration_last_success_timestamp_seconds"].samples
    }
    assert now - 600 < last_check["trello"] <= now + 1
    assert "trello" not in last_success  # never succeeded
    assert now - 600 < last_success["zoom"] <= last_check["zoom"]
    assert "_created" not in text
    assert {"process_resident_memory_bytes", "process_cpu_seconds", "python_info"} <= set(
        families
    ) | {s.name for f in families.values() for s in f.samples}
