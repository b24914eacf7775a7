"""The aiogram Bot and Dispatcher of one tenant.

aiogram's own outgoing calls (the replies) use an AiohttpSession pointed at
``TELEGRAM_API_BASE`` with a 5 s timeout, and a request middleware that keeps
the bot inside Telegram's limits (the shared :class:`BotRateLimiter`: ~30/s per
bot, 20/min per group) and retries: a 429 waits its ``retry_after`` (and pauses
the whole bot), network errors and 5xx back off exponentially, 3 retries at most.
"""

from __future__ import annotations

import asyncio
from typing import Any

import structlog
from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import TelegramMethod
from aiogram.methods.base import TelegramType
from redis.asyncio import Redis

from services.telegram_api import BotApiClient, BotRateLimiter
from services.telegram_api.limits import RateLimiter

from .guards import BotState
from .handlers import UpdateGuard, build_router
from .moderation import ModerationClient

log = structlog.get_logger("tenantry.telegram.bot")

TIMEOUT = 5.0


class RetryAndLimit(BaseRequestMiddleware):
    """Rate limits before each call; retries 429 (after retry_after) and transient errors."""

    def __init__(self, limiter: RateLimiter, *, retries: int = 3, backoff: float = 0.5,
                 max_retry_after: float = 60.0) -> None:
        self.limiter = limiter
        self.retries = retries
        self.backoff = backoff
        self.max_retry_after = max_retry_after

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Any:
        attempt = 0
        while True:
            await self.limiter.acquire(method.__api_method__, getattr(method, "chat_id", None))
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if attempt >= self.retries or exc.retry_after > self.max_retry_after:
                    raise
                await self.limiter.pause(exc.retry_after)
                log.info("telegram_retry_after", method=method.__api_method__,
                         retry_after=exc.retry_after)
            except (TelegramNetworkError, TelegramServerError) as exc:
                if attempt >= self.retries:
                    raise
                log.info("telegram_retry", method=method.__api_method__, error=type(exc).__name__)
                await asyncio.sleep(self.backoff * 2 ** attempt)
            attempt += 1


def make_bot(token: str, base_url: str, *, backoff: float = 0.5,
             limiter: RateLimiter | None = None) -> Bot:
    """A Bot on ``base_url`` with the 5 s timeout, limits (``limiter``, e.g. the bot's
    limits shared through Redis; in-process by default) and retries."""
    session = AiohttpSession(api=TelegramAPIServer.from_base(base_url.rstrip("/")),
                             timeout=TIMEOUT)
    session.middleware(RetryAndLimit(limiter or BotRateLimiter(), backoff=backoff))
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode="HTML"))


def make_dispatcher(tenant: str, redis: Redis, moderation: ModerationClient, api: BotApiClient, *,
                    commands_per_minute: int = 30, admin_cache_seconds: int = 300) -> Dispatcher:
    """A Dispatcher for one tenant's bot, with its state and the moderation client."""
    state = BotState(redis, tenant, commands_per_minute=commands_per_minute,
                     admin_cache_seconds=admin_cache_seconds)
    guard = UpdateGuard()
    dp = Dispatcher(tenant=tenant, bot_state=state, moderation=moderation, bot_api=api,
                    update_guard=guard)
    dp.update.outer_middleware(guard)
    dp.include_router(build_router())
    return dp
