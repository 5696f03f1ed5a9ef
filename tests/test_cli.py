"""The ``atom-health`` command: tables, JSON, exit codes and errors without tracebacks."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import Request
from fastapi.responses import JSONResponse
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.serving import ThreadedServer, free_port
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FULL_ENV

FULL_SERVICES = ("zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
                 "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero")  # fmt: skip

runner = CliRunner()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real process environment, without any integration or atom-health variable."""
    for name in list(os.environ):
        if name in FULL_ENV or name.startswith("ATOM_HEALTH_"):
            monkeypatch.delenv(name)


@pytest.mark.usefixtures("clean_env")
def test_health_exit_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    not_configured = runner.invoke(app, ["health", "linear", "--no-api"])
    assert not_configured.exit_code == 1
    assert "✖ unhealthy" in not_configured.stdout
    assert "LINEAR_API_KEY" in not_configured.stdout

    monkeypatch.setenv("LINEAR_API_KEY", "lin")
    healthy = runner.invoke(app, ["health", "linear", "--no-api"])
    assert healthy.exit_code == 0
    assert "✔ healthy" in healthy.stdout

    unknown = runner.invoke(app, ["health", "linear", "friendster"])
    assert unknown.exit_code == 2
    assert "Unknown integration: friendster" in unknown.stderr
    assert "Traceback" not in unknown.output


@pytest.mark.usefixtures("clean_env")
def test_health_json_is_the_overview_body(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOOM_API_KEY", "k")

    result = runner.invoke(app, ["health", "zoom", "google-drive", "--json", "--no-api"])

    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["summary"]["total_services"] == 2
    assert body["summary"]["overall_status"] == "unhealthy"
    assert body["services"]["zoom"]["missing_env_vars"] == ["ZOOM_API_SECRET"]
    assert set(body["services"]) == {"zoom", "googledrive"}


@pytest.mark.usefixtures("clean_env")
def test_config_command_table_and_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "s")

    table = runner.invoke(app, ["config"])
    as_json = runner.invoke(app, ["config", "--json"])

    assert table.exit_code == 1  # required variables are missing, as `health` would say
    assert "33%" in table.stdout
    assert "0 configured · 1 partly · 13 not configured · 14 total" in table.stdout
    body = json.loads(as_json.stdout)
    assert body["integrations"]["slack"]["configuration_percentage"] == 33


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("command", ["health", "config", "serve"])
def test_malformed_config_file_exits_2_with_a_clear_message(tmp_path: Path, command: str) -> None:
    bad = tmp_path / "atom.yaml"
    bad.write_text("integrations:\n  zoom:\n    criticality: urgent\n")

    result = runner.invoke(app, [command, "--config", str(bad)])

    assert result.exit_code == 2
    assert str(bad) in result.stderr
    assert "integrations.zoom.criticality" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("clean_env")
def test_config_exits_0_only_when_every_required_variable_is_set(tmp_path: Path) -> None:
    config = tmp_path / "atom.yaml"
    config.write_text(
        "integrations:\n"
        + "".join(f"  {name}: {{enabled: false}}\n" for name in FULL_SERVICES if name != "linear")
    )
    missing = runner.invoke(app, ["config", "--config", str(config)])
    os.environ["LINEAR_API_KEY"] = "lin"
    try:
        complete = runner.invoke(app, ["config", "--config", str(config)])
    finally:
        del os.environ["LINEAR_API_KEY"]

    assert missing.exit_code == 1
    assert "LINEAR_API_KEY" in missing.stdout
    assert complete.exit_code == 0, complete.output


def test_version() -> None:
    from atom_health._version import __version__

    result = runner.invoke(app, ["--version"])

    assert result.exit_code == 0
    assert result.stdout == f"atom-health {__version__}\n"


@pytest.mark.parametrize(
    "command", ["", "serve", "system", "health", "config", "test", "demo", "fault", "simulate"]
)
def test_help_has_no_type_placeholders(command: str) -> None:
    result = runner.invoke(app, [*command.split(), "--help"])

    assert result.exit_code == 0
    assert "<" not in result.stdout.replace("<=", ""), result.stdout  # no <bool>, <str>, ...
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["health", "config", "serve"])
def test_help_is_complete(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])

    assert result.exit_code == 0
    assert "--config" in result.stdout
    expected = {"health": ["--json", "--no-api", "[SERVICE]...", "--url", "--api-key",
                           "ATOM_HEALTH_API_KEY"], "config": ["--json"],
                "serve": ["--host", "--port", "--log-level"]}[command]  # fmt: skip
    for option in expected:
        assert option in result.stdout


def test_serve_runs_the_installed_command_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in FULL_ENV}
    env["LINEAR_API_KEY"] = "lin"
    command = [sys.executable, "-m", "atom_health", "serve", "--port", str(port),
               "--database-url", f"sqlite:///{tmp_path / 'history.db'}"]  # fmt: skip
    with subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) as process:
        try:
            body = _wait_for_json(f"http://127.0.0.1:{port}/api/linear/health?check_api=false")
            assert body["status"] == "healthy"
            # A dashboard's event stream is open while the server is asked to stop.
            with httpx.stream("GET", f"http://127.0.0.1:{port}/api/events", timeout=30) as events:
                assert next(events.iter_text()).startswith("retry:")
                process.terminate()
                _, stderr = process.communicate(timeout=15)  # it does not wait for the stream
        finally:
            if process.poll() is None:
                process.kill()
    assert "Finished server process" in stderr  # uvicorn's graceful shutdown completed


def _wait_for_json(url: str) -> dict[str, object]:
    for _ in range(200):
        try:
            body: dict[str, object] = httpx.get(url, timeout=1).json()
            return body
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"server at {url} never answered")


def test_a_busy_port_exits_4_not_1(tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "atom_health", "serve", "--port", str(port),
             "--database-url", "memory://"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert result.returncode == 4, result.stderr
    assert f"could not listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture
def guarded_server(system: HealthSystem) -> Iterator[ThreadedServer]:
    """The real app behind a Bearer-key check (as access control would answer)."""
    guarded = create_app(system)

    @guarded.middleware("http")
    async def require_key(request: Request, call_next: Any) -> Any:
        if request.headers.get("authorization") != "Bearer s3cret-key-42":
            return JSONResponse({"ok": False, "error": "unauthorized"}, status_code=401)
        return await call_next(request)

    with ThreadedServer(guarded) as running:
        yield running


@pytest.mark.usefixtures("clean_env")
def test_health_asks_a_running_server_with_a_key(
    guarded_server: ThreadedServer, environ: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    environ["LINEAR_API_KEY"] = "lin"  # the server's environment, not this process's
    url = guarded_server.url

    refused = runner.invoke(app, ["health", "--url", url, "--no-api"])
    one = runner.invoke(
        app, ["health", "linear", "--url", url, "--no-api", "--api-key", "s3cret-key-42"]
    )
    monkeypatch.setenv("ATOM_HEALTH_API_KEY", "s3cret-key-42")
    every = runner.invoke(app, ["health", "--url", url, "--no-api", "--json"])
    unknown = runner.invoke(app, ["health", "friendster", "--url", url])
    unreachable = runner.invoke(app, ["health", "--url", "http://127.0.0.1:1"])

    assert refused.exit_code == 2
    assert "refused the request (HTTP 401)" in refused.stderr
    assert "ATOM_HEALTH_API_KEY" in refused.stderr
    assert one.exit_code == 0, one.output
    assert "✔ healthy" in one.stdout
    assert every.exit_code == 1  # the others are not configured on the server
    body = json.loads(every.stdout)
    assert body["summary"]["total_services"] == 14
    assert body["services"]["linear"]["status"] == "healthy"
    assert unknown.exit_code == 2
    assert "Unknown integration: friendster" in unknown.stderr
    assert unreachable.exit_code == 5
    for result in (refused, one, every, unknown, unreachable):
        assert "s3cret-key-42" not in result.output
        assert "Traceback" not in result.output


def test_demo_prints_fault_commands_that_work_when_pasted(tmp_path: Path) -> None:
    """Run as the installed script with its directory NOT on PATH (a venv not activated)."""
    script = Path(sys.executable).parent / "atom-health"
    port, simulator_port = free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in FULL_ENV}
    env["PATH"] = "/usr/bin:/bin"
    env["PYTHONUNBUFFERED"] = "1"
    command = [str(script), "demo", "--port", str(port), "--simulator-port", str(simulator_port)]
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as process:
        try:
            assert process.stdout is not None
            lines: list[str] = []
            while not any(" fault zoom server_error " in line for line in lines):
                line = process.stdout.readline()
                assert line, "".join(lines)
                lines.append(line)
            pasted = next(line for line in lines if " fault slack none " in line).strip()
            assert f"--simulator http://127.0.0.1:{simulator_port}" in pasted

            ran = subprocess.run(
                ["bash", "-c", pasted], env=env, capture_output=True, text=True, timeout=60
            )

            assert ran.returncode == 0, ran.stdout + ran.stderr
            state = httpx.get(f"http://127.0.0.1:{simulator_port}/_admin/state", timeout=10)
            assert state.json()["providers"]["slack"]["fault"] is None  # the demo had "reject"
        finally:
            process.terminate()
            process.wait(timeout=30)
