"""Where a tenant's Bot API client comes from.

Today every tenant uses ``TELEGRAM_BOT_TOKEN``; the operator will give each
tenant its own token through a Secret. :class:`BotClientFactory` takes the token
lookup as a plain async function (``token_for(tenant) -> str``), so plugging in
per-tenant tokens means passing another function, nothing else. Clients are
cached per token: tenants sharing one bot share its rate limits and breaker,
which is what Telegram counts. Given ``redis``, each bot's limits live in Redis
(:class:`SharedBotRateLimiter`), so every process calling the bot shares them.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis

from .breaker import CircuitBreaker
from .client import BotApiClient
from .limits import RateLimiter, shared_limiter

TokenLookup = Callable[[str], Awaitable[str]]


class BotTokenMissing(LookupError):
    """No bot token is configured for the tenant."""


async def bot_token_for(tenant: str) -> str:
    """The bot token of ``tenant``: ``TELEGRAM_BOT_TOKEN`` for now."""
    token = os.environ.get("TELEGRAM_BOT_TOKEN", "")
    if not token:
        raise BotTokenMissing(f"no Telegram bot token configured for tenant {tenant!r}")
    return token


class BotClientFactory:
    """One :class:`BotApiClient` per bot token, created on first use."""

    def __init__(self, token_for: TokenLookup = bot_token_for, *, base_url: str | None = None,
                 limiter_factory: Callable[[], RateLimiter] | None = None,
                 breaker_factory: Callable[[], CircuitBreaker] | None = None,
                 redis: Redis | None = None, per_second: float = 29.0,
                 **client_options: Any) -> None:
        """``limiter_factory`` / ``breaker_factory`` make each bot's own limiter and breaker;
        without a limiter factory but with ``redis``, a bot's limiter is shared through
        Redis at ``per_second`` (keys under the first tenant that used the bot); other
        options go to BotApiClient."""
        self._token_for = token_for
        self._limiter_factory = limiter_factory
        self._redis = redis
        self._per_second = per_second
        self._breaker_factory = breaker_factory
        self._base_url = base_url
        self._options = client_options
        self._clients: dict[str, BotApiClient] = {}
        self._lock = asyncio.Lock()

    async def for_tenant(self, tenant: str) -> BotApiClient:
        """The client of ``tenant``'s bot."""
        token = await self._token_for(tenant)
        client = self._clients.get(token)
        if client is None:
            async with self._lock:
                client = self._clients.get(token)
                if client is None:
                    options = dict(self._options)
                    if self._limiter_factory is not None:
                        options.setdefault("limiter", self._limiter_factory())
                    elif self._redis is not None:
                        options.setdefault("limiter", shared_limiter(
                            self._redis, tenant, token, per_second=self._per_second))
                    if self._breaker_factory is not None:
                        options.setdefault("breaker", self._breaker_factory())
                    client = BotApiClient(token, base_url=self._base_url, **options)
                    self._clients[token] = client
        return client

    async def aclose(self) -> None:
        """Close every client's connections."""
        for client in self._clients.values():
            await client.aclose()
        self._clients.clear()
