"""The gateway's one-round-trip admission: revocation, then the user's, then the tenant's window."""

from __future__ import annotations

import time
import uuid

import pytest
from redis.asyncio import Redis

from services.gateway.ratelimit import WINDOW, Admission
from services.kit.auth import DISABLED_PREFIX, REVOKED_PREFIX
from services.kit.errors import ResourceExhausted, Unauthenticated


@pytest.fixture
async def redis(redis_url):  # type: ignore[no-untyped-def]
    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


async def _count(redis: Redis, key: str) -> int:
    raw = await redis.get(f"{key}:{int(time.time()) // WINDOW}")
    return int(raw or 0)


async def test_admission_counts_user_then_tenant_and_refuses_revoked_tokens(redis):
    admission = Admission(redis)
    tag = uuid.uuid4().hex
    claims = {"jti": f"j-{tag}", "sub": f"s-{tag}"}
    user, tenant = f"test:rl:user:{tag}", f"test:rl:tenant:{tag}"
    await admission.admit(claims, user, 2, tenant, 3)
    await admission.admit(claims, user, 2, tenant, 3)
    assert (await _count(redis, user), await _count(redis, tenant)) == (2, 2)
    with pytest.raises(ResourceExhausted) as over:  # the user's third: 429, the tenant is not charged
        await admission.admit(claims, user, 2, tenant, 3)
    assert 1 <= over.value.retry_after <= WINDOW
    assert (await _count(redis, user), await _count(redis, tenant)) == (3, 2)
    other = {"jti": f"j2-{tag}", "sub": f"s2-{tag}"}
    await admission.admit(other, f"{user}:2", 5, tenant, 3)
    with pytest.raises(ResourceExhausted):  # the tenant's fourth
        await admission.admit(other, f"{user}:2", 5, tenant, 3)
    assert 0 < await redis.ttl(f"{tenant}:{int(time.time()) // WINDOW}") <= WINDOW + 1
    # Revoked (or a disabled subject): 401 and nothing is counted.
    await redis.set(REVOKED_PREFIX + claims["jti"], "1", ex=60)
    with pytest.raises(Unauthenticated):
        await admission.admit(claims, user, 100, None, 0)
    assert await _count(redis, user) == 3
    await redis.set(DISABLED_PREFIX + other["sub"], "1", ex=60)
    with pytest.raises(Unauthenticated):
        await admission.admit(other, f"{user}:2", 100, None, 0)
    # No tenant key (a service token): only the user's window.
    fresh = {"jti": f"j3-{tag}", "sub": f"s3-{tag}"}
    await admission.admit(fresh, f"{user}:3", 1, None, 0)
    assert await _count(redis, f"{user}:3") == 1
