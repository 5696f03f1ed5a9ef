"""Traces (the [otel] extra): a span per check and per provider call, with the outcome and
never a secret; exported over OTLP when an endpoint is configured."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from atom_health.monitor import HealthMonitor
from atom_health.services import tracing
from atom_health.serving import ThreadedServer
from atom_health.simulator import Simulator
from tests.conftest import FULL_ENV


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    memory = InMemorySpanExporter()
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):  # the first in this process sets it
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    provider.add_span_processor(SimpleSpanProcessor(memory))
    return memory


@pytest.fixture
def spans(exporter: InMemorySpanExporter) -> Iterator[InMemorySpanExporter]:
    exporter.clear()
    yield exporter
    exporter.clear()


async def test_a_span_per_check_and_per_provider_call_without_secrets(
    spans: InMemorySpanExporter,
    make_monitor: Callable[..., HealthMonitor],
    environ: dict[str, str],
    sim_credentials: dict[str, str],
    simulator: Simulator,
) -> None:
    environ.update(sim_credentials)
    simulator.set_fault("slack", "reject")
    async with make_monitor() as monitor:
        await monitor.check("linear", refresh=True)
        await monitor.check("slack", refresh=True)

    finished = spans.get_finished_spans()
    checks = {s.attributes["atom_health.integration"]: s for s in finished
              if s.name == "atom_health.check"}  # fmt: skip
    assert set(checks) == {"linear", "slack"}
    assert checks["linear"].attributes["atom_health.status"] == "healthy"
    assert checks["slack"].attributes["atom_health.status"] == "unhealthy"
    assert checks["slack"].attributes["atom_health.category"] == "credentials_rejected"
    assert checks["slack"].attributes["atom_health.criticality"] == "critical"
    calls = [s for s in finished if s.name == "atom_health.provider_call"]
    assert calls
    for call in calls:
        parent = checks[call.attributes["atom_health.integration"]]
        assert call.parent is not None
        assert call.parent.span_id == parent.context.span_id  # inside its check's span
        assert call.attributes["server.address"] == "127.0.0.1"
        assert call.attributes["atom_health.attempts"] >= 1
    slack_call = next(c for c in calls if c.attributes["atom_health.integration"] == "slack")
    assert slack_call.attributes["atom_health.category"] == "credentials_rejected"
    assert slack_call.status.status_code == trace.StatusCode.ERROR
    secrets = {v for v in sim_credentials.values() if len(v) > 3 and not v.startswith("http")}
    for span in finished:
        shown = str(dict(span.attributes or {})) + str(span.status.description) + span.name
        assert not [secret for secret in secrets if secret in shown], span.name


def test_no_endpoint_no_export_and_a_host_provider_is_joined(
    exporter: InMemorySpanExporter,
) -> None:
    assert tracing.configure({}) is False
    # A provider is already set (by this test module, as a host app would): keep it.
    assert tracing.configure({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"}) is False
    assert isinstance(trace.get_tracer_provider(), TracerProvider)


def test_spans_are_exported_over_otlp_when_an_endpoint_is_set(simulator: Simulator) -> None:
    received: list[tuple[str, str, bytes]] = []

    async def collect(request: Request) -> Response:
        received.append((request.url.path, request.headers["content-type"], await request.body()))
        return Response(b"", media_type="application/x-protobuf")

    collector = ThreadedServer(Starlette(routes=[Route("/v1/traces", collect, methods=["POST"])]))
    env = {k: v for k, v in os.environ.items() if k not in FULL_ENV}
    env.update(simulator.environment())
    env["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.url
    with collector:
        result = subprocess.run(
            [sys.executable, "-m", "atom_health", "health", "linear"],
            env=env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip

    assert result.returncode == 0, result.stdout + result.stderr
    assert received, "no spans reached the OTLP endpoint"
    path, content_type, body = received[0]
    assert (path, content_type) == ("/v1/traces", "application/x-protobuf")
    assert b"atom_health.check" in body
    assert b"linear" in body
    assert simulator.environment()["LINEAR_API_KEY"].encode() not in body


def test_requests_leave_no_span_with_their_path_or_query(
    spans: InMemorySpanExporter, api: httpx.Client, configured: dict[str, str]
) -> None:
    """With a tracer provider set (a host's), FastAPI's own request spans would hold
    ``url.path`` and ``url.query``; the app keeps them off: only our spans, which hold
    neither."""
    secret = "QuerySecret-0123456789"
    assert api.get(f"/api/stripe/health?refresh=true&token={secret}").status_code == 200
    assert api.get(f"/api/no-such-route/{secret}").status_code == 404
    assert api.get("/api/linear/health", params={"refresh": "true"}).status_code == 200

    finished = spans.get_finished_spans()
    assert finished, "the checks made no span: the test would prove nothing"
    assert {span.name for span in finished} <= {"atom_health.check", "atom_health.provider_call"}
    for span in finished:
        assert secret not in str(dict(span.attributes or {})) + span.name
        assert not {"url.path", "url.query"} & set(span.attributes or {})
