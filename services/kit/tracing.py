"""OpenTelemetry tracing, exported over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set."""

from __future__ import annotations

from opentelemetry import propagate, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

_configured = False


def configure_tracing(service: str, endpoint: str | None) -> None:
    """Install a recording tracer provider exporting over OTLP, when an endpoint is given.

    Without an endpoint nothing is installed: OpenTelemetry's default no-op tracer
    still carries an incoming trace context through (so trace ids reach the logs and
    the next hop), but records no spans that nothing would export (~80 us a call).
    """
    global _configured
    if _configured or not endpoint:
        return
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": f"tenantry-{service}"}))
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
