"""Examples of every request and response of the management API, for its OpenAPI document."""

from __future__ import annotations

from typing import Any

from atom_health.model.manage import ManageRefusal

_NOW = "2026-11-30T12:00:00Z"

_REQUESTS: dict[str, dict[str, dict[str, Any]]] = {
    "enabled_change": {
        "disable": {"summary": "Switch an integration off", "value": {"enabled": False}},
        "enable": {"summary": "Switch it back on", "value": {"enabled": True}},
    },
    "window": {
        "one-off": {
            "summary": "A one-off window for one integration",
            "value": {
                "name": "stripe-migration",
                "services": ["stripe"],
                "start": "2026-12-01T02:00:00Z",
                "end": "2026-12-01T04:00:00Z",
            },
        },
        "weekly": {
            "summary": "Every Sunday night, every integration",
            "value": {
                "name": "weekly-deploys",
                "weekdays": ["sun"],
                "start_time": "01:00:00",
                "end_time": "02:00:00",
            },
        },
    },
}

_ZOOM = {
    "id": "zoom",
    "name": "Zoom",
    "criticality": "normal",
    "kind": "integration",
    "enabled": False,
    "enabled_by": "runtime",
}
_WINDOW = {
    "id": "runtime-1",
    "source": "runtime",
    "active": False,
    "name": "stripe-migration",
    "services": ["stripe"],
    "start": "2026-12-01T02:00:00Z",
    "end": "2026-12-01T04:00:00Z",
    "weekdays": [],
    "start_time": None,
    "end_time": None,
    "timezone": "UTC",
}
_HEALTH = {
    "status": "healthy",
    "service": "zoom",
    "name": "Zoom",
    "criticality": "normal",
    "timestamp": _NOW,
    "configured": True,
    "message": "Zoom integration is operational",
    "cached": True,
    "age_seconds": 2.4,
    "checks": {
        "configuration": {
            "status": "pass",
            "configured": True,
            "required_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET", "ZOOM_ACCOUNT_ID"],
            "present_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET", "ZOOM_ACCOUNT_ID"],
            "missing_env_vars": [],
            "configuration_percentage": 100,
        },
        "api_access": {"status": "pass", "message": "Zoom accepted the credentials"},
    },
}


def _json(summary: str, value: Any) -> dict[str, Any]:
    return {
        "description": summary,
        "content": {"application/json": {"example": value}},
    }


EXAMPLES: dict[str, dict[str, Any]] = {
    "list_integrations": _json(
        "Every integration",
        {
            "ok": True,
            "timestamp": _NOW,
            "integrations": [
                {**_ZOOM, "enabled": True, "enabled_by": "config"},
                _ZOOM | {"id": "stripe", "name": "Stripe", "criticality": "critical"},
            ],
        },
    ),
    "change_integration": _json("The integration as it is now", _ZOOM),
    "check_now": _json(
        "Its newest result; age_seconds is set when the refresh window held the check back",
        _HEALTH,
    ),
    "reload_config": _json(
        "What the reload changed (names only, never values)",
        {
            "ok": True,
            "timestamp": _NOW,
            "source": "/etc/atom-health/config.yaml",
            "added": ["billing-api"],
            "removed": [],
            "changed": [{"id": "stripe", "fields": ["criticality", "interval_seconds"]}],
            "settings_changed": ["cache_ttl_seconds", "probes.concurrency"],
            "restart_required": ["probes.concurrency"],
        },
    ),
    "list_windows": _json(
        "Windows of the config file and added at run time",
        {"ok": True, "timestamp": _NOW, "windows": [_WINDOW]},
    ),
    "add_window": _json("The window added", _WINDOW),
    "delete_window": {"description": "Deleted"},
}

_REFUSED = "ManageRefusal"  # registered by FastAPI through the response's model
_ACCESS = "#/components/schemas/AccessError"
_INVALID = "#/components/schemas/HTTPValidationError"
REFUSALS: dict[int, tuple[str, str, dict[str, Any]]] = {
    401: (
        "No key, or not a valid one (the body never says which)",
        _ACCESS,
        {
            "ok": False,
            "error": "unauthorized",
            "message": "A valid API key is required: send Authorization: Bearer <key>, "
            "or sign in on the dashboard",
        },
    ),
    403: (
        "A key without the admin role",
        _ACCESS,
        {"ok": False, "error": "forbidden", "message": "This request needs the admin role"},
    ),
    404: (
        "Not a known integration or window",
        _REFUSED,
        {"ok": False, "error": "not_found", "message": "Unknown integration: orkut"},
    ),
    409: (
        "Not possible now: the integration is disabled, alerting is off, or there is no "
        "config file",
        _REFUSED,
        {"ok": False, "error": "disabled", "message": "Zoom is disabled: enable it first"},
    ),
    413: (
        "A body larger than security.max_body_bytes",
        _ACCESS,
        {"ok": False, "error": "body_too_large", "message": "The request body is too large"},
    ),
    422: (
        "A body or path that is not valid",
        _INVALID,
        {
            "detail": [
                {
                    "type": "missing",
                    "loc": ["body", "enabled"],
                    "msg": "Field required",
                    "input": {},
                }
            ]
        },
    ),
    429: (
        "Too many requests from this client; see Retry-After",
        _ACCESS,
        {
            "ok": False,
            "error": "rate_limited",
            "message": "Too many requests; retry after 12 s",
            "retry_after": 12,
        },
    ),
}
INVALID_CONFIG = (
    "The config file is not valid: refused, the running config is kept",
    _REFUSED,
    {
        "ok": False,
        "error": "invalid_config",
        "message": "config.yaml: cache_ttl_seconds: Input should be greater than or equal "
        "to 0; the running config is kept",
    },
)


def examples_of(request: str) -> dict[str, dict[str, Any]]:
    return _REQUESTS[request]


def refusal_doc(refusal: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    description, schema, value = refusal
    if schema == _REFUSED:
        return {
            "model": ManageRefusal,
            "description": description,
            "content": {"application/json": {"example": value}},
        }
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": schema}, "example": value}},
    }
