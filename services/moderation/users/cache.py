"""A small Redis read-through cache of dataclasses, under the tenant's key prefix.

The database is the truth: a Redis failure degrades to a miss (reads) or is
logged (invalidation), never fails the request. Writers drop keys *after*
their transaction commits, so a reader cannot re-fill the cache with the
pre-commit state once the drop has happened.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from services.kit.naming import tenant_key

log = structlog.get_logger("tenantry.moderation.cache")

#: Seed §3: "Кэширование пользовательских данных (TTL: 5 min)".
PROFILE_TTL_SECONDS = 300

T = TypeVar("T")

_DATETIME_FIELDS = frozenset({"created_at", "updated_at", "last_seen"})


def user_key(tenant: str, user_id: int) -> str:
    """``t:<tenant>:user:<user_id>`` — a user's profile."""
    return tenant_key(tenant, "user", user_id)


def user_settings_key(tenant: str, user_id: int) -> str:
    """``t:<tenant>:user_settings:<user_id>`` — a user's settings."""
    return tenant_key(tenant, "user_settings", user_id)


def chat_settings_key(tenant: str, chat_id: int) -> str:
    """``t:<tenant>:chat_settings:<chat_id>`` — a chat's settings."""
    return tenant_key(tenant, "chat_settings", chat_id)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot cache {type(value).__name__}")


def encode(value: Any) -> str:
    """JSON for a dataclass or a list of dataclasses."""
    if isinstance(value, list):
        return json.dumps([dataclasses.asdict(v) for v in value], default=_default)
    return json.dumps(dataclasses.asdict(value), default=_default)


def _revive(cls: type[T], data: dict[str, Any]) -> T:
    for name in _DATETIME_FIELDS & data.keys():
        if data[name] is not None:
            data[name] = datetime.fromisoformat(data[name])
    return cls(**data)


def decode_one(cls: type[T], raw: bytes | str) -> T:
    """A dataclass back from :func:`encode`."""
    return _revive(cls, json.loads(raw))


def decode_many(cls: type[T], raw: bytes | str) -> list[T]:
    """A list of dataclasses back from :func:`encode`."""
    return [_revive(cls, item) for item in json.loads(raw)]


async def get_raw(redis: Redis, key: str) -> bytes | None:
    """The cached bytes, or None on a miss or a Redis failure."""
    try:
        return await redis.get(key)
    except RedisError as err:
        log.warning("cache_read_failed", key=key, error=type(err).__name__)
        return None


async def put(redis: Redis, key: str, value: Any, ttl: int) -> None:
    """Cache ``value`` (a dataclass, a list of them, or a plain str/int) for ``ttl`` seconds."""
    payload = value if isinstance(value, str | int) else encode(value)
    try:
        await redis.set(key, payload, ex=ttl)
    except RedisError as err:
        log.warning("cache_write_failed", key=key, error=type(err).__name__)


async def drop(redis: Redis, *keys: str) -> None:
    """Invalidate ``keys`` (after the write committed)."""
    if not keys:
        return
    try:
        await redis.delete(*keys)
    except RedisError as err:
        # The entries expire on their own TTL; say so loudly, the data is stale until then.
        log.error("cache_invalidate_failed", keys=list(keys), error=type(err).__name__)
