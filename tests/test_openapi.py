"""The OpenAPI document is written for people: summaries, an example for every response,
and /metrics declared as text."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families


def test_every_operation_has_a_summary_and_every_response_an_example(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert operation.get("description") or path.startswith("/api/v2"), (method, path)
            for code, response in operation["responses"].items():
                if code.startswith("2") and code != "204":  # 204: no content by definition
                    assert response.get("content"), (method, path, code)
                for media, content in response.get("content", {}).items():
                    assert "example" in content, (method, path, code, media)


def test_examples_follow_the_models(api: httpx.Client) -> None:
    document = api.get("/openapi.json").json()
    one = document["paths"]["/api/{service}/health"]["get"]
    example = one["responses"]["200"]["content"]["application/json"]["example"]

    assert one["summary"] == "Health of one integration"
    assert (example["service"], example["status"]) == ("zoom", "healthy")
    assert example["checks"]["configuration"]["required_env_vars"] == [
        "ZOOM_API_KEY", "ZOOM_API_SECRET",
    ]  # fmt: skip
    not_found = one["responses"]["404"]["content"]["application/json"]["example"]
    assert not_found["ok"] is False


def test_metrics_are_declared_as_prometheus_text(api: httpx.Client) -> None:
    metrics = api.get("/openapi.json").json()["paths"]["/metrics"]["get"]
    (media, content), *_ = metrics["responses"]["200"]["content"].items()

    assert media.startswith("text/plain")
    assert list(text_string_to_metric_families(content["example"]))  # the example parses
    assert api.get("/metrics").headers["content-type"].startswith("text/plain")
