"""Shared moderation fixtures: a migrated tenant schema and an in-process server.

``moderation_tenant`` migrates the moderation schema of ``tenant_name``;
``moderation_server`` starts a real gRPC server (kit Runtime, port 0) with the
users/chats and subscriptions servicers and yields a channel to it. Other
moderation tests may import ``serve`` to start one with their own servicers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc
import pytest

from services.kit.migrations import migrate
from services.kit.service import Runtime
from tests.support import bearer, channel, running


@pytest.fixture
async def moderation_tenant(engine: Any, tenant_name: str) -> str:
    """``tenant_name`` with its moderation schema migrated to head."""
    await migrate(engine, "moderation", tenant_name)
    return tenant_name


@asynccontextmanager
async def serve(*registrars: Callable[[Runtime], None]) -> AsyncIterator[tuple[Runtime, grpc.aio.Channel]]:
    """Run a moderation Runtime with ``registrars`` applied; yield it and a channel to it."""
    def build(rt: Runtime) -> None:
        for register in registrars:
            register(rt)

    async with running("moderation", build) as rt:
        ch = channel(rt)
        try:
            yield rt, ch
        finally:
            await ch.close()


@pytest.fixture
async def moderation_server(database_url: str, redis_url: str) -> AsyncIterator[tuple[Runtime, grpc.aio.Channel]]:
    """Users, chats and subscriptions served in-process; (runtime, channel)."""
    from services.moderation.subscriptions.grpc import register as register_subscriptions
    from services.moderation.users.grpc import register as register_users

    async with serve(register_users, register_subscriptions) as pair:
        yield pair


def auth(tenant: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    """Metadata with an access token of ``role`` in ``tenant``."""
    return bearer("user-1", tenant=tenant, role=role)


@asynccontextmanager
async def gateway_client(engine: Any, tenant: str, rt: Runtime, *, role: str = "admin",
                         limits: dict[str, Any] | None = None) -> AsyncIterator[Any]:
    """An httpx client of the real gateway app (in-process, its lifespan run) whose every
    backend is ``rt``'s gRPC server, with a ``role`` token of ``tenant`` (registered with
    ``limits``)."""
    import httpx

    from services.gateway.app import create_app
    from services.identity.registry import ensure_identity_schema, register_tenant
    from services.kit.auth import issue_token
    from services.kit.settings import Settings

    await ensure_identity_schema(engine)
    await register_tenant(engine, name=tenant, display_name="T", apps=["moderation"],
                          limits=limits or {}, retention_days=365)
    addr = f"127.0.0.1:{rt.server.port}"
    app = create_app(Settings(moderation_addr=addr, identity_addr=addr, notification_addr=addr,
                              analytics_addr=addr))
    token, _ = issue_token("user-1", typ="access", tenant=tenant, role=role)
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://gw",
            headers={"authorization": f"Bearer {token}"}) as client:
        yield client
