"""At most N notifications a minute per user (Redis, fixed one-minute windows).

Over the limit a notification is not dropped: the dispatcher moves it to the
start of the next window.
"""

from __future__ import annotations

from datetime import UTC, datetime

from redis.asyncio import Redis

from services.kit.naming import tenant_key

DEFAULT_PER_MINUTE = 20


class UserRateLimiter:
    """Counts sends per (tenant, user) in the current minute."""

    def __init__(self, redis: Redis, per_minute: int = DEFAULT_PER_MINUTE) -> None:
        self.redis = redis
        self.per_minute = per_minute

    async def acquire(self, tenant: str, user_id: int, now: datetime) -> datetime | None:
        """Take one send; None if allowed, else when the next window opens."""
        window = int(now.timestamp() // 60)
        key = tenant_key(tenant, "notification", "rate", user_id, window)
        pipe = self.redis.pipeline(transaction=True)
        pipe.incr(key)
        pipe.expire(key, 120)
        count, _ = await pipe.execute()
        if int(count) <= self.per_minute:
            return None
        await self.redis.decr(key)
        return datetime.fromtimestamp((window + 1) * 60, UTC)
