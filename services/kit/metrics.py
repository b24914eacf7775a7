"""Prometheus metrics shared by every process (one registry, names prefixed tenantry_)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram, start_http_server

RPC_REQUESTS = Counter("tenantry_rpc_requests_total", "gRPC calls handled",
                       ["service", "method", "code"])
RPC_DURATION = Histogram("tenantry_rpc_duration_seconds", "gRPC call latency",
                         ["service", "method"],
                         buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5))
HTTP_REQUESTS = Counter("tenantry_http_requests_total", "Gateway HTTP requests",
                        ["method", "route", "status"])
HTTP_DURATION = Histogram("tenantry_http_duration_seconds", "Gateway HTTP latency",
                          ["method", "route"])
STREAM_LAG = Gauge("tenantry_stream_lag", "Entries not yet delivered to a consumer group",
                   ["tenant", "stream", "group"])
OUTBOX_BACKLOG = Gauge("tenantry_outbox_backlog", "Unpublished outbox rows", ["tenant", "app"])
OUTBOX_PUBLISHED = Counter("tenantry_outbox_published_total", "Events relayed to streams",
                           ["app"])
BUS_HANDLED = Counter("tenantry_bus_messages_total", "Bus messages handled by consumers",
                      ["group", "topic", "outcome"])
SYNC_OUTCOMES = Counter("tenantry_sync_outcomes_total", "Ban sync attempts by outcome",
                        ["tenant", "status"])

_started: set[int] = set()


def serve_metrics(port: int) -> None:
    """Expose /metrics on ``port`` (once per process; 0 disables)."""
    if port and port not in _started:
        start_http_server(port)
        _started.add(port)
