"""The management API, black-box against `atom-health serve` in a subprocess: admin-only
routes, integrations switched off and on (live, in the scheduler, across a restart), check
now within the refresh window, config reloads (HTTP and SIGHUP, under load), maintenance."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner, Result

from atom_health.cli import app
from atom_health.model.manage import ConfigDiff, ManagedIntegration, ManagedWindow
from atom_health.model.results import ServiceHealth
from atom_health.simulator import Simulator
from tests.conftest import wait_for
from tests.served import Served, served

READ_KEY = "read-Key-manage-0123456789-abcXYZ"
ADMIN_KEY = "admin-Key-manage-9876543210-defUVW"
KEYS = {"ATOM_HEALTH_READ_KEY": READ_KEY, "ATOM_HEALTH_ADMIN_KEY": ADMIN_KEY}
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
READ = {"Authorization": f"Bearer {READ_KEY}"}
BASE: dict[str, Any] = {
    "security": {"rate_limit": "100000/minute"},
    "refresh_min_interval_seconds": 3600,  # check now inside the window: the newest result
}
WINDOW = {"name": "deploy", "start": "2020-01-01T00:00:00Z", "end": "2100-01-01T00:00:00Z"}
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/api/manage/integrations", None),
    ("PATCH", "/api/manage/integrations/trello", {"enabled": True}),
    ("POST", "/api/manage/integrations/trello/checks", None),
    ("POST", "/api/manage/config/reload", None),
    ("GET", "/api/manage/maintenance", None),
    ("POST", "/api/manage/maintenance", WINDOW),
    ("DELETE", "/api/manage/maintenance/runtime-999", None),
]


def environment(simulator: Simulator) -> dict[str, str]:
    return {**os.environ, **simulator.environment(), **KEYS}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, simulator: Simulator) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("manage"), environment(simulator), BASE) as running:
        yield running


@pytest.fixture
def admin(server: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=ADMIN, timeout=30) as client:
        yield client


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_each_route_needs_the_admin_role(server: Served, method: str, path: str, body: Any) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        anonymous = client.request(method, path, json=body)
        read = client.request(method, path, json=body, headers=READ)
        admin = client.request(method, path, json=body, headers=ADMIN)

    assert anonymous.status_code == 401
    assert anonymous.json()["error"] == "unauthorized"
    assert read.status_code == 403
    assert read.json() == {
        "ok": False,
        "error": "forbidden",
        "message": "This request needs the admin role",
    }
    assert admin.status_code in (200, 204, 404), admin.text
    if method != "GET":  # every admin action is in the audit trail
        trail = httpx.get(f"{server.url}/api/audit", headers=ADMIN).json()["entries"]
        assert any(e["path"] == path and e["method"] == method for e in trail), trail[:3]


def test_every_route_has_examples_of_its_requests_and_answers(server: Served) -> None:
    document = httpx.get(f"{server.url}/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, item in document["paths"].items()
        if path.startswith("/api/manage/")
        for method, operation in item.items()
    }
    assert len(operations) == len(ROUTES)
    for where, operation in operations.items():
        assert operation["tags"] == ["management"], where
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"]["examples"], where
        for code, answer in operation["responses"].items():
            if code in ("204", "400"):
                continue  # no body; 400 (an unreadable body) is the access rules' note
            assert answer["content"]["application/json"]["example"], (where, code)


def test_disable_takes_an_integration_out_and_enable_brings_it_back(
    admin: httpx.Client,
) -> None:
    changed = admin.patch("/api/manage/integrations/Trello", json={"enabled": False})
    assert changed.status_code == 200
    assert ManagedIntegration.model_validate(changed.json()).enabled is False
    assert changed.json()["enabled_by"] == "runtime"

    assert "trello" not in admin.get("/api/integrations/health").json()["services"]
    assert "trello" not in admin.get("/api/integrations/config").json()["integrations"]
    assert admin.get("/api/trello/health").status_code == 404
    assert all(row["service"] != "trello" for row in admin.get("/api/dashboard").json()["services"])
    assert admin.get("/api/dashboard").json()["disabled"] == ["trello"]
    refused = admin.post("/api/manage/integrations/trello/checks")
    assert refused.status_code == 409
    assert refused.json()["error"] == "disabled"
    listed = {i["id"]: i for i in admin.get("/api/manage/integrations").json()["integrations"]}
    assert listed["trello"]["enabled"] is False

    assert admin.patch("/api/manage/integrations/trello", json={"enabled": True}).status_code == 200
    assert "trello" in admin.get("/api/integrations/health").json()["services"]
    assert admin.get("/api/trello/health").status_code == 200
    assert admin.get("/api/dashboard").json()["disabled"] == []


def test_bad_requests_get_specific_answers(admin: httpx.Client) -> None:
    unknown = admin.patch("/api/manage/integrations/orkut", json={"enabled": False})
    assert unknown.status_code == 404
    assert unknown.json() == {
        "ok": False,
        "error": "not_found",
        "message": "Unknown integration: orkut",
    }
    assert admin.patch("/api/manage/integrations/zoom", json={}).status_code == 422
    assert (
        admin.patch("/api/manage/integrations/zoom", json={"enabled": "maybe"}).status_code == 422
    )
    assert admin.post("/api/manage/integrations/orkut/checks").status_code == 404
    no_time = admin.post("/api/manage/maintenance", json={"name": "x"})
    assert no_time.status_code == 422
    assert "give start and end" in no_time.json()["detail"][0]["msg"]
    assert admin.post("/api/manage/maintenance", json={**WINDOW, "color": 1}).status_code == 422


def test_check_now_calls_the_provider_once_per_refresh_window(
    admin: httpx.Client, simulator: Simulator
) -> None:
    before = simulator.state("stripe")["api_requests"]
    first = admin.post("/api/manage/integrations/stripe/checks")
    checked = simulator.state("stripe")["api_requests"]  # the probe (and its webhooks read)
    again = admin.post("/api/manage/integrations/stripe/checks")

    assert first.status_code == again.status_code == 200
    assert ServiceHealth.model_validate(first.json()).status == "healthy"
    assert again.json()["cached"] is True
    assert again.json()["age_seconds"] >= 0  # the newest result, and how old it is
    assert again.json()["timestamp"] == first.json()["timestamp"]
    assert checked - before <= 2  # at most one check (an earlier test's may still count)
    assert simulator.state("stripe")["api_requests"] == checked  # again: no provider call


def test_maintenance_windows_are_added_listed_and_deleted(admin: httpx.Client) -> None:
    added = admin.post("/api/manage/maintenance", json={**WINDOW, "name": "db-upgrade"})
    assert added.status_code == 200
    window = ManagedWindow.model_validate(added.json())
    assert window.active
    assert window.source == "runtime"
    assert "db-upgrade" in admin.get("/api/alerts").json()["maintenance"]

    def listed() -> list[str]:
        return [w["id"] for w in admin.get("/api/manage/maintenance").json()["windows"]]

    assert window.id in listed()
    assert admin.delete(f"/api/manage/maintenance/{window.id}").status_code == 204
    assert window.id not in listed()
    assert "db-upgrade" not in admin.get("/api/alerts").json()["maintenance"]
    gone = admin.delete(f"/api/manage/maintenance/{window.id}")
    assert gone.status_code == 404
    assert gone.json()["error"] == "not_found"


def test_a_reload_answers_the_diff_and_a_bad_file_keeps_the_running_config(
    server: Served, admin: httpx.Client
) -> None:
    secret = "s3cret-fingerprint-key-value-000"
    server.config.write_text(
        yaml.safe_dump(
            {
                **BASE,
                "cache_ttl_seconds": 12,
                "fingerprint_key": secret,
                "probes": {"concurrency": 7},
                "integrations": {"stripe": {"criticality": "normal"}},
                "backends": {"billing": {"url": "http://127.0.0.1:9/", "health_path": "/h"}},
            }
        )
    )
    try:
        answer = admin.post("/api/manage/config/reload")
        assert answer.status_code == 200, answer.text
        diff = ConfigDiff.model_validate(answer.json())
        assert diff.added == ["billing"]
        assert diff.removed == []
        assert [(c.id, c.fields) for c in diff.changed] == [("stripe", ["criticality"])]
        assert diff.settings_changed == [
            "cache_ttl_seconds",
            "fingerprint_key",
            "probes.concurrency",
        ]
        assert diff.restart_required == ["fingerprint_key", "probes.concurrency"]
        assert secret not in answer.text
        assert "billing" in admin.get("/api/integrations/config").json()["integrations"]
        # The gauges follow: the added integration gets series, Stripe's carry its new
        # criticality and none is left with the old one.
        for name in ("billing", "stripe"):
            assert admin.get(f"/api/{name}/health", params={"refresh": "true"}).status_code == 200
        metrics = admin.get("/metrics").text
        assert re.search(
            r'^atom_health_integration_up\{criticality="\w+",integration="billing"\}', metrics, re.M
        )
        stripe = re.findall(r'^atom_health_integration_(?:up|status)\{criticality="(\w+)",'
                            r'integration="stripe"', metrics, re.M)  # fmt: skip
        assert stripe
        assert set(stripe) == {"normal"}

        server.config.write_text("cache_ttl_seconds: -1\nintegrations: {}\n")
        refused = admin.post("/api/manage/config/reload")
        assert refused.status_code == 422
        assert refused.json()["error"] == "invalid_config"
        assert "cache_ttl_seconds" in refused.json()["message"]
        assert "running config is kept" in refused.json()["message"]
        assert "billing" in admin.get("/api/integrations/config").json()["integrations"]
        assert admin.get("/api/integrations/health").status_code == 200
    finally:
        server.config.write_text(yaml.safe_dump(BASE))
        back = admin.post("/api/manage/config/reload").json()
        assert back["removed"] == ["billing"]
    assert secret not in server.text()


def test_sighup_reloads_under_load_without_losing_an_answer(
    tmp_path: Path, simulator: Simulator
) -> None:
    with served(tmp_path, environment(simulator), BASE) as running:
        statuses: list[int] = []
        stop = threading.Event()

        def load() -> None:
            with httpx.Client(base_url=running.url, headers=READ, timeout=60) as client:
                while not stop.is_set():
                    for path in ("/api/integrations/health", "/api/zoom/health"):
                        statuses.append(client.get(path).status_code)

        workers = [threading.Thread(target=load) for _ in range(4)]
        for worker in workers:
            worker.start()
        try:
            for n in range(6):
                extra = {"backends": {f"b{n}": {"url": "http://127.0.0.1:9"}}} if n % 2 else {}
                running.config.write_text(yaml.safe_dump({**BASE, **extra}))
                running.process.send_signal(signal.SIGHUP)
                wait_for(lambda n=n: len(sighups(running)) == n + 1, timeout=30)
            running.config.write_text("probes: [not, a, mapping]\n")  # refused, old one kept
            running.process.send_signal(signal.SIGHUP)
            wait_for(lambda: len(sighups(running)) == 7, timeout=30)
        finally:
            stop.set()
            for worker in workers:
                worker.join()
        assert running.process.poll() is None  # still serving
        reloads = sighups(running)
        assert [e["status"] for e in reloads] == [422] + [200] * 6  # newest first
        assert all(e["key"] == "SIGHUP" for e in reloads)
        ids = [i["id"] for i in running_integrations(running)]
        assert "b5" in ids  # the last good file is the one in use
        assert "config not reloaded" in running.text()
    assert len(statuses) > 0
    assert set(statuses) == {200}


def sighups(running: Served) -> list[dict[str, Any]]:
    trail = httpx.get(f"{running.url}/api/audit", headers=ADMIN).json()["entries"]
    return [e for e in trail if e["method"] == "SIGHUP"]


def running_integrations(running: Served) -> list[dict[str, Any]]:
    answer = httpx.get(f"{running.url}/api/manage/integrations", headers=ADMIN)
    integrations: list[dict[str, Any]] = answer.json()["integrations"]
    return integrations


def test_switches_apply_to_the_scheduler_and_survive_a_restart(
    tmp_path: Path, simulator: Simulator
) -> None:
    database = f"sqlite:///{tmp_path / 'history.db'}"
    config = {**BASE, "scheduler": {"interval_seconds": 0.5, "initial_spread_seconds": 0}}
    args = ("--database-url", database)

    def calls(provider: str) -> int:
        count: int = simulator.state(provider)["api_requests"]
        return count

    with (
        served(tmp_path, environment(simulator), config, args) as running,
        httpx.Client(base_url=running.url, headers=ADMIN, timeout=30) as admin,
    ):
        wait_for(lambda: calls("zoom") > 0, timeout=30)
        admin.patch("/api/manage/integrations/zoom", json={"enabled": False})
        slack = calls("slack")  # rounds go by: a check already in flight lands meanwhile
        wait_for(lambda: calls("slack") >= slack + 3, timeout=30)
        settled, slack = calls("zoom"), calls("slack")
        wait_for(lambda: calls("slack") >= slack + 3, timeout=30)  # scheduler still runs
        assert calls("zoom") == settled

    with (
        served(tmp_path, environment(simulator), config, args) as restarted,
        httpx.Client(base_url=restarted.url, headers=ADMIN, timeout=30) as admin,
    ):
        assert "zoom" not in admin.get("/api/integrations/health").json()["services"]
        settled = calls("zoom")
        slack = calls("slack")
        wait_for(lambda: calls("slack") >= slack + 3, timeout=30)
        assert calls("zoom") == settled

        admin.patch("/api/manage/integrations/zoom", json={"enabled": True})
        wait_for(lambda: calls("zoom") >= settled + 2, timeout=30)  # scheduled again
        assert "zoom" in admin.get("/api/integrations/health").json()["services"]


def test_the_cli_manages_a_running_server(server: Served) -> None:
    runner = CliRunner()
    env = {"ATOM_HEALTH_API_KEY": ADMIN_KEY, "ATOM_HEALTH_URL": server.url}

    def run(*args: str, key: str = ADMIN_KEY) -> Result:
        return runner.invoke(app, ["manage", *args], env={**env, "ATOM_HEALTH_API_KEY": key})

    disabled = run("disable", "jira")
    assert disabled.exit_code == 0, disabled.output
    assert '"enabled": false' in disabled.stdout
    listed = run("integrations")
    assert any(
        i["id"] == "jira" and not i["enabled"] for i in json.loads(listed.stdout)["integrations"]
    )
    assert run("enable", "jira").exit_code == 0
    assert run("check", "jira").exit_code == 0
    assert run("reload").exit_code == 0

    added = run("maintenance-add", "--start", "2020-01-01T00:00:00", "--end", "2100-01-01T00:00",
                "--timezone", "Europe/Berlin")  # fmt: skip
    assert added.exit_code == 0, added.output
    window = json.loads(added.stdout)["id"]
    assert json.loads(added.stdout)["timezone"] == "Europe/Berlin"
    assert window in run("maintenance-list").stdout
    assert run("maintenance-delete", window).exit_code == 0

    unknown = run("disable", "orkut")
    assert unknown.exit_code == 2
    assert "Unknown integration: orkut" in unknown.stderr
    read_only = run("reload", key=READ_KEY)
    assert read_only.exit_code == 2
    assert "admin role" in read_only.stderr
    assert READ_KEY not in read_only.output
