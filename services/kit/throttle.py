"""Rate limits that several processes share exactly, through Redis.

A limit that each replica keeps in memory has to be split between replicas
(``rate / replicas``), which is only right while every replica is busy and the
replica count is known. :class:`SharedTokenBucket` keeps one schedule in Redis
instead (GCRA: the key holds the theoretical arrival time of the next call), so
any number of processes together stay at ``rate`` per second, and one that is
alone may use all of it.

Callers *reserve* a slot and then sleep until it comes: one round trip per call,
no polling. Time is Redis's own clock (``TIME``), so replicas on hosts whose
clocks differ still agree. A pause (Telegram's 429 ``retry_after``) is a second
key that every reservation honours.

If Redis cannot be reached, the bucket falls back to an in-process schedule at
the same rate and logs once: a Redis outage then costs exactness across
replicas, never the calls themselves.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

log = structlog.get_logger("tenantry.throttle")

# KEYS[1] schedule, KEYS[2] pause; ARGV: interval us, tolerance us, max wait us (-1: any).
# Returns {granted (1/0), wait us}: granted means "your slot starts in wait us".
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local paused = tonumber(redis.call('GET', KEYS[2]) or '0')
local start = math.max(tat - tolerance, now, paused)
local wait = start - now
if max_wait >= 0 and wait > max_wait then
  return {0, wait}
end
local next_tat = math.max(tat, start) + interval
redis.call('SET', KEYS[1], string.format('%d', next_tat), 'PX',
           math.floor((next_tat - now) / 1000) + 1000)
return {1, wait}
"""

# KEYS[1] pause; ARGV[1] pause length us. Extends a pause, never shortens it.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local untl = now + tonumber(ARGV[1])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > cur then
  redis.call('SET', KEYS[1], string.format('%d', untl), 'PX', math.floor(tonumber(ARGV[1]) / 1000) + 1000)
end
return 1
"""


#: How many pauses in a row one acquire waits out before it goes anyway (each is a 429's
#: retry_after; the caller's own 429 handling takes over past this).
_MAX_REPAUSES = 5


class SharedTokenBucket:
    """``rate`` calls per second across every process using ``key``, ``burst`` at once.

    ``pause_key`` (default ``<key>:pause``) lets several buckets honour one pause,
    e.g. a bot's per-chat buckets and the bot's own. Without ``redis`` the schedule
    is this process's alone.
    """

    def __init__(self, redis: Redis | None, key: str, rate: float, burst: float = 1.0, *,
                 pause_key: str | None = None) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.redis = redis
        self.key = key
        self.pause_key = pause_key or f"{key}:pause"
        self.rate = rate
        self._interval_us = int(1_000_000 / rate)
        self._tolerance_us = int(self._interval_us * (burst - 1))
        self._reserve = redis.register_script(_RESERVE) if redis is not None else None
        self._pause = redis.register_script(_PAUSE) if redis is not None else None
        # The in-process schedule (monotonic seconds): without Redis, or while it fails.
        self._local_next = 0.0
        self._local_paused = 0.0
        self._degraded = False

    async def reserve(self, max_wait: float | None = None) -> tuple[bool, float]:
        """Reserve the next slot. Returns ``(True, wait)``: the slot starts in ``wait``
        seconds; or, when that would exceed ``max_wait``, ``(False, wait)`` with nothing
        reserved (the caller may come back after about ``wait`` seconds)."""
        if self._reserve is None:
            return self._reserve_locally(max_wait)
        limit = -1 if max_wait is None else int(max_wait * 1_000_000)
        try:
            granted, wait_us = await self._reserve(keys=[self.key, self.pause_key],
                                                   args=[self._interval_us, self._tolerance_us, limit])
        except (RedisError, OSError) as exc:
            return self._reserve_locally(max_wait, exc)
        if self._degraded:
            self._degraded = False
            log.info("throttle_shared_again", key=self.key)
        return bool(granted), int(wait_us) / 1_000_000

    def _reserve_locally(self, max_wait: float | None, exc: Exception | None = None) -> tuple[bool, float]:
        if exc is not None:
            self._note_failure(exc)
        now = time.monotonic()
        start = max(self._local_next - self._tolerance_us / 1_000_000, now, self._local_paused)
        wait = start - now
        if max_wait is not None and wait > max_wait:
            return False, wait
        self._local_next = max(self._local_next, start) + self._interval_us / 1_000_000
        return True, wait

    async def acquire(self) -> float:
        """Wait for this call's slot; return how long it waited (seconds).

        A slot is fixed when it is reserved, so a pause that begins while a caller waits
        for its slot (another process got a 429) would not hold it: a caller that had to
        wait looks at the pause again, waits it out and takes a new slot.
        """
        waited = 0.0
        for _ in range(_MAX_REPAUSES):
            _, wait = await self.reserve()
            if wait <= 0:
                return waited
            await asyncio.sleep(wait)
            waited += wait
            paused = await self.paused_for()
            if paused <= 0:
                return waited
            await asyncio.sleep(paused)
            waited += paused
        return waited

    async def pause(self, seconds: float) -> None:
        """Hold every holder of this bucket for ``seconds`` (extends, never shortens)."""
        self._local_paused = max(self._local_paused, time.monotonic() + seconds)
        if self._pause is None:
            return
        try:
            await self._pause(keys=[self.pause_key], args=[int(seconds * 1_000_000)])
        except (RedisError, OSError) as exc:
            self._note_failure(exc)

    def _note_failure(self, exc: Exception) -> None:
        if not self._degraded:
            self._degraded = True
            log.warning("throttle_local_fallback", key=self.key, error=type(exc).__name__)

    async def paused_for(self) -> float:
        """Seconds left of a pause (0 when not paused)."""
        local = max(0.0, self._local_paused - time.monotonic())
        if self.redis is None:
            return local
        try:
            async with self.redis.pipeline(transaction=False) as pipe:
                raw, (now_s, now_us) = await pipe.get(self.pause_key).time().execute()
        except (RedisError, OSError):
            return local
        if raw is None:
            return local
        return max(local, (int(raw) - (int(now_s) * 1_000_000 + int(now_us))) / 1_000_000)
