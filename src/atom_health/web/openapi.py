"""The OpenAPI document, finished for people: a summary per operation, an example for every
response (generated from the response's own schema, so it cannot drift from the models),
and ``/metrics`` declared as Prometheus text."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

METRICS_EXAMPLE = (
    "# HELP atom_health_integration_up 1 when the integration can work (healthy or degraded), "
    "0 when it cannot\n# TYPE atom_health_integration_up gauge\n"
    'atom_health_integration_up{criticality="critical",integration="zoom"} 1.0\n'
)
_STRING_EXAMPLES = {"date-time": "2026-11-22T05:36:35.748823Z", "uri": "https://example.com/"}
_NAMED_EXAMPLES: dict[str, Any] = {
    "service": "zoom",
    "name": "Zoom",
    "message": "Zoom integration is operational",
    "method": "GET /v2/users/me",
    "http_status": 200,
    "latency_ms": 182.4,
    "configuration_percentage": 100,
    "attempts": 1,
    "required_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET"],
    "present_env_vars": ["ZOOM_API_KEY", "ZOOM_API_SECRET"],
    "missing_env_vars": [],
    "uptime_percentage": 99.95,
    "health_score": 88.9,
}


def example_of(
    schema: dict[str, Any], components: dict[str, Any], name: str = "", depth: int = 0
) -> Any:
    """A plausible value for ``schema``: its own example, default or first enum value when it
    has one, else one built from its type (objects field by field)."""
    if name in _NAMED_EXAMPLES:
        return _NAMED_EXAMPLES[name]
    if "$ref" in schema:
        return example_of(components[schema["$ref"].rsplit("/", 1)[-1]], components, name, depth)
    for key in ("example", "const", "default"):
        if key in schema and schema[key] is not None:
            return schema[key]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        choices = [c for c in schema.get(key, []) if c.get("type") != "null"]
        if choices:
            return example_of(choices[0], components, name, depth)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        if depth > 6:
            return {}
        properties = schema.get("properties", {})
        value = {k: example_of(v, components, k, depth + 1) for k, v in properties.items()}
        extra = schema.get("additionalProperties")
        if not properties and isinstance(extra, dict):
            value = {"zoom": example_of(extra, components, "", depth + 1)}
        return value
    if kind == "array":
        return (
            [example_of(schema.get("items", {}), components, name, depth + 1)] if depth < 6 else []
        )
    if kind == "string":
        return _STRING_EXAMPLES.get(schema.get("format", ""), "text")
    if kind == "integer":
        return 0
    if kind == "number":
        return 12.5
    if kind == "boolean":
        return True
    return None


_SUMMARIES = {
    ("get", "/api/{service}/health"): "Health of one integration",
    ("get", "/api/integrations/health"): "Health of every integration",
    ("get", "/api/integrations/config"): "Configuration of every integration",
    ("get", "/api/integrations/{service}/history"): "Stored results of one integration",
    (
        "get",
        "/api/integrations/{service}/uptime",
    ): "Uptime, latency and incidents of one integration",
    ("get", "/api/incidents"): "Open and recent incidents",
    ("get", "/api/alerts"): "Alerts and their deliveries",
    ("get", "/api/dashboard"): "Everything the dashboard shows",
    ("get", "/api/events"): "Live results (server-sent events)",
    ("get", "/metrics"): "Prometheus metrics",
}
_EVENTS_EXAMPLE = (
    'event: result\ndata: {"row": {"service": "zoom", "status": "healthy"}, "summary": {}}\n\n'
)


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    components = schema.get("components", {}).get("schemas", {})
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if (method, path) in _SUMMARIES:
                operation["summary"] = _SUMMARIES[(method, path)]
            if path == "/metrics":
                operation["responses"]["200"] = {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain; version=0.0.4": {"schema": {"type": "string"},
                                                               "example": METRICS_EXAMPLE}},
                }  # fmt: skip
            for response in operation.get("responses", {}).values():
                if not response.get("content") and path.endswith("/events"):
                    response["content"] = {"text/event-stream": {"schema": {"type": "string"}}}
                for media, content in response.setdefault("content", {}).items():
                    if "example" not in content and "examples" not in content:
                        body = content.get("schema", {"type": "string"})
                        content["example"] = (
                            example_of(body, components) if "json" in media
                            else _EVENTS_EXAMPLE if media == "text/event-stream"
                            else "text"
                        )  # fmt: skip
    return schema


def install(app: FastAPI) -> None:
    """Finish the document the app builds (with what other parts added, e.g. access control's
    security schemes): install last. Built once, on first request."""
    build = app.openapi
    finished: dict[str, dict[str, Any]] = {}

    def openapi() -> dict[str, Any]:
        if "schema" not in finished:
            finished["schema"] = app.openapi_schema = finish(build())
        return finished["schema"]

    app.openapi = openapi  # type: ignore[method-assign]
