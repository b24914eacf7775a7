"""Rate limits per user and per tenant, in Redis (fixed one-minute windows).

A window's counter is one INCR with an expiry, so every gateway replica shares
it; the first request of a window sets the TTL. Over the limit, the answer is
429 with ``Retry-After`` = the seconds left in the window.
"""

from __future__ import annotations

import time

from redis.asyncio import Redis

from services.kit.errors import ResourceExhausted

WINDOW = 60


async def hit(redis: Redis, key: str, limit: int) -> None:
    """Count one request against ``key``; RESOURCE_EXHAUSTED past ``limit`` per minute."""
    window = int(time.time()) // WINDOW
    full = f"{key}:{window}"
    pipe = redis.pipeline(transaction=True)
    pipe.incr(full)
    pipe.expire(full, WINDOW + 1)
    count, _ = await pipe.execute()
    if int(count) > limit:
        retry = WINDOW - int(time.time()) % WINDOW
        raise ResourceExhausted(f"rate limit of {limit} requests a minute exceeded",
                                code="rate_limited", retry_after=retry)
