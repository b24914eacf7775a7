"""The grpc.aio server bootstrap every service uses.

:class:`ServiceServer` wires health (grpc.health.v1), reflection, the kit's
interceptors (request id, observability, error mapping, auth + tenant) and a
graceful shutdown: on SIGTERM/SIGINT health turns NOT_SERVING, new calls are
refused, and in-flight calls get ``shutdown_grace_seconds`` to finish.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection
from opentelemetry import trace
from redis.asyncio import Redis

from . import context
from .auth import authenticate
from .errors import ServiceError, Unauthenticated
from .metrics import RPC_DURATION, RPC_REQUESTS
from .status import to_rpc_status
from .tracing import extract_context, tracer

log = structlog.get_logger("tenantry.grpc")

#: Methods callable without a token (full method names, e.g. "/pkg.Svc/Login").
PublicMethods = frozenset[str]

_HEALTH_AND_REFLECTION = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _metadata_of(pairs: Iterable[tuple[str, Any]] | None) -> dict[str, str]:
    return {k: v for k, v in (pairs or ()) if isinstance(v, str)}


def _wrap(handler: grpc.RpcMethodHandler,
          around: Callable[[Any, grpc.aio.ServicerContext, Callable[[], Awaitable[Any]]],
                           Awaitable[Any]]) -> grpc.RpcMethodHandler:
    """Rewrap a unary-unary or unary-stream handler so ``around`` runs around the call."""
    if handler.unary_unary:
        inner = handler.unary_unary

        async def unary(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            return await around(request, ctx, lambda: inner(request, ctx))

        return grpc.unary_unary_rpc_method_handler(
            unary, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    if handler.unary_stream:
        inner_stream = handler.unary_stream

        async def stream(request: Any, ctx: grpc.aio.ServicerContext) -> Any:
            async def drain() -> None:
                async for item in inner_stream(request, ctx):
                    await ctx.write(item)
            return await around(request, ctx, drain)

        return grpc.unary_stream_rpc_method_handler(
            stream, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer)
    return handler


class KitInterceptor(grpc.aio.ServerInterceptor):
    """One pass per call, in this order: request id → trace span → metrics and log →
    authentication and tenant → the handler, with domain errors mapped to status.

    They are steps of one interceptor rather than four so that the log line and
    the metric see the final status code that the error mapping chose.
    """

    def __init__(self, service: str, public: Iterable[str], redis: Redis | None) -> None:
        self.service = service
        self.public = frozenset(public)
        self.redis = redis
        # The wrapped handler of each method, built on its first call: the wrapper reads
        # the call's metadata from its context, so it need not be rebuilt per call.
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler]] = {}

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_HEALTH_AND_REFLECTION):
            return handler
        cached = self._wrapped.get(details.method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _wrap(handler, self._around(details.method))
        self._wrapped[details.method] = (handler, wrapped)
        return wrapped

    def _around(self, method: str) -> Callable[[Any, grpc.aio.ServicerContext, Callable[[], Awaitable[Any]]],
                                               Awaitable[Any]]:
        async def around(request: Any, ctx: grpc.aio.ServicerContext,
                         call: Callable[[], Awaitable[Any]]) -> Any:
            meta = _metadata_of(ctx.invocation_metadata())
            rid = context.set_request_id(meta.get("x-request-id"))
            started = time.perf_counter()
            code = "OK"
            with tracer().start_as_current_span(
                method, context=extract_context(meta), kind=trace.SpanKind.SERVER,  # type: ignore[arg-type]
                attributes={"rpc.system": "grpc", "rpc.method": method, "request_id": rid},
            ) as span:
                token = context.set_principal(None)
                try:
                    if method not in self.public:
                        context.set_principal(await self._authenticate(meta))
                    else:
                        # Public calls may still carry a token (e.g. logout).
                        bearer = meta.get("authorization", "")
                        if bearer:
                            try:
                                context.set_principal(await self._authenticate(meta))
                            except Unauthenticated:
                                pass
                    # The request id goes back in trailers, not headers: sending headers
                    # early would commit the call and disable the client's retries.
                    result = await call()
                    ctx.set_trailing_metadata((("x-request-id", rid),))
                    return result
                except ServiceError as err:
                    code = err.grpc_code_name
                    status = to_rpc_status(err)
                    span.set_attribute("rpc.grpc.status_code", code)
                    log.info("rpc_rejected", method=method, code=code, reason=err.code,
                             message=err.message)
                    await ctx.abort(status.code, status.details,
                                    (*status.trailing_metadata, ("x-request-id", rid)))
                except asyncio.CancelledError:
                    code = "CANCELLED"
                    raise
                except grpc.aio.AbortError:
                    code = ctx.code().name if ctx.code() else "UNKNOWN"  # type: ignore[union-attr]
                    raise
                except Exception:
                    code = "INTERNAL"
                    # The trace stays in our logs; the client gets a generic message.
                    log.exception("rpc_failed", method=method)
                    await ctx.abort(grpc.StatusCode.INTERNAL,
                                    f"internal error (request id {rid})")
                finally:
                    elapsed = time.perf_counter() - started
                    RPC_REQUESTS.labels(self.service, method, code).inc()
                    RPC_DURATION.labels(self.service, method).observe(elapsed)
                    if code == "OK":
                        log.debug("rpc", method=method, ms=round(elapsed * 1000, 2))
                    context.reset_principal(token)

        return around

    async def _authenticate(self, meta: dict[str, str]) -> context.Principal:
        header = meta.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("missing bearer token", code="missing_token")
        return await authenticate(token, self.redis)


class ServiceServer:
    """A grpc.aio server with health, reflection and the kit interceptor."""

    def __init__(self, name: str, *, port: int, host: str = "0.0.0.0",
                 public_methods: Iterable[str] = (), redis: Redis | None = None,
                 grace_seconds: float = 10.0) -> None:
        self.name = name
        self.grace = grace_seconds
        self.server = grpc.aio.server(
            interceptors=[KitInterceptor(name, public_methods, redis)],
            options=[("grpc.so_reuseport", 0), ("grpc.max_receive_message_length", 16 << 20)],
        )
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self._service_names: list[str] = [health_pb2.DESCRIPTOR.services_by_name["Health"].full_name]
        self.port = self.server.add_insecure_port(f"{host}:{port}")
        self._stopping = asyncio.Event()
        self._stopped = asyncio.Event()
        self._on_stop: list[Callable[[], Awaitable[None]]] = []

    def add(self, add_to_server: Callable[[Any, grpc.aio.Server], None], servicer: Any,
            service_full_name: str) -> None:
        """Register a servicer (``add_XServicer_to_server``) under its full proto name."""
        add_to_server(servicer, self.server)
        self._service_names.append(service_full_name)

    def on_stop(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` after the server has drained (close pools, stop workers)."""
        self._on_stop.append(callback)

    async def start(self) -> None:
        """Start serving; mark every service SERVING."""
        reflection.enable_server_reflection(
            [*self._service_names, reflection.SERVICE_NAME], self.server)
        await self.server.start()
        for svc in ["", *self._service_names]:
            await self.health.set(svc, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc_started", service=self.name, port=self.port)

    async def stop(self) -> None:
        """Graceful stop: NOT_SERVING, refuse new calls, let in-flight ones finish."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        for svc in ["", *self._service_names]:
            await self.health.set(svc, health_pb2.HealthCheckResponse.NOT_SERVING)
        log.info("grpc_draining", service=self.name, grace=self.grace)
        await self.server.stop(self.grace)
        for callback in self._on_stop:
            await callback()
        log.info("grpc_stopped", service=self.name)
        self._stopped.set()

    async def serve_until_signalled(self) -> None:
        """Start, then run until SIGTERM or SIGINT, then stop gracefully."""
        await self.start()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, lambda: asyncio.ensure_future(self.stop()))
        await self._stopped.wait()
