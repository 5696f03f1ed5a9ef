"""The health JSON API, field by field, served by uvicorn on loopback."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

import atom_health
from tests.conftest import FULL_ENV

SERVICE_ALIASES = [
    "/api/{}/health",
    "/api/integrations/{}/health",
    "/api/v2/health/health/{}",
    "/api/enhanced/integrations/{}/health",
]
OVERVIEW_ALIASES = [
    "/api/integrations/health",
    "/api/v2/health/health/all",
    "/api/v2/health/health/summary",
    "/api/enhanced/health/overview",
]


def without_timestamp(body: dict[str, Any]) -> dict[str, Any]:
    """A body without what differs between two answers of one check: when, and from cache."""
    differ = ("timestamp", "cached", "age_seconds")
    return {key: value for key, value in body.items() if key not in differ}


def assert_utc_iso(value: str) -> None:
    parsed = datetime.fromisoformat(value)
    assert value.endswith("Z")
    assert parsed.utcoffset() is not None
    assert parsed.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


def test_not_configured_service_reports_every_field(api: httpx.Client) -> None:
    response = api.get("/api/zoom/health")

    assert response.status_code == 200
    body = response.json()
    assert_utc_iso(body.pop("timestamp"))
    parts = body.pop("services")
    assert parts["api"] == {
        "status": "skip",
        "message": "API access check skipped due to missing configuration",
        "category": None,
        "calls": None,
        "operations": {},
        "rate_limit": None,
    }
    assert parts["auth"] == {
        "status": "fail",
        "message": "Zoom has no credentials to use: set ZOOM_API_KEY, ZOOM_API_SECRET",
        "category": "not_configured",
        "credential": None,
    }
    assert set(parts["webhooks"]) >= {"status", "message", "last_verified_at"}
    assert body == {
        "ok": True,
        "status": "unhealthy",
        "service": "zoom",
        "name": "Zoom",
        "criticality": "critical",
        "is_mock": False,
        "configured": False,
        "message": "Zoom integration is not properly configured",
        "checks": {
            "configuration": {
                "status": "fail",
                "configured": False,
                "required_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET"],
                "present_env_vars": [],
                "missing_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET"],
                "configuration_percentage": 0,
                "fingerprints": {},
            },
            "api_access": {
                "status": "skip",
                "message": "API access check skipped due to missing configuration",
                "method": None,
                "http_status": None,
                "latency_ms": None,
                "category": None,
                "attempts": None,
                "evidence": None,
                "breaker": None,
                "provider_code": None,
                "quota": None,
                "scopes": None,
                "credential": None,
            },
            "vendor_status": None,
        },
        "cached": False,
        "pending": False,
        "age_seconds": None,
        "backend": "connected",  # the seed's enhanced answer fields
        "version": atom_health.__version__,
        "bridge_system_used": False,
    }


def test_partly_configured_service_names_what_is_missing(
    api: httpx.Client, environ: dict[str, str]
) -> None:
    environ.update(SLACK_SIGNING_SECRET="s", SLACK_CLIENT_ID="")  # empty counts as missing

    body = api.get("/api/slack/health").json()

    assert body["status"] == "unhealthy"
    assert body["configured"] is False
    configuration = body["checks"]["configuration"]
    assert configuration["status"] == "fail"
    assert configuration["present_env_vars"] == ["SLACK_SIGNING_SECRET"]
    assert configuration["missing_env_vars"] == ["SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET"]
    assert configuration["configuration_percentage"] == 33
    assert body["checks"]["api_access"]["status"] == "skip"


def test_fully_configured_service_is_proved_live(
    api: httpx.Client, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ["HUBSPOT_ACCESS_TOKEN"] = sim_credentials["HUBSPOT_ACCESS_TOKEN"]

    body = api.get("/api/hubspot/health").json()

    assert body["status"] == "healthy"
    assert body["message"] == "HubSpot integration is operational"
    assert set(body["checks"]["configuration"].pop("fingerprints")) == {"HUBSPOT_ACCESS_TOKEN"}
    assert body["checks"]["configuration"] == {
        "status": "pass",
        "configured": True,
        "required_env_vars": ["HUBSPOT_ACCESS_TOKEN"],
        "present_env_vars": ["HUBSPOT_ACCESS_TOKEN"],
        "missing_env_vars": [],
        "configuration_percentage": 100,
    }
    api_access = body["checks"]["api_access"]
    assert api_access["status"] == "pass"
    assert api_access["method"] == "GET /account-info/v3/details"
    assert api_access["http_status"] == 200
    assert api_access["evidence"] == "full"
    assert api_access["category"] is None
    assert api_access["breaker"] == {
        "state": "closed",
        "consecutive_failures": 0,
        "retry_in_seconds": None,
    }
    assert body["checks"]["vendor_status"]["state"] == "operational"


def test_configured_service_with_a_refused_credential_is_unhealthy(
    api: httpx.Client, environ: dict[str, str]
) -> None:
    environ["HUBSPOT_ACCESS_TOKEN"] = "not-the-right-token"

    body = api.get("/api/hubspot/health").json()

    assert body["status"] == "unhealthy"
    assert body["checks"]["api_access"]["category"] == "credentials_rejected"
    assert body["message"] == (
        "HubSpot rejected the credentials (INVALID_AUTHENTICATION, HTTP 401): "
        "check or regenerate HUBSPOT_ACCESS_TOKEN"
    )


def test_check_api_false_returns_the_configuration_verdict(
    api: httpx.Client, environ: dict[str, str]
) -> None:
    environ.update(LINEAR_API_KEY="lin")

    body = api.get("/api/linear/health", params={"check_api": "false"}).json()

    assert body["status"] == "healthy"
    assert body["message"] == "Linear integration is configured (API access not checked)"
    api_access = body["checks"]["api_access"]
    assert (api_access["status"], api_access["message"]) == (
        "skip",
        "API access check not requested (check_api=false)",
    )
    assert body["checks"]["vendor_status"] is None  # no provider was contacted


@pytest.mark.parametrize("path", SERVICE_ALIASES)
def test_service_aliases_answer_with_the_same_body(
    api: httpx.Client, environ: dict[str, str], path: str
) -> None:
    environ.update(DROPBOX_APP_KEY="k")
    primary = api.get("/api/dropbox/health").json()

    response = api.get(path.format("dropbox"))

    assert response.status_code == 200
    assert without_timestamp(response.json()) == without_timestamp(primary)


@pytest.mark.parametrize("path", SERVICE_ALIASES)
@pytest.mark.parametrize("name", ["google-drive", "GoogleDrive"])
def test_google_drive_alias_is_accepted_everywhere(api: httpx.Client, path: str, name: str) -> None:
    body = api.get(path.format(name)).json()

    assert body["service"] == "googledrive"
    assert body["name"] == "Google Drive"


@pytest.mark.parametrize("path", SERVICE_ALIASES)
def test_unknown_service_is_a_404_with_json(api: httpx.Client, path: str) -> None:
    response = api.get(path.format("myspace"))

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "ok": False,
        "service": "myspace",
        "status": "unknown",
        "message": "Unknown integration: myspace",
    }


@pytest.mark.parametrize(
    "path", ["/api/zoom/health?check_api=maybe", "/api/integrations/health?check_api=2"]
)
def test_bad_query_values_are_a_422_with_json(api: httpx.Client, path: str) -> None:
    response = api.get(path)

    assert response.status_code == 422
    body = response.json()
    assert body["detail"][0]["loc"] == ["query", "check_api"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", OVERVIEW_ALIASES)
def test_overview_counts_and_lines(api: httpx.Client, environ: dict[str, str], path: str) -> None:
    environ.update(LINEAR_API_KEY="lin", HUBSPOT_ACCESS_TOKEN="hs", ZOOM_API_KEY="z")

    response = api.get(path, params={"check_api": "false"})

    assert response.status_code == 200
    body = response.json()
    assert body["ok"] is True
    assert_utc_iso(body["timestamp"])
    assert body["summary"] == {
        "total_services": 14,
        "healthy_services": 2,
        "degraded_services": 0,
        "unhealthy_services": 12,
        "overall_status": "degraded",
        "health_score": 11.1,  # (100 + 100) / 18: zoom, stripe, github, slack count twice
    }
    assert body["services"]["linear"].pop("age_seconds") >= 0
    assert_utc_iso(body["services"]["linear"].pop("checked_at"))
    assert body["services"]["linear"] == {
        "pending": False,
        "status": "healthy",
        "configured": True,
        "message": "Linear integration is configured (API access not checked)",
        "missing_env_vars": [],
        "criticality": "normal",
        "category": None,
        "uptime_24h": None,  # configuration-only checks are not stored
        "last_checked": None,
    }
    assert body["services"]["zoom"]["missing_env_vars"] == ["ZOOM_API_SECRET"]
    assert body["services"]["zoom"]["message"] == "Zoom integration is not properly configured"
    assert list(body["services"]) == [
        "zoom", "notion", "trello", "stripe", "quickbooks", "github", "salesforce",
        "googledrive", "dropbox", "slack", "hubspot", "jira", "linear", "xero",
    ]  # fmt: skip


def test_overview_overall_status_edges(api: httpx.Client, environ: dict[str, str]) -> None:
    assert api.get("/api/integrations/health").json()["summary"]["overall_status"] == "unhealthy"

    environ.update(FULL_ENV)
    summary = api.get("/api/integrations/health?check_api=false").json()["summary"]

    assert summary["overall_status"] == "healthy"
    assert summary["healthy_services"] == 14


def test_configuration_report(api: httpx.Client, environ: dict[str, str]) -> None:
    environ.update(GITHUB_TOKEN="t", GITHUB_CLIENT_ID="i", LINEAR_API_KEY="l", XERO_CLIENT_ID=" ")

    response = api.get("/api/integrations/config")

    assert response.status_code == 200
    body = response.json()
    assert_utc_iso(body["timestamp"])
    assert body["summary"] == {
        "total_integrations": 14,
        "fully_configured": 1,
        "partially_configured": 1,
        "not_configured": 12,
    }
    fingerprints = body["integrations"]["github"].pop("fingerprints")
    assert set(fingerprints) == {"GITHUB_CLIENT_ID", "GITHUB_TOKEN"}
    assert all(len(mark) == 12 for mark in fingerprints.values())
    assert body["integrations"]["github"] == {
        "status": "fail",
        "configured": False,
        "required_env_vars": ["GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET", "GITHUB_TOKEN"],
        "present_env_vars": ["GITHUB_CLIENT_ID", "GITHUB_TOKEN"],
        "missing_env_vars": ["GITHUB_CLIENT_SECRET"],
        "configuration_percentage": 66,
    }
    assert body["integrations"]["linear"]["configuration_percentage"] == 100
    assert body["integrations"]["xero"]["present_env_vars"] == []  # whitespace is missing


def test_environment_is_read_live(api: httpx.Client, environ: dict[str, str]) -> None:
    assert api.get("/api/linear/health?check_api=false").json()["status"] == "unhealthy"
    environ["LINEAR_API_KEY"] = "lin"
    assert api.get("/api/linear/health?check_api=false").json()["status"] == "healthy"
    del environ["LINEAR_API_KEY"]
    assert api.get("/api/linear/health?check_api=false").json()["status"] == "unhealthy"


def test_openapi_documents_aliases_under_one_tag(api: httpx.Client) -> None:
    spec = api.get("/openapi.json").json()

    alias_paths = {
        path
        for path, item in spec["paths"].items()
        if item.get("get", {}).get("tags") == ["compatibility aliases"]
    }
    assert alias_paths == {
        "/api/integrations/{service}/health",
        "/api/v2/health/health/{service}",
        "/api/enhanced/integrations/{service}/health",
        "/api/v2/health/health/all",
        "/api/v2/health/health/summary",
        "/api/enhanced/health/overview",
    }
    assert api.get("/docs").status_code == 200


def test_unknown_route_is_json(api: httpx.Client) -> None:
    response = api.get("/api/nothing/here")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


def test_bridge_routes_answer_without_a_mounted_framework(api: httpx.Client) -> None:
    """A plain `serve` answers the bridge routes with its own FastAPI app alone."""
    status = api.get("/api/bridge/status")
    health = api.get("/api/bridge/health")
    discovery = api.get("/api/enhanced/management/discover")

    assert status.status_code == health.status_code == discovery.status_code == 200
    body = status.json()
    assert body["bridge_system_used"] is False
    assert list(body["frameworks"]) == ["fastapi"]
    assert body["frameworks"]["fastapi"]["status"] == "healthy"
    assert body["status"] == "healthy"
    assert health.json()["bridge_system_used"] is False
    assert health.json()["status"] == body["status"]
    found = discovery.json()
    assert found["frameworks"] == {"fastapi": found["total"]}
    assert {"GET", "/api/{service}/health"} <= {
        part for route in found["routes"] for part in (route["method"], route["path"])
    }


def test_overview_carries_the_seeds_enhanced_fields(
    api: httpx.Client, environ: dict[str, str], sim_credentials: dict[str, str]
) -> None:
    environ.update(sim_credentials)
    environ.pop("ZOOM_API_SECRET")  # one integration that cannot work

    body = api.get("/api/enhanced/health/overview").json()
    summary = body["summary"]

    assert body["backend"] == "connected"
    assert body["status"] == summary["overall_status"] == "degraded"
    assert body["total_services"] == summary["total_services"] == len(body["services"])
    assert body["connected_count"] == summary["healthy_services"] + summary["degraded_services"]
    assert body["connected_count"] == body["total_services"] - 1
    assert body["version"] == atom_health.__version__
    assert body["bridge_system_used"] is False
    assert api.get("/api/integrations/health").json()["connected_count"] == body["connected_count"]
