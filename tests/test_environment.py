"""The ATOM_HEALTH_* environment (pydantic-settings) and the one precedence: command-line flag,
then the environment, then the config file, then the default."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.config import ConfigError, Role, SecuritySettings, load_settings, read_environment
from atom_health.config.security import configured_keys, key_digest
from atom_health.serving import free_port
from atom_health.store import MemoryStore
from atom_health.system import HealthSystem

ROOT = Path(__file__).parent.parent


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "atom.yaml"
    path.write_text('history: {database_url: "sqlite:///from-file.db"}\n')
    return path


def test_database_url_precedence_flag_environment_file_default(config_file: Path) -> None:
    env = {"ATOM_HEALTH_DATABASE_URL": "sqlite:///from-env.db"}

    def url(path: Path | None, environ: dict[str, str], flag: str | None = None) -> str:
        return load_settings(path, environ, database_url=flag).history.database_url

    assert url(config_file, env, "memory://") == "memory://"
    assert url(config_file, env) == "sqlite:///from-env.db"
    assert url(config_file, {}) == "sqlite:///from-file.db"
    assert url(None, {}) == "sqlite:///atom-health.db"
    assert url(None, {"ATOM_HEALTH_DATABASE_URL": ""}) == "sqlite:///atom-health.db"  # unset


def test_redis_url_from_the_environment_beats_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "atom.yaml"
    path.write_text('redis_url: "redis://from-file:6379/0"\n')

    assert load_settings(path, {}).redis_url == "redis://from-file:6379/0"
    env = {"ATOM_HEALTH_REDIS_URL": "redis://from-env:6379/0"}
    assert load_settings(path, env).redis_url == "redis://from-env:6379/0"
    assert load_settings(None, {}).redis_url is None


def test_api_keys_come_from_the_environment_and_the_config_file_and_never_show() -> None:
    security = SecuritySettings.model_validate(
        {"keys": [{"name": "ci", "role": "read", "sha256": "ab" * 32}]}
    )
    env = {"ATOM_HEALTH_READ_KEY": "read-s3cret", "ATOM_HEALTH_ADMIN_KEY": "admin-s3cret"}

    keys = configured_keys(security, env)

    assert [(k.name, k.role) for k in keys] == [
        ("env-read", Role.read), ("env-admin", Role.admin), ("ci", Role.read)
    ]  # fmt: skip
    assert keys[0].digest == key_digest("read-s3cret")
    assert [k.name for k in configured_keys(security, {"ATOM_HEALTH_READ_KEY": ""})] == ["ci"]
    shown = repr(read_environment(env))
    assert "read-s3cret" not in shown
    assert "admin-s3cret" not in shown


def test_config_path_from_the_environment_and_the_flag_wins(
    config_file: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other.yaml"
    other.write_text('history: {database_url: "sqlite:///other.db"}\n')
    env = {"ATOM_HEALTH_CONFIG": str(config_file)}

    assert load_settings(None, env).history.database_url == "sqlite:///from-file.db"
    assert load_settings(other, env).history.database_url == "sqlite:///other.db"
    assert load_settings(None, env).source == str(config_file)


def test_the_system_opens_the_store_its_settings_name_not_the_environment() -> None:
    settings = load_settings(None, {}, database_url="memory://")
    environ = {"ATOM_HEALTH_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}

    system = HealthSystem(settings, environ)

    assert system.database_url == "memory://"
    assert isinstance(system.store, MemoryStore)
    system.store.close()


def test_test_command_keeps_its_in_memory_store_whatever_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, simulator: object
) -> None:
    database = tmp_path / "must-not-exist.db"
    monkeypatch.setenv("ATOM_HEALTH_DATABASE_URL", f"sqlite:///{database}")
    reports = ["--json-report", str(tmp_path / "r.json"), "--html-report", str(tmp_path / "r.html")]

    result = CliRunner().invoke(app, ["test", "zoom", *reports, "--probe-target-ms", "600000",
                                      "--config-target-ms", "600000"])  # fmt: skip

    assert result.exit_code in (0, 1), result.output
    assert (tmp_path / "r.json").exists()
    assert not database.exists()  # the environment's database was never opened


def test_environment_values_are_typed_and_a_bad_one_is_named_not_echoed() -> None:
    environment = read_environment(
        {"ATOM_HEALTH_PORT": "9001", "ATOM_HEALTH_LOG_LEVEL": "DEBUG", "ATOM_HEALTH_DEBUG": "1",
         "ATOM_HEALTH_ZOOM_BASE_URL": "http://127.0.0.1:1/zoom", "HOME": "/root"}
    )  # fmt: skip
    assert (environment.port, environment.log_level, environment.debug) == (9001, "debug", True)
    assert environment.host is None

    with pytest.raises(ConfigError) as bad:
        read_environment({"ATOM_HEALTH_PORT": "s3cr3t-port"})
    assert "ATOM_HEALTH_PORT" in str(bad.value)
    assert "s3cr3t-port" not in str(bad.value)


def test_a_bad_environment_value_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOM_HEALTH_PORT", "eighty")

    result = CliRunner().invoke(app, ["system"])

    assert result.exit_code == 2
    assert "ATOM_HEALTH_PORT" in result.stderr
    assert "Traceback" not in result.output


def serve_until_ready(args: list[str], env: dict[str, str]) -> str:
    """Run ``atom-health ARGS`` until it answers; return the URL it printed, then stop it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "atom_health", *args], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 60
        for line in process.stdout:
            if "Dashboard:" in line:
                url = line.split("Dashboard:")[1].split()[0]
                assert httpx.get(url + "api/integrations/config").status_code == 200
                return url
            assert time.monotonic() < deadline, "the server did not start"
        raise AssertionError("the server stopped before it was ready")
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_server_listens_where_the_environment_says_unless_a_flag_says_otherwise(
    tmp_path: Path,
) -> None:
    env_port, flag_port = free_port(), free_port()
    database = tmp_path / "must-not-exist.db"
    env = {**os.environ, "ATOM_HEALTH_HOST": "127.0.0.1", "ATOM_HEALTH_PORT": str(env_port),
           "ATOM_HEALTH_DATABASE_URL": f"sqlite:///{database}"}  # fmt: skip
    in_memory = ["--database-url", "memory://"]

    assert serve_until_ready(["system", *in_memory], env) == f"http://127.0.0.1:{env_port}/"
    assert serve_until_ready(["system", *in_memory, "--port", str(flag_port)], env) == (
        f"http://127.0.0.1:{flag_port}/"
    )
    assert not database.exists()  # --database-url beat the environment's database


def test_one_virtualenv_serves_run_and_test_without_reinstalling(tmp_path: Path) -> None:
    """scripts/ensure-venv keeps every extra asked for: ./run after ./test installs nothing."""
    (tmp_path / "scripts").mkdir()
    script = tmp_path / "scripts" / "ensure-venv"
    script.write_text((ROOT / "scripts" / "ensure-venv").read_text())
    script.chmod(0o755)
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    log = tmp_path / "installs.log"
    fake_python = tmp_path / ".venv" / "bin" / "python"
    fake_python.parent.mkdir(parents=True)
    fake_python.write_text(f'#!/bin/sh\ncase "$*" in *"-e "*) echo "$*" >> {log};; esac\n')
    fake_python.chmod(0o755)
    env = {**os.environ, "PYTHON": sys.executable}

    def ensure(*extras: str) -> list[str]:
        before = log.read_text().splitlines() if log.exists() else []
        subprocess.run([str(script), *extras], env=env, check=True, capture_output=True)
        after = log.read_text().splitlines() if log.exists() else []
        return after[len(before) :]

    assert ensure("test") == ["-m pip install --quiet --disable-pip-version-check -e .[test]"]
    assert ensure() == []  # ./run after ./test
    assert ensure("test") == []  # and back
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'y'\n")
    assert ensure() == ["-m pip install --quiet --disable-pip-version-check -e .[test]"]
