"""No secret value ever leaves the process: not in bodies, headers, logs or CLI output."""

from __future__ import annotations

import logging
import string
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.simulator import PROVIDERS, Simulator
from tests.conftest import FULL_ENV

SECRET_ALPHABET = string.ascii_letters + string.digits + "-_.~+/="


def looks_like_a_secret(value: str) -> bool:
    """Mixed case and digits, as real keys are; public text (paths, names) never matches."""
    return (
        sum(c.isdigit() for c in value) >= 3
        and sum(c.isupper() for c in value) >= 3
        and sum(c.islower() for c in value) >= 3
    )


secret_values = st.text(alphabet=SECRET_ALPHABET, min_size=16, max_size=48).filter(
    looks_like_a_secret
)
environments = st.fixed_dictionaries({name: secret_values for name in FULL_ENV})

API_PATHS = [
    "/api/integrations/health",
    "/api/integrations/health?check_api=false",
    "/api/integrations/config",
    "/api/v2/health/health/all",
    "/api/enhanced/health/overview",
    *[f"/api/{name}/health" for name in ("zoom", "slack", "github", "jira", "google-drive")],
    "/api/unknown-one/health",
    "/api/zoom/health?check_api=nonsense",
    "/api/alerts",
    "/api/dashboard",
    "/api/incidents",
]
CLI_COMMANDS = [
    ["health"],
    ["health", "--json"],
    ["health", "--no-api"],
    ["config"],
    ["config", "--json"],
    ["health", "nope"],
]


class RecordingHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = RecordingHandler()
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler.lines
    root.removeHandler(handler)
    root.setLevel(previous)


def leaked(secrets: dict[str, str], *texts: str) -> list[str]:
    return [name for name, value in secrets.items() for text in texts if value in text]


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secrets=environments)
def test_api_never_reveals_secret_values(
    secrets: dict[str, str], api: httpx.Client, environ: dict[str, str], log_lines: list[str]
) -> None:
    environ.clear()
    environ.update(secrets)
    log_lines.clear()

    for path in API_PATHS:
        response = api.get(path)
        headers = "\n".join(f"{k}: {v}" for k, v in response.headers.items())
        assert not leaked(secrets, response.text, headers), path

    assert not leaked(secrets, *log_lines)


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secrets=environments)
def test_cli_never_reveals_secret_values(secrets: dict[str, str], log_lines: list[str]) -> None:
    runner = CliRunner()
    log_lines.clear()

    for command in CLI_COMMANDS:
        result = runner.invoke(app, command, env=secrets)
        assert not leaked(secrets, result.output), command

    assert not leaked(secrets, *log_lines)


PROBE_FAULTS = [None, "reject", "forbidden", "rate_limit", "server_error", "malformed", "reset"]


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(secrets=environments, fault=st.sampled_from(PROBE_FAULTS))
def test_probe_failures_never_reveal_secret_values(
    secrets: dict[str, str],
    fault: str | None,
    api: httpx.Client,
    environ: dict[str, str],
    simulator: Simulator,
    sim_credentials: dict[str, str],
    log_lines: list[str],
) -> None:
    """Random credentials (refused) and every fault class, through every provider's probe."""
    environ.update(secrets)
    # Half the providers keep valid credentials, so faults reach past authentication too.
    for name in list(secrets)[::2]:
        environ[name] = sim_credentials.get(name, secrets[name])
    for provider in PROVIDERS:
        simulator.set_fault(provider, fault, retry_after=0)
    log_lines.clear()

    response = api.get("/api/integrations/health", params={"refresh": "true"})
    details = [api.get(f"/api/{p}/health").text for p in PROVIDERS]

    # Every credential in use, random or valid; a base URL is configuration, not a secret.
    secret_values = {k: environ[k] for k in secrets if not k.endswith("_URL")}
    assert not leaked(secret_values, response.text, *details, *log_lines)
