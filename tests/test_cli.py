"""The ``atom-health`` command: tables, JSON, exit codes and errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.serving import free_port
from tests.conftest import FULL_ENV

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

    assert table.exit_code == 0
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


@pytest.mark.parametrize("command", ["health", "config", "serve"])
def test_help_is_complete(command: str) -> None:
    result = runner.invoke(app, [command, "--help"])

    assert result.exit_code == 0
    assert "--config" in result.stdout
    expected = {"health": ["--json", "--no-api", "SERVICE..."], "config": ["--json"],
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
