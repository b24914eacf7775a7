"""Async SQLAlchemy 2 (asyncpg): one engine per process, sessions routed per (app, tenant).

Each app keeps a tenant's data in its own schema (see :mod:`services.kit.naming`).
A session pins ``search_path`` to that schema for its transaction only
(``SET LOCAL``), so a pooled connection never leaks one tenant's path into the
next request, and there is no query without a tenant.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from .errors import NotFound
from .naming import schema_name
from .settings import get_settings


def make_engine(url: str | None = None, *, pool_size: int = 10) -> AsyncEngine:
    """Create an asyncpg engine for ``url`` (default: ``DATABASE_URL``)."""
    settings = get_settings()
    if url is None:
        url = settings.async_database_url
    elif url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+asyncpg://" + url.split("://", 1)[1]
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size * 2, pool_pre_ping=True,
        pool_recycle=1800,
    )


class Database:
    """The process's database: an engine, a session factory and the known-schema cache."""

    _SCHEMA_TTL = 30.0

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._known: dict[str, float] = {}

    @classmethod
    def from_settings(cls) -> Database:
        """A Database on ``DATABASE_URL``."""
        return cls(make_engine())

    async def schema_exists(self, schema: str) -> bool:
        """True when ``schema`` exists; positive answers are cached for 30 s."""
        seen = self._known.get(schema)
        if seen is not None and time.monotonic() - seen < self._SCHEMA_TTL:
            return True
        async with self.engine.connect() as conn:
            found = (
                await conn.execute(text("SELECT to_regnamespace(:s) IS NOT NULL"), {"s": schema})
            ).scalar_one()
        if found:
            self._known[schema] = time.monotonic()
        else:
            self._known.pop(schema, None)
        return bool(found)

    @asynccontextmanager
    async def session(self, app: str, tenant: str) -> AsyncIterator[AsyncSession]:
        """A transaction in ``app``'s schema of ``tenant``; commits on success.

        Raises NotFound when the tenant has no schema for this app (unknown
        tenant, or the app is not enabled for it).
        """
        schema = schema_name(app, tenant)
        if not await self.schema_exists(schema):
            raise NotFound(f"tenant {tenant!r} not found (or app {app!r} not enabled for it)")
        async with self._sessions() as session, session.begin():
            await session.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            yield session

    @asynccontextmanager
    async def schema_session(self, schema: str) -> AsyncIterator[AsyncSession]:
        """A transaction in a platform schema (e.g. ``identity``), no tenant involved."""
        async with self._sessions() as session, session.begin():
            await session.execute(text(f'SET LOCAL search_path TO "{schema}"'))
            yield session

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
