"""Shared fixtures: a controllable environment and the real app served on loopback."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import httpx
import pytest

from atom_health.catalog import build_catalog
from atom_health.config import Settings
from atom_health.monitor import HealthMonitor
from atom_health.web.app import create_app
from atom_health.web.threaded_server import ThreadedServer

# Every built-in integration with all of its required variables, as test values.
FULL_ENV: dict[str, str] = {
    "ZOOM_API_KEY": "zoom-key", "ZOOM_API_SECRET": "zoom-secret",
    "NOTION_CLIENT_ID": "notion-id", "NOTION_CLIENT_SECRET": "notion-secret",
    "TRELLO_API_KEY": "trello-key", "TRELLO_API_SECRET": "trello-secret",
    "STRIPE_API_KEY": "sk_test_abc", "STRIPE_WEBHOOK_SECRET": "whsec_abc",
    "QUICKBOOKS_CLIENT_ID": "qb-id", "QUICKBOOKS_CLIENT_SECRET": "qb-secret",
    "GITHUB_CLIENT_ID": "gh-id", "GITHUB_CLIENT_SECRET": "gh-secret", "GITHUB_TOKEN": "ghp_abc",
    "SALESFORCE_CLIENT_ID": "sf-id", "SALESFORCE_CLIENT_SECRET": "sf-secret",
    "GOOGLE_CLIENT_ID": "g-id", "GOOGLE_CLIENT_SECRET": "g-secret",
    "DROPBOX_APP_KEY": "db-key", "DROPBOX_APP_SECRET": "db-secret",
    "SLACK_CLIENT_ID": "sl-id", "SLACK_CLIENT_SECRET": "sl-secret",
    "SLACK_SIGNING_SECRET": "sl-sign",
    "HUBSPOT_ACCESS_TOKEN": "hs-token",
    "JIRA_BASE_URL": "https://example.atlassian.net", "JIRA_EMAIL": "ops@example.com",
    "JIRA_API_TOKEN": "jira-token",
    "LINEAR_API_KEY": "lin_api_abc",
    "XERO_CLIENT_ID": "xero-id", "XERO_CLIENT_SECRET": "xero-secret",
}  # fmt: skip


@pytest.fixture
def environ() -> dict[str, str]:
    """An empty process environment that tests fill in; the monitor reads it live."""
    return {}


@pytest.fixture
def make_monitor(environ: dict[str, str]) -> Callable[..., HealthMonitor]:
    def make(settings: Settings | None = None) -> HealthMonitor:
        chosen = settings or Settings()
        return HealthMonitor(build_catalog(chosen, environ), settings=chosen, environ=environ)

    return make


@pytest.fixture
def monitor(make_monitor: Callable[..., HealthMonitor]) -> HealthMonitor:
    return make_monitor()


@pytest.fixture
def server(monitor: HealthMonitor) -> Iterator[ThreadedServer]:
    with ThreadedServer(create_app(monitor)) as running:
        yield running


@pytest.fixture
def api(server: ThreadedServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
