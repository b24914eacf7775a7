"""The seed's Redis caches of subscriptions (§2 "Redis кэш"), under the tenant's prefix.

* ``subscription:admin:{admin_id}:{chat_id}`` (1 h) — the admin's active
  subscriptions for that chat (the seed lists tracked ids; we keep the whole
  records so /check and the per-chat listing are served from it);
* ``subscription:user:{user_id}`` (30 min) — the active subscriptions to a
  tracked user (only when there are at most CACHE_MAX_ITEMS of them);
* ``subscription:count:{admin_id}`` (1 h) — the admin's active count.

Every write drops the keys of every subscription it touched, after commit.
"""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

from services.kit.naming import tenant_key

from ..users.cache import drop
from .models import Subscription

ADMIN_TTL_SECONDS = 3600
USER_TTL_SECONDS = 1800
COUNT_TTL_SECONDS = 3600
#: Larger lists are served from the database page by page instead.
CACHE_MAX_ITEMS = 1000


def admin_key(tenant: str, admin_id: int, chat_id: int) -> str:
    """``t:<tenant>:subscription:admin:<admin_id>:<chat_id>``."""
    return tenant_key(tenant, "subscription", "admin", admin_id, chat_id)


def user_key(tenant: str, user_id: int) -> str:
    """``t:<tenant>:subscription:user:<user_id>``."""
    return tenant_key(tenant, "subscription", "user", user_id)


def count_key(tenant: str, admin_id: int) -> str:
    """``t:<tenant>:subscription:count:<admin_id>``."""
    return tenant_key(tenant, "subscription", "count", admin_id)


def keys_of(tenant: str, subs: Iterable[Subscription]) -> list[str]:
    """Every cache key that may hold one of ``subs``."""
    keys: set[str] = set()
    for s in subs:
        keys.update((admin_key(tenant, s.admin_user_id, s.admin_chat_id),
                     user_key(tenant, s.tracked_user_id), count_key(tenant, s.admin_user_id)))
    return sorted(keys)


async def invalidate(redis: Redis, tenant: str, subs: Iterable[Subscription]) -> None:
    """Drop the cache keys of ``subs`` — call after the transaction that changed them committed."""
    await drop(redis, *keys_of(tenant, subs))
