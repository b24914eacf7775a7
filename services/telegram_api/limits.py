"""Token buckets that keep a bot within Telegram's limits.

Telegram allows a bot about 30 requests per second overall and 20 messages
per minute into one group. :class:`BotRateLimiter` holds one bucket per bot
(every method) and one per chat (messages only), and a global pause that a 429
``retry_after`` sets: when Telegram says "wait", every call of this bot waits.

:class:`BotRateLimiter` keeps its buckets in-process: several processes using
one bot would each allow the whole rate. :class:`SharedBotRateLimiter` has the
same interface with the buckets and the pause in Redis
(:class:`services.kit.throttle.SharedTokenBucket`), so every process of the
platform that calls one bot (sync worker replicas, the moderation API's manual
syncs, the telegram service) together stays under Telegram's limit.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

from redis.asyncio import Redis

from services.kit.naming import tenant_key
from services.kit.throttle import SharedTokenBucket

_B = TypeVar("_B")

#: Methods that post into a chat and count against its per-chat message limit.
MESSAGE_METHODS = frozenset({"sendMessage", "sendPhoto", "sendDocument", "forwardMessage",
                             "copyMessage"})


class TokenBucket:
    """``rate`` tokens per second, at most ``capacity`` saved up; waiters queue fairly."""

    def __init__(self, rate: float, capacity: float = 1.0) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.capacity, self._tokens + (now - self._updated) * self.rate)
        self._updated = now

    async def acquire(self) -> None:
        """Wait until a token is available and take it."""
        async with self._lock:  # FIFO: one waiter computes its sleep at a time
            while True:
                now = time.monotonic()
                self._refill(now)
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


class BotRateLimiter:
    """Per-bot and per-chat buckets, plus the pause a 429 imposes on the whole bot."""

    def __init__(self, per_second: float = 29.0, burst: float = 1.0,
                 chat_messages_per_minute: float = 20.0, max_chats: int = 10_000) -> None:
        # 29/s with no saved burst stays under a sliding "30 in any second" window.
        self.bot = TokenBucket(per_second, burst)
        self.chat_rate = chat_messages_per_minute / 60.0
        self._chats: OrderedDict[int | str, TokenBucket] = OrderedDict()
        self._max_chats = max_chats
        self._paused_until = 0.0

    async def pause(self, seconds: float) -> None:
        """Telegram said retry_after: hold every call of this bot for ``seconds``."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def _chat_bucket(self, chat_id: int | str) -> TokenBucket:
        # Capacity 3: a short burst into one group is fine, a stream is paced.
        return _lru(self._chats, chat_id, lambda: TokenBucket(self.chat_rate, 3), self._max_chats)

    async def acquire(self, method: str, chat_id: int | str | None) -> None:
        """Wait for this call's turn: the 429 pause, the chat's bucket, the bot's bucket.

        A pause can begin (or be extended by another 429) while this call waits for a
        token, so the pause is looked at again after the buckets."""
        for _ in range(100):
            wait = await self.paused_for()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            if method in MESSAGE_METHODS and chat_id is not None and _is_group(chat_id):
                await self._chat_bucket(chat_id).acquire()
            await self.bot.acquire()
            if await self.paused_for() <= 0:
                return


def bot_key(token: str) -> str:
    """A stable name for a bot in Redis keys that does not reveal its token."""
    return hashlib.sha256(token.encode()).hexdigest()[:24]


def shared_limiter(redis: Redis, tenant: str, token: str, *, per_second: float = 29.0) -> SharedBotRateLimiter:
    """The limiter of ``tenant``'s bot ``token`` that every process shares (keys
    ``t:<tenant>:bot:<bot_key(token)>:…``)."""
    return SharedBotRateLimiter(redis, tenant_key(tenant, "bot", bot_key(token)), per_second=per_second)


class SharedBotRateLimiter:
    """:class:`BotRateLimiter`'s limits, shared by every process through Redis.

    ``prefix`` names the bot's keys (e.g. ``t:<tenant>:bot:<bot_key(token)>``); the
    bot bucket is ``<prefix>:rate``, a group's ``<prefix>:chat:<id>``, the 429 pause
    ``<prefix>:pause``, which the bot bucket honours in the same round trip.
    """

    def __init__(self, redis: Redis, prefix: str, *, per_second: float = 29.0, burst: float = 1.0,
                 chat_messages_per_minute: float = 20.0, max_chats: int = 10_000) -> None:
        self.redis = redis
        self.prefix = prefix
        self.bot = SharedTokenBucket(redis, f"{prefix}:rate", per_second, burst,
                                     pause_key=f"{prefix}:pause")
        self.chat_rate = chat_messages_per_minute / 60.0
        self._chats: OrderedDict[int | str, SharedTokenBucket] = OrderedDict()
        self._max_chats = max_chats

    async def pause(self, seconds: float) -> None:
        """Telegram said retry_after: hold every call of this bot, in every process."""
        await self.bot.pause(seconds)

    async def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when not paused)."""
        return await self.bot.paused_for()

    def _chat_bucket(self, chat_id: int | str) -> SharedTokenBucket:
        return _lru(self._chats, chat_id, lambda: SharedTokenBucket(
            self.redis, f"{self.prefix}:chat:{chat_id}", self.chat_rate, 3,
            pause_key=self.bot.pause_key), self._max_chats)

    async def acquire(self, method: str, chat_id: int | str | None) -> None:
        """Wait for this call's turn: the chat's bucket, then the bot's (and its pause)."""
        if method in MESSAGE_METHODS and chat_id is not None and _is_group(chat_id):
            await self._chat_bucket(chat_id).acquire()
        await self.bot.acquire()


RateLimiter = BotRateLimiter | SharedBotRateLimiter


def _lru(cache: OrderedDict[int | str, _B], key: int | str, make: Callable[[], _B], limit: int) -> _B:
    """``cache[key]``, made on first use; the least recently used entry goes past ``limit``."""
    item = cache.get(key)
    if item is None:
        item = cache[key] = make()
        if len(cache) > limit:
            cache.popitem(last=False)
    else:
        cache.move_to_end(key)
    return item


def _is_group(chat_id: int | str) -> bool:
    # Groups and channels have negative ids (or an @username); users positive ones.
    return isinstance(chat_id, str) or chat_id < 0
