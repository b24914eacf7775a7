"""Token buckets that keep a bot within Telegram's limits.

Telegram allows a bot about 30 requests per second overall and 20 messages
per minute into one group. :class:`BotRateLimiter` holds one bucket per bot
(every method) and one per chat (messages only), and a global pause that a 429
``retry_after`` sets: when Telegram says "wait", every call of this bot waits.

The buckets are in-process: several worker replicas of one bot must split the
rate between them (``per_second / replicas``), which is what the sync worker does
from its SyncPolicy's ``workers.replicas``.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict

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

    def pause(self, seconds: float) -> None:
        """Telegram said retry_after: hold every call of this bot for ``seconds``."""
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def paused_for(self) -> float:
        """Seconds left of a 429 pause (0 when not paused)."""
        return max(0.0, self._paused_until - time.monotonic())

    def _chat_bucket(self, chat_id: int | str) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            # Capacity 3: a short burst into one group is fine, a stream is paced.
            bucket = self._chats[chat_id] = TokenBucket(self.chat_rate, 3)
            if len(self._chats) > self._max_chats:
                self._chats.popitem(last=False)
        else:
            self._chats.move_to_end(chat_id)
        return bucket

    async def acquire(self, method: str, chat_id: int | str | None) -> None:
        """Wait for this call's turn: the 429 pause, the chat's bucket, the bot's bucket."""
        # A pause may be extended by another 429 while we sleep: look again after.
        for _ in range(100):
            wait = self.paused_for()
            if wait <= 0:
                break
            await asyncio.sleep(wait)
        if method in MESSAGE_METHODS and chat_id is not None and _is_group(chat_id):
            await self._chat_bucket(chat_id).acquire()
        await self.bot.acquire()


def _is_group(chat_id: int | str) -> bool:
    # Groups and channels have negative ids (or an @username); users positive ones.
    return isinstance(chat_id, str) or chat_id < 0
