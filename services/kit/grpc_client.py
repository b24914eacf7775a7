"""Client helper: channels with deadlines, retries and propagated context.

Every call gets a deadline (default 5 s) unless the caller sets one. Methods
whose proto declares ``option idempotency_level = NO_SIDE_EFFECTS`` or
``IDEMPOTENT`` retry 3 times with exponential backoff on UNAVAILABLE, through
the gRPC service config (so retries are gRPC's own, with its throttling).
Each call carries the request id, the W3C trace context and a bearer token:
the caller's own (forwarded by the gateway) or a service token for a tenant.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import ServiceDescriptor

from . import context
from .auth import mint_service_token
from .tracing import inject_headers

DEFAULT_DEADLINE = 5.0
RETRY_POLICY = {
    "maxAttempts": 4,  # the first try and 3 retries
    "initialBackoff": "0.1s",
    "maxBackoff": "2s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def idempotent_methods(service: ServiceDescriptor) -> list[str]:
    """Names of the methods of ``service`` that its proto marks idempotent."""
    names = []
    for method in service.methods:
        level = method.GetOptions().idempotency_level
        if level in (descriptor_pb2.MethodOptions.NO_SIDE_EFFECTS,
                     descriptor_pb2.MethodOptions.IDEMPOTENT):
            names.append(method.name)
    return names


def service_config(*services: ServiceDescriptor, timeout: float = DEFAULT_DEADLINE) -> str:
    """The JSON service config: a default timeout for all, retries for idempotent methods."""
    method_configs: list[dict[str, Any]] = []
    for svc in services:
        method_configs.append({"name": [{"service": svc.full_name}], "timeout": f"{timeout}s"})
        retryable = idempotent_methods(svc)
        if retryable:
            method_configs.append({
                "name": [{"service": svc.full_name, "method": m} for m in retryable],
                "timeout": f"{timeout}s",
                "retryPolicy": RETRY_POLICY,
            })
    return json.dumps({"methodConfig": method_configs})


TokenSource = Callable[[], str | None]


class _ContextInterceptor(grpc.aio.UnaryUnaryClientInterceptor,
                          grpc.aio.UnaryStreamClientInterceptor):
    """Adds the default deadline, request id, trace context and bearer token."""

    def __init__(self, token_source: TokenSource | None, deadline: float) -> None:
        self.token_source = token_source
        self.deadline = deadline

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        metadata = grpc.aio.Metadata(*(details.metadata or ()))
        rid = context.request_id()
        if rid and "x-request-id" not in metadata:
            metadata.add("x-request-id", rid)
        for key, value in inject_headers().items():
            metadata.add(key, value)
        if "authorization" not in metadata and self.token_source is not None:
            token = self.token_source()
            if token:
                metadata.add("authorization", f"Bearer {token}")
        timeout = details.timeout if details.timeout is not None else self.deadline
        return grpc.aio.ClientCallDetails(details.method, timeout, metadata,
                                          details.credentials, details.wait_for_ready)

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)

    async def intercept_unary_stream(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        return await continuation(self._details(client_call_details), request)


def service_token_source(service: str, tenant_of_call: Callable[[], str | None]) -> TokenSource:
    """Mint a short-lived service token for the tenant of the current call."""
    def source() -> str | None:
        return mint_service_token(service, tenant_of_call())
    return source


def caller_tenant() -> str | None:
    """The tenant of the request being handled, if any."""
    principal = context.current_or_none()
    return principal.tenant if principal else None


def make_channel(target: str, *services: ServiceDescriptor, token_source: TokenSource | None = None,
                 deadline: float = DEFAULT_DEADLINE) -> grpc.aio.Channel:
    """An insecure grpc.aio channel to ``target`` with the kit's client behaviour."""
    return grpc.aio.insecure_channel(
        target,
        options=[("grpc.service_config", service_config(*services, timeout=deadline)),
                 ("grpc.enable_retries", 1)],
        interceptors=[_ContextInterceptor(token_source, deadline)],
    )
