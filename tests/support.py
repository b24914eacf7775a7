"""Helpers shared by tests: run a service in-process and call it over a real channel."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import grpc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.kit.auth import issue_token
from services.kit.service import Runtime


@contextmanager
def own_database(url: str, prefix: str = "tenantry_test") -> Iterator[str]:
    """A fresh database ``<prefix>_<random>`` on the server of ``url`` (plain
    ``postgresql://``; any database of that server named), dropped with its connections
    afterwards; yields its URL. For synchronous code (session fixtures, sync tests): it runs
    its statements on a loop of its own."""
    base, _, rest = url.rpartition("/")
    query = "?" + rest.split("?", 1)[1] if "?" in rest else ""
    name = f"{prefix}_{secrets.token_hex(4)}"

    async def admin(sql: str) -> None:
        engine = create_async_engine("postgresql+asyncpg://" + url.split("://", 1)[1],
                                     isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            await conn.execute(text(sql))
        await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{base}/{name}{query}"
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@asynccontextmanager
async def running(name: str, build: Callable[..., None], *, public: frozenset[str] = frozenset(),
                  metrics: bool = False, **options: Any) -> AsyncIterator[Runtime]:
    """Build ``name`` on a Runtime bound to a free port, start it, stop it afterwards."""
    rt = Runtime(name, port=0, public_methods=public, metrics=metrics)
    build(rt, **options)
    await rt.start()
    try:
        yield rt
    finally:
        await rt.stop()


def bearer(subject: str = "user-1", *, tenant: str | None = None, role: str | None = "admin",
           typ: str = "access", ttl: int | None = None) -> tuple[tuple[str, str], ...]:
    """gRPC metadata carrying a freshly signed token."""
    token, _ = issue_token(subject, typ=typ, tenant=tenant, role=role, ttl=ttl)
    return (("authorization", f"Bearer {token}"),)


def channel(rt: Runtime) -> grpc.aio.Channel:
    """A plain channel to the runtime's server."""
    return grpc.aio.insecure_channel(f"127.0.0.1:{rt.server.port}")
