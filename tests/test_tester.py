"""`atom-health test`, closer to the original system: the server's own routes (the overview and
every alias, the bridge routes, every integration at once), each route's p50/p95 over N calls,
and the summary on the console in the original's form."""

from __future__ import annotations

import json
import re
import string
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.responses import Response
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.config import HistorySettings, Settings
from atom_health.config.security import SecuritySettings
from atom_health.model import routes as paths
from atom_health.report.models import TestReport
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from atom_health.system import HealthSystem
from tests.conftest import FAST_PROBES, FULL_ENV

# Latency targets no machine misses, so outcomes never depend on its speed or load.
ANY_SPEED = ["--config-target-ms", "600000", "--probe-target-ms", "600000",
             "--batch-target-ms", "600000"]  # fmt: skip
SERVER_ROUTES = [*(paths.OVERVIEW, *paths.OVERVIEW_ALIASES),
                 paths.BRIDGE_HEALTH, paths.BRIDGE_STATUS, paths.DISCOVER]  # fmt: skip
SERVICE_ROUTES = [paths.SERVICE_HEALTH, *paths.SERVICE_HEALTH_ALIASES]

Scope = MutableMapping[str, Any]
Asgi = Callable[[Scope, Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]], Awaitable[None]]  # fmt: skip


def report_options(tmp_path: Path) -> list[str]:
    return ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html")]


def test_server_routes_batch_and_route_times_are_tested_and_reported(
    tmp_path: Path, simulator: Simulator
) -> None:
    result = CliRunner().invoke(
        app,
        ["test", "stripe", "zoom", *report_options(tmp_path), "--calls", "3", *ANY_SPEED],
        env=simulator.environment(),
    )

    assert result.exit_code == 0, result.output
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    system = {case.name: case for case in report.system_tests}
    assert set(system) == {"all integrations at once", *(f"route {r}" for r in SERVER_ROUTES)}
    assert {case.outcome for case in system.values()} == {"pass"}, system
    batch = system["all integrations at once"].detail
    assert re.fullmatch(r"14/14 integrations answered in \d+ ms \(target < 600000 ms\)", batch)
    assert report.calls_per_route == 3
    times = {route.route: route for route in report.routes}
    assert set(times) == {*SERVER_ROUTES, *SERVICE_ROUTES}
    for route in SERVER_ROUTES:
        assert times[route].calls == 3
    for route in SERVICE_ROUTES:
        assert times[route].calls == 3 * 2  # per integration tested
    for route in times.values():
        assert route.failures == 0
        assert route.p50_ms is not None
        assert route.p95_ms is not None
        assert 0 < route.p50_ms <= route.p95_ms
        assert route.within_budget
    assert report.overall_status == "healthy"
    assert report.passed == sum(i.passed for i in report.integrations) + len(system)
    html = (tmp_path / "r.html").read_text()
    assert "Route answer times" in html
    assert "/api/bridge/status" in html
    assert f"{times[paths.DISCOVER].p95_ms:.1f} ms" in html


def broken(app: Asgi, answers: dict[str, tuple[int, bytes]]) -> Asgi:
    """``app``, except that the paths in ``answers`` answer (status, body)."""

    async def serve(scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"] in answers:
            status, body = answers[scope["path"]]
            await Response(body, status, media_type="application/json")(scope, receive, send)
        else:
            await app(scope, receive, send)

    return serve


def test_a_broken_alias_or_bridge_route_fails_with_advice(
    tmp_path: Path, sim_credentials: dict[str, str], sim_urls: dict[str, str]
) -> None:
    settings = Settings(probes=FAST_PROBES, history=HistorySettings(database_url="memory://"))
    system = HealthSystem(settings, {**sim_credentials, **sim_urls}, scheduler=False)
    served = broken(system.web_app(), {
        "/api/v2/health/health/summary": (200, b'{"ok": true}'),
        "/api/bridge/status": (503, b'{"detail": "down"}'),
        "/api/enhanced/integrations/zoom/health": (200, b"[]"),
    })  # fmt: skip
    with ThreadedServer(served) as server:
        result = CliRunner().invoke(app, [
            "test", "zoom", "--url", server.url, *report_options(tmp_path), "--calls", "2",
            *ANY_SPEED,
        ])  # fmt: skip

    assert result.exit_code == 1
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    failed = {c.name for c in report.system_tests if c.outcome == "fail"}
    assert failed == {"route /api/v2/health/health/summary", "route /api/bridge/status"}
    zoom = {c.name: c for c in report.integrations[0].tests}
    assert zoom["route /api/enhanced/integrations/{service}/health"].outcome == "fail"
    assert zoom["route /api/integrations/{service}/health"].outcome == "pass"
    status = next(r for r in report.routes if r.route == "/api/bridge/status")
    assert (status.calls, status.failures) == (2, 2)
    advice = "\n".join(report.recommendations)
    assert (
        "route /api/v2/health/health/summary returned a bad answer (HTTP 200, body invalid"
        in advice
    )
    assert "/api/bridge/status: 2 of 2 calls did not answer 200" in advice
    assert "Zoom: route /api/enhanced/integrations/{service}/health returned a bad answer" in advice


def test_batch_over_its_target_fails_with_the_measured_time(
    tmp_path: Path, simulator: Simulator
) -> None:
    result = CliRunner().invoke(
        app,
        ["test", "zoom", *report_options(tmp_path), "--calls", "1", "--batch-target-ms", "0"],
        env=simulator.environment(),
    )

    assert result.exit_code == 1
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    batch = next(c for c in report.system_tests if c.name == "all integrations at once")
    assert batch.outcome == "fail"
    assert re.fullmatch(r"14/14 integrations answered in \d+ ms \(target < 0 ms\)", batch.detail)
    assert any(line.startswith("Not every integration answered in time (14/14")
               for line in report.recommendations)  # fmt: skip


def test_console_summary_has_the_original_form(tmp_path: Path, simulator: Simulator) -> None:
    simulator.set_fault("hubspot", "reject")
    junit = tmp_path / "junit.xml"
    options = [*report_options(tmp_path), "--junit-xml", str(junit), "--calls", "2", *ANY_SPEED]

    result = CliRunner().invoke(app, ["test", *options], env=simulator.environment())
    as_json = CliRunner().invoke(app, ["test", "stripe", *options, "--json"],
                                 env=simulator.environment())  # fmt: skip

    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    report = TestReport.model_validate_json(as_json.stdout)  # nothing but the JSON on stdout
    assert [i.service for i in report.integrations] == ["stripe"]
    assert json.loads(as_json.stdout) == json.loads((tmp_path / "r.json").read_text())
    assert lines[0] == "Overall status: DEGRADED"  # HubSpot down, the others up
    assert lines[1] == "System health score: 94.4"  # the one health score (17 of 18 weights)
    assert re.fullmatch(r"Test duration: \d+\.\d s", lines[2])
    assert lines[3] == "Integrations: 14"
    per_integration = lines[5:19]
    assert "Stripe: 100.0% (9/9 passed)" in per_integration
    assert "GitHub: 100.0% (9/9 passed)" in per_integration
    hubspot = next(line for line in per_integration if line.startswith("HubSpot: "))
    passed, total = map(int, re.fullmatch(r"HubSpot: [\d.]+% \((\d+)/(\d+) passed\)", hubspot).groups())  # type: ignore[union-attr]  # fmt: skip
    assert 0 < passed < total
    assert hubspot.startswith(f"HubSpot: {100 * passed / total:.1f}% ")
    assert all(
        re.fullmatch(r"[\w .]+: \d+\.\d% \(\d+/\d+ passed\)", line) for line in per_integration
    )
    assert lines[19] == "Overview, bridge and batch routes: 8/8 passed"
    advice = lines.index("Recommendations:")
    assert advice > 19
    assert lines[advice + 1].startswith("  - HubSpot: ")
    assert "HUBSPOT_ACCESS_TOKEN" in lines[advice + 1]
    assert lines[-1] == f"Reports: {tmp_path / 'r.json'}  {tmp_path / 'r.html'}  {junit}"
    assert ET.parse(junit).getroot().tag == "testsuites"


SECRET_ALPHABET = string.ascii_letters + string.digits


@settings(
    max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secret=st.text(alphabet=SECRET_ALPHABET, min_size=24, max_size=40).filter(
    lambda s: sum(c.isdigit() for c in s) >= 3 and sum(c.isupper() for c in s) >= 3
))  # fmt: skip
def test_tester_output_never_reveals_secret_values(tmp_path: Path, secret: str) -> None:
    secrets = {name: f"{secret}{index}" for index, name in enumerate(FULL_ENV)}
    junit = tmp_path / "junit.xml"
    options = [*report_options(tmp_path), "--junit-xml", str(junit), "--calls", "1"]

    shown = CliRunner().invoke(app, ["test", *options], env=secrets)
    as_json = CliRunner().invoke(app, ["test", *options, "--json"], env=secrets)

    assert shown.exit_code == as_json.exit_code == 1  # the simulator rejects these credentials
    written = [path.read_text() for path in (tmp_path / "r.json", tmp_path / "r.html", junit)]
    for text in (shown.output, as_json.output, *written):
        assert secret not in text


READ_KEY = "read-Key-0123456789-abcdefXYZ"
ADMIN_KEY = "admin-Key-9876543210-ghijklUVW"


def keyed_system(environ: dict[str, str], rate_limit: str = "600/minute") -> HealthSystem:
    settings = Settings(
        probes=FAST_PROBES,
        history=HistorySettings(database_url="memory://"),
        security=SecuritySettings(rate_limit=rate_limit),
        batch_deadline_seconds=30,  # a loaded machine: the cold overview waits for every check
    )
    keys = {"ATOM_HEALTH_READ_KEY": READ_KEY, "ATOM_HEALTH_ADMIN_KEY": ADMIN_KEY}
    return HealthSystem(settings, {**environ, **keys}, scheduler=False)


def test_keys_refused_read_only_and_admin(
    tmp_path: Path, sim_credentials: dict[str, str], sim_urls: dict[str, str]
) -> None:
    system = keyed_system({**sim_credentials, **sim_urls})
    options = ["zoom", *report_options(tmp_path), "--calls", "1", *ANY_SPEED]
    with ThreadedServer(system.web_app()) as server:
        anonymous = CliRunner().invoke(app, ["test", "--url", server.url, *options])
        read = CliRunner().invoke(
            app, ["test", "--url", server.url, *options, "--api-key", READ_KEY]
        )
        read_report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
        admin = CliRunner().invoke(
            app, ["test", "--url", server.url, *options, "--api-key", ADMIN_KEY]
        )
        admin_report = TestReport.model_validate_json((tmp_path / "r.json").read_text())

    assert anonymous.exit_code == 2
    assert "refused the request (HTTP 401): give an API key" in anonymous.stderr
    assert "Traceback" not in anonymous.output
    # A read key may not refresh: the tester says so and tests what the server has.
    assert read.exit_code == 0, read.output
    batch = next(c for c in read_report.system_tests if c.name == "all integrations at once")
    assert "not refreshed: the API key may not ask for a refresh" in batch.detail
    live = next(c for c in read_report.integrations[0].tests if c.name == "live probe")
    assert live.outcome == "pass"
    assert "not refreshed" in live.detail
    assert admin.exit_code == 0, admin.output
    assert "not refreshed" not in admin_report.model_dump_json()
    for text in (anonymous.output, read.output, admin.output, admin_report.model_dump_json()):
        assert READ_KEY not in text
        assert ADMIN_KEY not in text


def test_a_rate_limited_tester_says_so(
    tmp_path: Path, sim_credentials: dict[str, str], sim_urls: dict[str, str]
) -> None:
    system = keyed_system({**sim_credentials, **sim_urls}, rate_limit="20/hour")
    with ThreadedServer(system.web_app()) as server:
        result = CliRunner().invoke(app, [
            "test", "zoom", "--url", server.url, "--api-key", ADMIN_KEY,
            *report_options(tmp_path), *ANY_SPEED,
        ])  # fmt: skip

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    report = TestReport.model_validate_json((tmp_path / "r.json").read_text())
    assert sum(route.rate_limited for route in report.routes) > 0
    zoom = report.integrations[0]
    assert [(c.name, c.outcome) for c in zoom.tests] == [("health answer", "fail")]
    assert zoom.tests[0].detail == "HTTP 429, not a health answer"
    assert [line for line in report.recommendations if "429" in line] == [
        "The server rate-limited the tester (HTTP 429): lower --calls, or raise the server's "
        "security.rate_limit for the tester's key."
    ]  # one line of advice, not one per route
    assert not any("check the server version" in line for line in report.recommendations)
