"""The runtime a service is built on: ``tenantry serve <name>`` runs one of these.

A service module (``services/<name>/main.py``) defines ``build(rt: Runtime)``,
which registers its gRPC servicers and background work on the runtime. The
runtime brings everything else: settings, JSON logs, tracing, the metrics
endpoint, the database, Redis, the gRPC server with health and reflection,
outbox relays, bus consumers, and a graceful shutdown that drains calls first
and then stops background work.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc
import structlog
from google.protobuf.descriptor import ServiceDescriptor
from redis.asyncio import BlockingConnectionPool, Redis

from .bus.consumer import BusConsumer, Handler
from .bus.relay import OutboxRelay
from .db import Database
from .grpc_client import caller_tenant, make_channel, service_token_source
from .grpc_server import ServiceServer
from .logs import configure_logging
from .metrics import serve_metrics
from .settings import Settings, get_settings
from .tenants import tenants_with_app
from .tracing import configure_tracing

log = structlog.get_logger("tenantry.runtime")

Background = Callable[[asyncio.Event], Awaitable[None]]

#: ``inline`` (default): a service relays its app's outbox in-process; ``separate``: it
#: does not, and a relay role (:func:`serve_relay`) runs on its own.
RELAY_MODE_ENV = "TENANTRY_OUTBOX_RELAY"

#: Redis connections per process (redis-py's default cap); a caller past it waits
#: for a free connection instead of failing with "Too many connections".
REDIS_POOL_SIZE = 100


def redis_client(url: str, max_connections: int = REDIS_POOL_SIZE) -> Redis:
    """A Redis client whose pool blocks (up to 10 s) when every connection is busy."""
    return Redis.from_pool(BlockingConnectionPool.from_url(url, max_connections=max_connections,
                                                           timeout=10))


def run_async(main: Awaitable[Any]) -> Any:
    """Run ``main`` on uvloop when it is installed (a faster event loop for grpc.aio,
    asyncpg and redis), else on the default asyncio loop."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency; asyncio is the fallback
        return asyncio.run(main)  # type: ignore[arg-type]
    return uvloop.run(main)  # type: ignore[arg-type]


class Runtime:
    """Shared resources and lifecycle of one service process."""

    def __init__(self, name: str, *, port: int, settings: Settings | None = None,
                 public_methods: Iterable[str] = (), metrics: bool = True) -> None:
        self.name = name
        self.settings = settings or get_settings()
        self.db = Database.from_settings()
        self.redis: Redis = redis_client(self.settings.redis_url)
        self.server = ServiceServer(name, port=port, host=self.settings.grpc_host,
                                    public_methods=public_methods, redis=self.redis,
                                    grace_seconds=self.settings.shutdown_grace_seconds)
        self.stop_event = asyncio.Event()
        self._background: list[tuple[str, Background]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._channels: list[grpc.aio.Channel] = []
        self._metrics = metrics
        self.server.on_stop(self._shutdown_background)

    # -- registration ----------------------------------------------------------------------
    def add_servicer(self, add_to_server: Callable[[Any, grpc.aio.Server], None], servicer: Any,
                     descriptor: ServiceDescriptor) -> None:
        """Serve ``servicer`` (``add_XServicer_to_server``, its proto ServiceDescriptor)."""
        self.server.add(add_to_server, servicer, descriptor.full_name)

    def background(self, name: str, work: Background) -> None:
        """Run ``work(stop_event)`` for the life of the process."""
        self._background.append((name, work))

    def relay(self, app: str) -> OutboxRelay:
        """Relay ``app``'s outbox for every tenant that has the app.

        With ``TENANTRY_OUTBOX_RELAY=separate`` the relay is not run in this process:
        a relay role (:func:`serve_relay`, e.g. its own Deployment) publishes instead,
        so the service's cores go to its calls. Several relays share the work safely
        (``FOR UPDATE SKIP LOCKED``).
        """
        relay = OutboxRelay(self.db.engine, self.redis, app, batch_size=self.settings.outbox_relay_batch,
                            poll_interval=self.settings.outbox_poll_interval_seconds)
        if os.environ.get(RELAY_MODE_ENV, "inline") != "separate":
            self.background(f"relay:{app}", relay.run)
        return relay

    def consume(self, group: str, handlers: dict[str, Handler], *, app: str,
                **options: Any) -> BusConsumer:
        """Consume ``handlers``' topics in ``group`` for every tenant that has ``app``."""
        consumer = BusConsumer(
            self.redis, group, handlers,
            tenants=lambda: tenants_with_app(self.db.engine, app),
            max_deliveries=self.settings.bus_max_deliveries,
            claim_idle_ms=self.settings.bus_claim_idle_ms, **options)
        self.background(f"consume:{group}", consumer.run)
        return consumer

    def channel(self, target: str, *services: ServiceDescriptor) -> grpc.aio.Channel:
        """A client channel to another service; calls carry a service token for the
        tenant of the request being handled (or the caller's own token if forwarded)."""
        channel = make_channel(target, *services,
                               token_source=service_token_source(self.name, caller_tenant))
        self._channels.append(channel)
        return channel

    # -- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        """Start the gRPC server and the background work (in-process use, e.g. tests)."""
        self._begin()
        await self.server.start()

    def _begin(self) -> None:
        if self._metrics:
            serve_metrics(self.settings.metrics_port)
        for name, work in self._background:
            self._tasks.append(asyncio.create_task(self._supervise(name, work), name=name))

    async def _supervise(self, name: str, work: Background) -> None:
        # Background work must not die silently: restart it with backoff until stop.
        backoff = 0.5
        while not self.stop_event.is_set():
            try:
                await work(self.stop_event)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background_failed", task=name)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 10.0)

    async def _shutdown_background(self) -> None:
        self.stop_event.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=self.settings.shutdown_grace_seconds)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        for channel in self._channels:
            await channel.close()
        await self.redis.aclose()
        await self.db.dispose()

    async def stop(self) -> None:
        """Drain the server, then stop background work and close connections."""
        await self.server.stop()

    async def run(self) -> None:
        """Start, then serve until SIGTERM/SIGINT, then shut down gracefully."""
        self._begin()
        await self.server.serve_until_signalled()


def build_relay(rt: Runtime, app: str) -> OutboxRelay:
    """Wire a relay-only runtime: health on its port, ``app``'s outbox relay in the background."""
    relay = OutboxRelay(rt.db.engine, rt.redis, app, batch_size=rt.settings.outbox_relay_batch,
                        poll_interval=rt.settings.outbox_poll_interval_seconds)
    rt.background(f"relay:{app}", relay.run)
    return relay


def serve_relay(app: str, *, port: int = 0, metrics: bool = True) -> None:
    """Run only ``app``'s outbox relay (the "relay" role), until SIGTERM/SIGINT."""
    settings = get_settings()
    configure_logging(f"relay-{app}", settings.log_level, settings.log_json)

    async def main() -> None:
        rt = Runtime(f"relay-{app}", port=port, settings=settings, metrics=metrics)
        build_relay(rt, app)
        await rt.run()

    run_async(main())


def load_service(name: str) -> Any:
    """Import ``services.<name>.main`` (dashes become underscores)."""
    return importlib.import_module(f"services.{name.replace('-', '_')}.main")


def serve(name: str, *, port: int | None = None, options: dict[str, Any] | None = None) -> None:
    """Entry point of ``tenantry serve NAME``: configure, build and run one service."""
    settings = get_settings()
    configure_logging(name, settings.log_level, settings.log_json)
    configure_tracing(name, settings.otel_exporter_otlp_endpoint)
    module = load_service(name)

    async def main() -> None:
        rt = Runtime(name, port=port if port is not None else (settings.grpc_port or module.DEFAULT_PORT),
                     settings=settings, public_methods=getattr(module, "PUBLIC_METHODS", ()))
        module.build(rt, **(options or {}))
        await rt.run()

    run_async(main())
