"""Helpers shared by tests: run a service in-process and call it over a real channel."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import grpc

from services.kit.auth import issue_token
from services.kit.service import Runtime


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
