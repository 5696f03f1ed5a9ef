"""No secret value ever leaves the process: not in bodies, headers, logs or CLI output."""

from __future__ import annotations

import logging
import string
from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from atom_health.cli import app
from atom_health.config import HistorySettings, SchedulerSettings, Settings
from atom_health.serving import ThreadedServer
from atom_health.simulator import PROVIDERS, Simulator
from atom_health.system import HealthSystem
from atom_health.web.app import create_app
from tests.conftest import FAST_PROBES, FULL_ENV, wait_for

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
    "/api/alerts/notifications",
    "/api/alerts/silences?expired=true",
    "/api/alerts/1",
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


class SlackReceiver:
    """A Slack incoming-webhook stand-in: the secret is in the URL path, as at Slack."""

    def __init__(self) -> None:
        self.posts: list[str] = []

        async def record(request: Request) -> JSONResponse:
            self.posts.append(request.url.path)
            return JSONResponse({"ok": True})

        self.server = ThreadedServer(
            Starlette(routes=[Route("/{path:path}", record, methods=["POST"])])
        )


@pytest.fixture
def slack_receiver() -> Iterator[SlackReceiver]:
    receiver = SlackReceiver()
    with receiver.server:
        yield receiver


@settings(
    max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(read_key=secret_values, admin_key=secret_values, wrong_key=secret_values, hook=secret_values)
def test_keys_and_webhook_urls_never_reach_logs_responses_or_the_audit_trail(
    read_key: str,
    admin_key: str,
    wrong_key: str,
    hook: str,
    environ: dict[str, str],
    sim_credentials: dict[str, str],
    simulator: Simulator,
    slack_receiver: SlackReceiver,
    log_lines: list[str],
) -> None:
    """Root logging at DEBUG (httpx and httpcore included) while the API is used with right,
    wrong and session credentials and an alert goes to a Slack webhook whose URL is secret."""
    assume(len({read_key, admin_key, wrong_key}) == 3)
    hook_path = "/services/" + quote(hook, safe="")
    environ.update(sim_credentials)
    environ.update(
        ATOM_HEALTH_READ_KEY=read_key,
        ATOM_HEALTH_ADMIN_KEY=admin_key,
        ALERTS_SLACK_URL=slack_receiver.server.url + hook_path,
    )
    simulator.set_fault("slack", "reject")
    chosen = Settings.model_validate(
        {"alerting": {"notifiers": [{"type": "slack", "url_env": "ALERTS_SLACK_URL"}]}}
    ).model_copy(
        update={
            "probes": FAST_PROBES,
            "refresh_min_interval_seconds": 0,
            "history": HistorySettings(database_url="memory://"),
            "scheduler": SchedulerSettings(enabled=False),
        }
    )
    log_lines.clear()
    texts: list[str] = []
    posts_before = len(slack_receiver.posts)
    with ThreadedServer(create_app(HealthSystem(chosen, environ))) as server:
        client = httpx.Client(base_url=server.url, timeout=30)
        for key in (read_key, admin_key, wrong_key):
            auth = {"Authorization": f"Bearer {key}"}
            for path in (*API_PATHS, "/api/session", "/metrics", "/api/audit"):
                texts.append(client.get(path, headers=auth).text)
            texts.append(client.get("/api/slack/health?refresh=true", headers=auth).text)
            texts.append(client.delete("/api/integrations/config", headers=auth).text)
        signed = client.post("/api/session", json={"key": admin_key})
        texts += [signed.text, str(signed.headers), client.get("/api/dashboard").text]
        wait_for(lambda: len(slack_receiver.posts) > posts_before)
        wait_for(lambda: '"DELETE"' in client.get("/api/audit").text)
        texts.append(client.get("/api/audit").text)
        client.close()

    assert slack_receiver.posts[-1] == "/services/" + hook  # the alert went to the secret URL
    assert any('"key":"env-admin"' in line for line in log_lines)  # audit lines were captured
    secrets = {
        "read": read_key,
        "admin": admin_key,
        "wrong": wrong_key,
        "raw hook": hook,
        "hook": quote(hook, safe=""),
    }
    assert not leaked(secrets, *texts, *log_lines)
