"""The subscription functions other parts call directly (the sync engine), and the limit source."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.db import Database
from services.kit.naming import tenant_key
from services.moderation.subscriptions import cache, store
from services.moderation.subscriptions.limits import limit_from, tenant_subscription_limit
from services.moderation.subscriptions.models import DEFAULT_LIMIT_PER_ADMIN


async def _bulk(db: Database, tenant: str, rows: int, tracked: int) -> None:
    async with db.session("moderation", tenant) as s:
        await s.execute(text(
            "INSERT INTO subscriptions (admin_user_id, admin_chat_id, tracked_user_id) "
            "SELECT g, -g, :t FROM generate_series(1, :n) AS g"), {"t": tracked, "n": rows})


async def test_subscriber_chats_is_keyset_paginated(engine: Any, moderation_tenant: str) -> None:
    db = Database(engine)
    await _bulk(db, moderation_tenant, 1200, tracked=999_999)
    seen: list[int] = []
    sizes = []
    after = 0
    for _ in range(10):
        async with db.session("moderation", moderation_tenant) as s:
            chunk = await store.subscriber_chats(s, 999_999, after_id=after, limit=500)
        sizes.append(len(chunk))
        seen += [c.admin_chat_id for c in chunk]
        if len(chunk) < 500:
            break
        after = chunk[-1].subscription_id
    assert sizes == [500, 500, 200]
    assert sorted(seen) == sorted(-g for g in range(1, 1201)) and len(set(seen)) == 1200


async def test_deactivate_for_chat_emits_events_and_invalidates(engine: Any, moderation_tenant: str,
                                                               redis: Any) -> None:
    db = Database(engine)
    async with db.session("moderation", moderation_tenant) as s:
        for tracked in (7, 8):
            await store.create_subscription(s, moderation_tenant, admin_user_id=1, admin_chat_id=-50,
                                            tracked_user_id=tracked, settings=None, limit=100)
        await store.create_subscription(s, moderation_tenant, admin_user_id=1, admin_chat_id=-51,
                                        tracked_user_id=7, settings=None, limit=100)
    key = tenant_key(moderation_tenant, "subscription", "user", 7)
    await redis.set(key, "[]", ex=60)
    async with db.session("moderation", moderation_tenant) as s:
        gone = await store.deactivate_subscriptions_for_chat(s, moderation_tenant, -50, "chat_not_found")
    await cache.invalidate(redis, moderation_tenant, gone)
    assert sorted(g.tracked_user_id for g in gone) == [7, 8] and not any(g.is_active for g in gone)
    assert not await redis.exists(key)
    async with db.session("moderation", moderation_tenant) as s:
        envelopes = (await s.execute(text(
            "SELECT envelope FROM outbox WHERE topic = 'subscription.deleted' ORDER BY id"))).scalars().all()
        left = await store.subscriber_chats(s, 7)
    reasons = [unpack(EventEnvelope.FromString(bytes(e)), events_pb2.SubscriptionDeleted).reason
               for e in envelopes]
    assert reasons == ["chat_not_found", "chat_not_found"]
    assert [c.admin_chat_id for c in left] == [-51]


async def test_limit_defaults_when_the_registry_has_nothing(engine: Any, moderation_tenant: str) -> None:
    db = Database(engine)
    async with db.session("moderation", moderation_tenant) as s:
        assert await tenant_subscription_limit(s, moderation_tenant) == DEFAULT_LIMIT_PER_ADMIN
        # A registry schema without the table also falls back (the direct-read path).
        assert await tenant_subscription_limit(s, moderation_tenant,
                                               schema="no_such_schema") == DEFAULT_LIMIT_PER_ADMIN
    assert limit_from({"subscriptionsPerAdmin": 250}) == 250
    assert limit_from({"subscriptionsPerAdmin": "lots"}) == DEFAULT_LIMIT_PER_ADMIN
    assert limit_from({"subscriptionsPerAdmin": -1}) == DEFAULT_LIMIT_PER_ADMIN
    assert limit_from(None) == DEFAULT_LIMIT_PER_ADMIN
