"""OpenTelemetry traces (the ``[otel]`` extra): one span per check and one per provider call.

Spans carry only what is safe to show anyone: the integration id, its criticality, the
outcome (status, category), the HTTP method, the provider's host, the HTTP status and the
number of attempts. Never a path, query, header, body or variable value: those can hold
credentials.

Without the extra, :func:`span` is a no-op. :func:`configure` installs an OTLP exporter
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``) is set, unless the host
application already set a tracer provider (atom-health inside your app then joins its traces).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from atom_health.model.errors import ConfigError, MissingExtraError

ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
Attribute = str | int | float | bool


class Span(Protocol):
    def set_attribute(self, key: str, value: Attribute) -> None: ...


class _NoSpan:
    def set_attribute(self, key: str, value: Attribute) -> None:
        return None


try:
    from opentelemetry import trace as _trace
    from opentelemetry.trace import Status, StatusCode

    _TRACER: Any = _trace.get_tracer("atom_health")
except ImportError:  # the [otel] extra is not installed: spans cost nothing
    _TRACER = None


def _exporting() -> bool:
    """Whether a tracer provider is set (ours or the host application's, at any time). Until
    one is, OpenTelemetry's spans record nothing, but would still cost a few µs each."""
    return _TRACER is not None and not isinstance(
        _trace.get_tracer_provider(), _trace.ProxyTracerProvider
    )


@contextmanager
def span(name: str, attributes: Mapping[str, Attribute]) -> Iterator[Span]:
    """A span around the block (a no-op without OpenTelemetry); an exception marks it failed
    with the exception's type only (its text may quote a provider's answer)."""
    if not _exporting():
        yield _NoSpan()
        return
    with _TRACER.start_as_current_span(
        name, attributes=dict(attributes), record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            raise


def mark_failed(current: Span, category: str) -> None:
    """Mark a span as failed, with the failure's category as its description."""
    if not isinstance(current, _NoSpan):
        current.set_attribute("atom_health.category", category)
        current.set_status(Status(StatusCode.ERROR, category))  # type: ignore[attr-defined]


def configure(environ: Mapping[str, str]) -> bool:
    """Export spans over OTLP/HTTP when an endpoint is configured; True when it did."""
    if not any(environ.get(name) for name in ENDPOINT_VARIABLES):
        return False
    if _TRACER is None:
        raise ConfigError(str(MissingExtraError("Tracing (OTEL_EXPORTER_OTLP_ENDPOINT)", "otel")))
    if not isinstance(_trace.get_tracer_provider(), _trace.ProxyTracerProvider):
        return False  # the host application already exports traces: join them
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(
        resource=Resource.create({"service.name": environ.get("OTEL_SERVICE_NAME", "atom-health")})
    )
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") or (
        environ["OTEL_EXPORTER_OTLP_ENDPOINT"].rstrip("/") + "/v1/traces"
    )
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    _trace.set_tracer_provider(provider)
    return True
