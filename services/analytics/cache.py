"""Read-through Redis cache of the analytics query results (seed 001 §7 "Redis для кэширования метрик").

A result is cached per tenant, per query and per exact (resolved) parameters, for
``ANALYTICS_CACHE_TTL_SECONDS`` (default 60; 0 turns the cache off), under

* ``t:<tenant>:analytics:q:<generation>:<query>:from=<day>:to=<day>[:<param>=<value>...]``

where ``<generation>`` is the value of ``t:<tenant>:analytics:gen``. The consumer
sets that key to a new random token after every event it applied (after the
transaction committed), so every entry cached before is never read again: a read
after an ingested event is always fresh, and the TTL only bounds memory (and
staleness when the invalidation itself failed). A missing generation key (a new
tenant, a flushed Redis) is created with a random token, so it cannot bring back
entries of an earlier one.

The database is the truth: when Redis fails, reads go to PostgreSQL. The first
failure is logged (``analytics_cache_unavailable``) and the cache is then skipped
for ``retry_seconds``; later failures of the same outage are not logged again, and
the first success after it logs ``analytics_cache_recovered``. A failed
invalidation is logged every time (``analytics_cache_invalidate_failed``): every
process (this one too, after its pause) may serve the old generation's entries
until their TTL.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.kit.naming import tenant_key

log = structlog.get_logger("tenantry.analytics.cache")

DEFAULT_TTL_SECONDS = 60
#: After a Redis failure, the cache is skipped this long (reads go straight to PostgreSQL).
RETRY_SECONDS = 5.0
#: A Redis call slower than this counts as a failure (a hung Redis must not stall reads).
OP_TIMEOUT_SECONDS = 1.0
_FAILURES = (RedisError, OSError, TimeoutError)


class AnalyticsSettings(BaseSettings):
    """Knobs of the analytics service; every field maps to an upper-case env var."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore", case_sensitive=False)

    analytics_cache_ttl_seconds: int = Field(DEFAULT_TTL_SECONDS, ge=0)


def generation_key(tenant: str) -> str:
    """``t:<tenant>:analytics:gen`` — the token that is part of every cached result's key."""
    return tenant_key(tenant, "analytics", "gen")


def result_key(tenant: str, generation: str, query: str, params: dict[str, object]) -> str:
    """``t:<tenant>:analytics:q:<generation>:<query>:<name>=<value>:...`` (``params`` in order)."""
    return tenant_key(tenant, "analytics", "q", generation, query, *(f"{k}={v}" for k, v in params.items()))


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class ResultCache:
    """Per-tenant, generation-keyed cache of JSON-able query results."""

    def __init__(self, redis: Redis, ttl: int = DEFAULT_TTL_SECONDS, *, retry_seconds: float = RETRY_SECONDS,
                 op_timeout: float = OP_TIMEOUT_SECONDS) -> None:
        self.redis = redis
        self.ttl = ttl
        self.retry_seconds = retry_seconds
        self.op_timeout = op_timeout
        self._down = False
        self._skip_until = 0.0

    def _failed(self, err: BaseException, op: str) -> None:
        self._skip_until = time.monotonic() + self.retry_seconds
        if not self._down:
            self._down = True
            log.warning("analytics_cache_unavailable", op=op, error=type(err).__name__,
                        detail="reading from PostgreSQL", retry_seconds=self.retry_seconds)

    def _worked(self) -> None:
        if self._down:
            self._down = False
            log.info("analytics_cache_recovered")

    async def generation(self, tenant: str) -> str:
        """The tenant's current generation, created (random) when there is none."""
        key = generation_key(tenant)
        async with asyncio.timeout(self.op_timeout):
            current = await self.redis.get(key)
            if current is None:
                async with self.redis.pipeline(transaction=True) as pipe:
                    pipe.set(key, secrets.token_hex(8), nx=True)
                    pipe.get(key)
                    _, current = await pipe.execute()
        return _text(current)

    async def get_or_compute(self, tenant: str, query: str, params: dict[str, object],
                             compute: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
        """The cached result of ``query`` with ``params``, else ``compute()`` (then cached)."""
        if self.ttl <= 0 or time.monotonic() < self._skip_until:
            return await compute()
        try:
            key = result_key(tenant, await self.generation(tenant), query, params)
            async with asyncio.timeout(self.op_timeout):
                raw = await self.redis.get(key)
        except _FAILURES as err:
            self._failed(err, "read")
            return await compute()
        self._worked()
        if raw is not None:
            return json.loads(raw)  # type: ignore[no-any-return]
        value = await compute()
        try:
            async with asyncio.timeout(self.op_timeout):
                await self.redis.set(key, json.dumps(value, separators=(",", ":")), ex=self.ttl)
        except _FAILURES as err:
            self._failed(err, "write")
        return value

    async def invalidate(self, tenant: str) -> None:
        """Make every cached result of ``tenant`` unreachable — call after the write committed.

        Done whatever this process's TTL (the readers may be other replicas).
        """
        try:
            async with asyncio.timeout(self.op_timeout):
                await self.redis.set(generation_key(tenant), secrets.token_hex(8))
        except _FAILURES as err:
            # Entries of the old generation stay readable until their TTL (any process, this
            # one after its pause, may serve them): say so every time.
            log.error("analytics_cache_invalidate_failed", tenant=tenant, error=type(err).__name__)
            self._failed(err, "invalidate")
        else:
            self._worked()
