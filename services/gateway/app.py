"""The gateway application (FastAPI): REST routes → gRPC calls.

Per request: a request id (taken from ``X-Request-ID`` or made), JWT
verification when a token is sent, rate limits per user and per tenant, the
request bound from path/query/body, one gRPC call with the caller's token and
the request id forwarded, and the reply rendered as the seeds' JSON. Errors
become the status table of docs/api.md with a stable JSON body.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import structlog
from fastapi import FastAPI, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import BlockingConnectionPool, Redis
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.identity.registry import get_tenant_limits
from services.kit import context
from services.kit.auth import decode_token, principal_from_claims
from services.kit.db import make_engine
from services.kit.errors import ServiceError, Unauthenticated
from services.kit.grpc_client import DEFAULT_DEADLINE, service_config
from services.kit.metrics import HTTP_DURATION, HTTP_REQUESTS
from services.kit.naming import tenant_key
from services.kit.settings import Settings, get_settings
from services.kit.tracing import inject_headers

from . import ratelimit
from .binding import bind
from .errors import from_rpc_error, from_service_error
from .jsonmap import message_to_json
from .openapi import build_openapi
from .ratelimit import Admission
from .routes import Route, build_routes, response_class, success_status, target_of

log = structlog.get_logger("tenantry.gateway")
VERSION = "0.1.0"

#: Redis connections per gateway process; a request waits for one rather than failing.
REDIS_POOL_SIZE = 64

try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; the stdlib is the fallback
    orjson = None


class JSONBody(JSONResponse):
    """JSONResponse rendered with orjson (the same compact UTF-8 JSON, several times faster)."""

    def render(self, content: Any) -> bytes:
        if orjson is None:  # pragma: no cover
            return super().render(content)
        return orjson.dumps(content)


def _channel(target: str, *services: Any) -> grpc.aio.Channel:
    """The kit's client channel (service config: deadlines, retries) without its client
    interceptor: the gateway adds the same metadata itself (:func:`_call_metadata`), and
    a grpc.aio interceptor costs ~50 µs of CPU per call."""
    return grpc.aio.insecure_channel(
        target, options=[("grpc.service_config", service_config(*services, timeout=DEFAULT_DEADLINE)),
                         ("grpc.enable_retries", 1)])


def _call_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """What the kit's client interceptor sends: request id, trace context, the caller's token."""
    metadata: tuple[tuple[str, str], ...] = (("x-request-id", context.request_id()),)
    trace_headers = inject_headers()
    if trace_headers:
        metadata += tuple(trace_headers.items())
    if token:
        metadata += (("authorization", token),)
    return metadata


def _serialize(message: Any) -> bytes:
    return bytes(message.SerializeToString())


class Backends:
    """One channel per backend address, shared by every route to it."""

    def __init__(self, settings: Settings, routes: list[Route]) -> None:
        self.settings = settings
        by_target: dict[str, list[Any]] = {}
        for route in routes:
            services = by_target.setdefault(target_of(route, settings), [])
            if route.service not in services:
                services.append(route.service)
        self.channels = {t: _channel(t, *svcs) for t, svcs in by_target.items()}
        self.services = by_target
        #: One unary callable per gRPC method, built once (routes never change).
        self.stubs: dict[str, grpc.aio.UnaryUnaryMultiCallable] = {}
        for route in routes:
            if route.full_method not in self.stubs:
                self.stubs[route.full_method] = self.stub(route)

    def stub(self, route: Route) -> grpc.aio.UnaryUnaryMultiCallable:
        """A unary callable for the route's method."""
        channel = self.channels[target_of(route, self.settings)]
        return channel.unary_unary(route.full_method,
                                   request_serializer=_serialize,
                                   response_deserializer=response_class(route).FromString)

    async def ready(self) -> dict[str, str]:
        """Health of each backend, by address ("ok" or the failure)."""
        async def check(target: str, channel: grpc.aio.Channel) -> tuple[str, str]:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""), timeout=1.0)
                ok = reply.status == health_pb2.HealthCheckResponse.SERVING
                return target, "ok" if ok else "not serving"
            except grpc.RpcError as err:
                return target, err.code().name.lower()
        return dict(await asyncio.gather(*(check(t, c) for t, c in self.channels.items())))

    async def close(self) -> None:
        """Close every channel."""
        for channel in self.channels.values():
            await channel.close()


def _handler(route: Route, app: FastAPI) -> Callable[[Request], Awaitable[Response]]:
    # Everything that depends only on the route is resolved once, here, not per request.
    status, created_field = success_status(route)
    has_body = bool(route.body)
    full_method = route.full_method

    async def endpoint(request: Request) -> Response:
        state = app.state
        token = request.headers.get("authorization", "")
        try:
            if token:
                scheme, _, raw = token.partition(" ")
                if scheme.lower() != "bearer" or not raw:
                    raise Unauthenticated("use 'Authorization: Bearer <token>'", code="missing_token")
                claims = decode_token(raw)
                # Revocation list + per-user + per-tenant counters: one Redis round trip.
                await _admit(state, principal_from_claims(claims), claims)
            else:
                client = request.client.host if request.client else "unknown"
                await ratelimit.hit(state.redis, f"platform:rl:ip:{client}",
                                    state.settings.rate_limit_user_per_minute)
            body = await request.body() if has_body else None
            message = bind(route, request.path_params, request.query_params.multi_items(), body)
        except ServiceError as err:
            return from_service_error(err)
        try:
            reply = await state.backends.stubs[full_method](message, metadata=_call_metadata(token),
                                                            timeout=DEFAULT_DEADLINE)
        except grpc.RpcError as err:
            return from_rpc_error(err)
        code = status if created_field is None or getattr(reply, created_field) else 200
        return JSONBody(message_to_json(reply), status_code=code)
    endpoint.__name__ = route.operation_id
    return endpoint


async def _admit(state: Any, principal: context.Principal, claims: dict[str, Any]) -> None:
    """The token is not revoked and the user (then the tenant) is within its rate limit."""
    settings: Settings = state.settings
    tenant: str | None = None
    tenant_limit = 0
    if principal.tenant and not principal.is_service:
        limits = await get_tenant_limits(state.engine, principal.tenant) if state.engine else {}
        tenant_limit = int(limits.get("requestsPerMinute") or settings.rate_limit_tenant_per_minute)
        tenant = tenant_key(principal.tenant, "rl", "gateway")
    await state.admission.admit(claims, f"platform:rl:user:{principal.subject}",
                                settings.rate_limit_user_per_minute, tenant, tenant_limit)


class Observe:
    """Request id, metrics and the last-resort 500 for every HTTP request (pure ASGI:
    Starlette's ``BaseHTTPMiddleware`` costs a task and a stream per request)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = context.set_request_id(incoming)
        rid_header = (b"x-request-id", rid.encode("latin-1"))
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                responded = True
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0].lower() != b"x-request-id"]
                headers.append(rid_header)
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            log.exception("gateway_failed", path=scope.get("path"))
            if responded:
                raise
            status = 500
            await JSONResponse({"error": {"code": "internal", "message": "internal error",
                                          "status": "INTERNAL", "fields": [], "request_id": rid}},
                               status_code=500)(scope, receive, send_with_id)
        finally:
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"]
            HTTP_REQUESTS.labels(method, template, str(status)).inc()
            HTTP_DURATION.labels(method, template).observe(time.perf_counter() - started)


def create_app(settings: Settings | None = None) -> FastAPI:
    """The gateway app; backends and Redis are connected in its lifespan."""
    settings = settings or get_settings()
    routes = build_routes()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.redis = Redis.from_pool(BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=REDIS_POOL_SIZE, timeout=10))
        app.state.admission = Admission(app.state.redis)
        app.state.engine = make_engine(settings.database_url, pool_size=4)
        app.state.backends = Backends(settings, routes)
        yield
        await app.state.backends.close()
        await app.state.redis.aclose()
        await app.state.engine.dispose()

    app = FastAPI(title="Tenantry", version=VERSION, lifespan=lifespan, docs_url="/docs",
                  openapi_url="/openapi.json", redoc_url=None)
    app.state.settings = settings
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=True,
                           allow_methods=["*"], allow_headers=["*"], expose_headers=["X-Request-ID", "Retry-After"])

    app.add_middleware(Observe)

    for route in routes:
        # Plain Starlette routes: the endpoint binds the request itself, so FastAPI's
        # per-request dependency solving would be pure overhead. The OpenAPI document
        # is generated from the same routes (below).
        app.router.add_route(route.path, _handler(route, app), methods=[route.verb],
                             name=route.operation_id, include_in_schema=False)
        app.router.routes[-1].methods = {route.verb}  # type: ignore[attr-defined]  # no implicit HEAD

    document = build_openapi(routes, title="Tenantry", version=VERSION)
    app.openapi = lambda: document  # type: ignore[method-assign]

    @app.get("/health/live", include_in_schema=False)
    async def live() -> dict[str, str]:
        return {"status": "ok"}

    async def _checks() -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            await asyncio.wait_for(app.state.redis.ping(), 1.0)
            checks["redis"] = "ok"
        except Exception as exc:
            checks["redis"] = type(exc).__name__
        checks.update(await app.state.backends.ready())
        return checks

    @app.get("/health/ready", include_in_schema=False)
    async def ready() -> JSONResponse:
        checks = await _checks()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks},
                            status_code=200 if ok else 503)

    @app.get("/health", include_in_schema=False)
    async def health() -> JSONResponse:
        checks = await _checks()
        ok = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ok" if ok else "degraded", "version": VERSION, "checks": checks})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
