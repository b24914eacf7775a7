"""OpenTelemetry tracing, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

_configured = False


def configure_tracing(service: str, endpoint: str | None) -> None:
    """Install a tracer provider; add the OTLP exporter only when an endpoint is given."""
    global _configured
    if _configured:
        return
    provider = TracerProvider(resource=Resource.create({"service.name": f"tenantry-{service}"}))
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    _configured = True


def tracer(name: str = "tenantry") -> trace.Tracer:
    """The process tracer."""
    return trace.get_tracer(name)


def inject_headers() -> dict[str, str]:
    """W3C trace context of the current span, as headers/metadata to send on."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


def extract_context(carrier: dict[str, str]) -> object:
    """The trace context carried by incoming headers/metadata."""
    return propagate.extract(carrier)
