"""`atom-health system`, `atom-health test` (and its reports) and `atom-health demo`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import Browser
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.config import HistorySettings, Settings
from atom_health.report.models import TestReport
from atom_health.serving import ThreadedServer, free_port
from atom_health.simulator import Simulator
from atom_health.system import HealthSystem
from tests.conftest import FAST_PROBES

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
# Latency targets no machine misses, so outcomes never depend on its speed or load.
ANY_SPEED = ["--config-target-ms", "600000", "--probe-target-ms", "600000",
             "--batch-target-ms", "600000"]  # fmt: skip


@contextmanager
def started(args: list[str], env: dict[str, str]) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Run ``atom-health ARGS --port P`` until it prints its dashboard URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "atom_health", *args, "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        output = ""
        deadline = time.monotonic() + 30
        while "Dashboard:" not in output:
            line = process.stdout.readline()
            assert line or process.poll() is None, output
            output += line
            assert time.monotonic() < deadline, output
        yield process, f"http://127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_system_serves_then_stops_cleanly_on_sigterm(tmp_path: Path, simulator: Simulator) -> None:
    database = tmp_path / "history.db"
    config = tmp_path / "atom.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "scheduler": {"interval_seconds": 0.3},
                "cache_ttl_seconds": 0,
                "refresh_min_interval_seconds": 0,
            }
        )
    )
    env = {**os.environ, **simulator.environment()}

    with started(
        ["system", "--config", str(config), "--database-url", f"sqlite:///{database}"], env
    ) as (
        process,
        url,
    ):
        dashboard = httpx.get(url + "/api/dashboard").json()
        assert dashboard["summary"]["healthy_services"] == 14
        assert httpx.get(url + "/").status_code == 200
        time.sleep(1)  # let it record a few rounds
        seen = httpx.get(url + "/api/integrations/github/history").json()["total"]
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=20)

    assert process.returncode == 0, output
    with sqlite3.connect(database) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = connection.execute(
            "SELECT count(*) FROM check_results WHERE integration = 'github'"
        ).fetchone()[0]
    assert stored >= seen > 0  # what was written before the stop, and what was queued


def test_system_refuses_a_taken_port(simulator: Simulator) -> None:
    port = free_port()
    import socket

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = subprocess.run(
            [sys.executable, "-m", "atom_health", "system", "--port", str(port), "--database-url", "memory://"],
            env={**os.environ, **simulator.environment()}, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    assert result.returncode == 4  # could not start; 1 means an integration is unhealthy
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def sim_process_env(simulator: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in simulator.environment().items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("sim_process_env")
def test_test_command_gate_and_exit_codes(tmp_path: Path, simulator: Simulator) -> None:
    simulator.set_fault("hubspot", "reject")  # a normal integration down: score 94.4
    runner = CliRunner()
    reports = ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html"),
               *ANY_SPEED]  # fmt: skip

    failing = runner.invoke(app, ["test", *reports])
    gated = runner.invoke(app, ["test", *reports, "--fail-under", "90"])
    strict = runner.invoke(app, ["test", *reports, "--fail-under", "99.9"])
    # The gate, not "every test passed": latency targets may fail on a loaded machine.
    passing = runner.invoke(
        app, ["test", "stripe", "google-drive", *reports, "--fail-under", "100"]
    )
    unknown = runner.invoke(app, ["test", "myspace", *reports])

    assert (failing.exit_code, gated.exit_code, strict.exit_code) == (1, 0, 1)
    assert "Deploy gate: passed: health score 94.4 >= 90" in gated.stdout
    assert "health score 94.4 is under 99.9" in strict.stderr
    assert passing.exit_code == 0, passing.output
    assert unknown.exit_code == 2
    assert "Unknown integration: myspace" in unknown.output
    unreachable = runner.invoke(
        app, ["test", "--url", "http://ops:Pa55w0rdXy@127.0.0.1:1", *reports]
    )
    assert unreachable.exit_code == 5
    assert "cannot reach atom-health at http://127.0.0.1:1" in unreachable.output
    assert "Pa55w0rdXy" not in unreachable.output
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    assert [i.service for i in report.integrations] == ["stripe", "googledrive"]  # the last run
    assert {i.status for i in report.integrations} == {"healthy"}


@pytest.mark.usefixtures("sim_process_env")
def test_gate_fails_when_a_critical_integration_is_unhealthy_whatever_the_score(
    tmp_path: Path, simulator: Simulator
) -> None:
    simulator.set_fault("slack", "reject")
    reports = ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html"),
               *ANY_SPEED]  # fmt: skip

    gated = CliRunner().invoke(app, ["test", *reports, "--fail-under", "0"])

    assert gated.exit_code == 1
    assert "Deploy gate: failed: critical integration unhealthy: slack" in gated.stderr


@pytest.mark.usefixtures("sim_process_env")
def test_report_json_junit_and_the_one_health_score(
    tmp_path: Path, simulator: Simulator, sim_credentials: dict[str, str], sim_urls: dict[str, str]
) -> None:
    simulator.set_fault("slack", "reject")
    json_path, junit_path = tmp_path / "r.json", tmp_path / "junit.xml"
    probes = FAST_PROBES.model_copy(update={"slow_threshold_ms": 60_000})  # load: not "slow"
    settings = Settings(probes=probes, history=HistorySettings(database_url="memory://"))
    system = HealthSystem(settings, {**sim_credentials, **sim_urls}, scheduler=False)
    with ThreadedServer(system.web_app()) as server:
        result = CliRunner().invoke(app, [
            "test", "--url", server.url, "--json-report", str(json_path),
            "--html-report", str(tmp_path / "r.html"), "--junit-xml", str(junit_path), *ANY_SPEED,
        ])  # fmt: skip
        api = httpx.get(server.url + "/api/integrations/health", timeout=30).json()
        dashboard = httpx.get(server.url + "/api/dashboard", timeout=30).json()

    assert result.exit_code == 1
    report = TestReport.model_validate_json(json_path.read_text())
    assert report.ok is False
    assert len(report.integrations) == 14
    slack = next(i for i in report.integrations if i.service == "slack")
    live = next(c for c in slack.tests if c.name == "live probe")
    assert live.outcome == "fail"
    assert "credentials_rejected" in live.detail
    passed = sum(c.outcome == "pass" for c in slack.tests)
    failed = sum(c.outcome == "fail" for c in slack.tests)
    assert slack.pass_rate == round(100 * passed / (passed + failed), 1)
    # One health score: 4 critical integrations weigh 2, 10 others 1 (18); Slack (critical) 0.
    assert report.health_score == round(16 * 100 / 18, 1) == 88.9
    assert api["summary"]["health_score"] == dashboard["summary"]["health_score"] == 88.9
    assert report.pass_rate == round(100 * report.passed / (report.passed + report.failed), 1)
    assert report.failed >= 1  # Slack's probe; latency tests may fail on a loaded machine
    assert any("SLACK_BOT_TOKEN" in line for line in report.recommendations)
    assert {c.name for c in slack.tests} >= {
        "configuration complete", "live probe", "route /api/{service}/health", "route /api/v2/health/health/{service}",
        "configuration check latency", "probe latency", "vendor status",
    }  # fmt: skip

    junit = ET.parse(junit_path).getroot()
    assert junit.tag == "testsuites"
    total = report.passed + report.failed + report.skipped
    assert (junit.get("failures"), junit.get("tests")) == (str(report.failed), str(total))
    suites = {suite.get("name"): suite for suite in junit.iter("testsuite")}
    assert len(suites) == 15  # each integration, and the server's routes
    assert suites["server"].get("tests") == str(len(report.system_tests))
    failure = suites["slack"].find("testcase[@name='live probe']/failure")
    assert failure is not None
    assert "credentials_rejected" in (failure.get("message") or "")
    assert suites["slack"].find("testcase[@name='configuration complete']/failure") is None


@pytest.mark.usefixtures("sim_process_env")
def test_answers_over_the_latency_targets_fail_with_advice(tmp_path: Path) -> None:
    reports = ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html")]

    result = CliRunner().invoke(
        app, ["test", "zoom", *reports, "--config-target-ms", "0", "--probe-target-ms", "0"]
    )

    assert result.exit_code == 1
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    outcomes = {case.name: case.outcome for case in report.integrations[0].tests}
    assert outcomes["configuration check latency"] == "fail"  # nothing answers in under 0 ms
    assert outcomes["probe latency"] == "fail"
    assert outcomes["live probe"] == "pass"
    assert any("the server itself is slow" in line for line in report.recommendations)
    route = next(r for r in report.routes if r.route == "/api/{service}/health")
    assert route.within_budget is False
    assert any(
        line.startswith(f"/api/{{service}}/health: p95 {route.p95_ms} ms over {route.calls} calls")
        and "exceeds its 0 ms budget" in line
        for line in report.recommendations
    )


@pytest.mark.usefixtures("sim_process_env")
def test_html_report_opens_in_chromium_without_errors(
    tmp_path: Path, simulator: Simulator, browser: Browser
) -> None:
    simulator.set_fault("github", "reject")
    html_path = tmp_path / "report.html"
    CliRunner().invoke(
        app, ["test", "--json-report", str(tmp_path / "r.json"), "--html-report", str(html_path)]
    )
    html = html_path.read_text()
    assert "http://" not in html.replace("http://127.0.0.1", "").replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )

    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(html_path.as_uri())

    assert "atom-health test report" in page.inner_text("h1")
    assert page.locator("section.integration").count() == 14
    assert page.locator("#server-routes tbody tr").count() == 8  # overview, bridge, batch
    assert page.locator("#route-times tbody tr").count() == 11  # 7 server, 4 per-integration
    assert page.locator(".chart svg rect").count() == 14
    assert "GITHUB_TOKEN" in page.inner_text("ul.advice")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "test-report.png"), full_page=True)
    page.close()
    assert errors == []


def test_demo_shows_the_intended_mix() -> None:
    with started(["demo"], dict(os.environ)) as (process, url):
        services = {
            s["service"]: s
            for s in httpx.get(url + "/api/dashboard", timeout=30).json()["services"]
        }
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)

    assert process.returncode == 0
    assert (services["slack"]["status"], services["slack"]["category"]) == (
        "unhealthy",
        "credentials_rejected",
    )
    assert services["trello"]["status"] == "unhealthy"
    assert services["trello"]["missing_env_vars"] == ["TRELLO_API_KEY", "TRELLO_API_SECRET"]
    assert services["github"]["status"] == "degraded"
    assert "slowly" in services["github"]["message"]
    assert services["stripe"]["status"] == "degraded"
    assert services["stripe"]["vendor_incident"]
    assert (services["hubspot"]["status"], services["hubspot"]["category"]) == (
        "unhealthy",
        "permission_denied",
    )
    assert "crm.objects.contacts.read" in services["hubspot"]["message"]
    assert services["linear"]["status"] == "degraded"
    assert "quota is low" in services["linear"]["message"]
    assert services["googledrive"]["category"] == "credential_expiring"
    assert "GOOGLE_REFRESH_TOKEN" in services["googledrive"]["message"]
    healthy = [name for name, s in services.items() if s["status"] == "healthy"]
    assert len(healthy) == 7
