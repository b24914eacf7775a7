"""Subscriptions over a real gRPC server, PostgreSQL and Redis (seed 001 §2)."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
from google.protobuf import struct_pb2
from sqlalchemy import text
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import events_pb2
from tenantry.moderation.v1 import subscriptions_pb2 as pb
from tenantry.moderation.v1 import subscriptions_pb2_grpc as pb_grpc

from services.identity.registry import ensure_identity_schema, register_tenant
from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.relay import OutboxRelay
from services.kit.migrations import migrate
from services.kit.naming import schema_name, stream_key, tenant_key
from tests.moderation.conftest import auth
from tests.moderation.test_users import count, fails

CHAT = -100500


@pytest.fixture
def subs(moderation_server: Any) -> pb_grpc.SubscriptionServiceStub:
    return pb_grpc.SubscriptionServiceStub(moderation_server[1])


def req(admin: int, tracked: int, chat: int = CHAT, **settings: Any) -> pb.CreateSubscriptionRequest:
    message = pb.CreateSubscriptionRequest(admin_user_id=admin, admin_chat_id=chat, tracked_user_id=tracked)
    if settings:
        extra = struct_pb2.Struct()
        extra.update(settings)
        message.settings.CopyFrom(extra)
    return message


def page(size: int, token: str = "") -> pagination_pb2.PageRequest:
    return pagination_pb2.PageRequest(page_size=size, page_token=token)


async def outbox(engine: Any, tenant: str, topic: str) -> list[bytes]:
    async with engine.connect() as conn:
        return [bytes(r) for r in (await conn.execute(text(
            f'SELECT envelope FROM "{schema_name("moderation", tenant)}".outbox WHERE topic = :t ORDER BY id'),
            {"t": topic})).scalars().all()]


async def test_create_check_list_delete_and_events(subs, moderation_tenant, engine, redis):
    md = auth(moderation_tenant, "moderator")
    made = await subs.CreateSubscription(req(111, 987, mode="fast"), metadata=md)
    s = made.subscription
    assert (s.admin_user_id, s.admin_chat_id, s.tracked_user_id, s.is_active) == (111, CHAT, 987, True)
    assert s.settings["mode"] == "fast" and not made.reactivated

    found = await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=111, admin_chat_id=CHAT, tracked_user_id=987), metadata=md)
    assert found.exists and found.subscription.id == s.id
    missing = await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=111, admin_chat_id=CHAT, tracked_user_id=988), metadata=md)
    assert not missing.exists and not missing.HasField("subscription")

    mine = await subs.ListAdminSubscriptions(pb.ListAdminSubscriptionsRequest(admin_id=111), metadata=md)
    assert [x.id for x in mine.subscriptions] == [s.id] and not mine.page.next_page_token
    theirs = await subs.ListUserSubscribers(pb.ListUserSubscribersRequest(user_id=987), metadata=md)
    assert [x.admin_user_id for x in theirs.subscriptions] == [111]

    gone = await subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=s.id), metadata=md)
    assert not gone.subscription.is_active
    err = await fails(subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=s.id), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "subscription_not_found"
    assert not (await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=111, admin_chat_id=CHAT, tracked_user_id=987), metadata=md)).exists

    created = [unpack(EventEnvelope.FromString(b), events_pb2.SubscriptionCreated)
               for b in await outbox(engine, moderation_tenant, "subscription.created")]
    assert [(e.subscription_id, e.admin_user_id, e.admin_chat_id, e.tracked_user_id) for e in created] == [
        (s.id, 111, CHAT, 987)]
    deleted = [unpack(EventEnvelope.FromString(b), events_pb2.SubscriptionDeleted)
               for b in await outbox(engine, moderation_tenant, "subscription.deleted")]
    assert [(e.subscription_id, e.reason) for e in deleted] == [(s.id, "deleted")]

    # The relay publishes them to the tenant's streams.
    assert await OutboxRelay(engine, redis, "moderation").drain(moderation_tenant) == 2
    entries = await redis.xrange(stream_key(moderation_tenant, "subscription.created"))
    envelope = EventEnvelope.FromString(entries[0][1][b"envelope"])
    assert envelope.tenant == moderation_tenant and envelope.event_type == "subscription.created"


async def test_self_subscription_is_refused_and_writes_nothing(subs, moderation_tenant, engine):
    err = await fails(subs.CreateSubscription(req(5, 5), metadata=auth(moderation_tenant)))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and err.reason == "self_subscription"
    assert [v.field for v in err.violations] == ["tracked_user_id"]
    assert await count(engine, moderation_tenant, "subscriptions") == 0
    assert await count(engine, moderation_tenant, "outbox") == 0


async def test_duplicate_is_refused_and_deleted_one_reactivates(subs, moderation_tenant, engine):
    md = auth(moderation_tenant, "moderator")
    first = await subs.CreateSubscription(req(1, 2), metadata=md)
    err = await fails(subs.CreateSubscription(req(1, 2), metadata=md))
    assert err.code == grpc.StatusCode.ALREADY_EXISTS and err.reason == "subscription_exists"
    await subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=first.subscription.id), metadata=md)
    again = await subs.CreateSubscription(req(1, 2, note="back"), metadata=md)
    assert again.reactivated and again.subscription.id == first.subscription.id
    assert again.subscription.is_active and again.subscription.settings["note"] == "back"
    assert await count(engine, moderation_tenant, "subscriptions") == 1
    assert len(await outbox(engine, moderation_tenant, "subscription.created")) == 2


async def test_bad_input_writes_nothing(subs, moderation_tenant, engine):
    md = auth(moderation_tenant, "admin")
    err = await fails(subs.CreateSubscription(req(0, -3, chat=0), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"admin_user_id", "admin_chat_id", "tracked_user_id"}
    big = "x" * 20000
    err = await fails(subs.CreateSubscription(req(1, 2, blob=big), metadata=md))
    assert [v.field for v in err.violations] == ["settings"]
    err = await fails(subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=-1), metadata=md))
    assert [v.field for v in err.violations] == ["id"]
    err = await fails(subs.ListUserSubscribers(pb.ListUserSubscribersRequest(
        user_id=1, page=page(501, "%%%not-a-token")), metadata=md))
    assert {v.field for v in err.violations} == {"page_size", "page_token"}
    assert await count(engine, moderation_tenant, "subscriptions") == 0
    assert await count(engine, moderation_tenant, "outbox") == 0
    # Writes need moderator: a member is refused, and nothing is written either.
    err = await fails(subs.CreateSubscription(req(1, 2), metadata=auth(moderation_tenant, "member")))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert await count(engine, moderation_tenant, "subscriptions") == 0


async def test_limit_from_tenant_registry_refuses_with_event(subs, moderation_tenant, engine):
    await ensure_identity_schema(engine)
    await register_tenant(engine, name=moderation_tenant, display_name="T", apps=["moderation"],
                          limits={"subscriptionsPerAdmin": 3}, retention_days=365)
    md = auth(moderation_tenant, "moderator")
    for tracked in (10, 11):
        await subs.CreateSubscription(req(1, tracked), metadata=md)
    await subs.CreateSubscription(req(1, 12, chat=-2), metadata=md)  # the limit counts all chats
    err = await fails(subs.CreateSubscription(req(1, 13), metadata=md))
    assert err.code == grpc.StatusCode.RESOURCE_EXHAUSTED and err.reason == "subscription_limit_reached"
    # A duplicate at the limit is still a duplicate.
    err = await fails(subs.CreateSubscription(req(1, 10), metadata=md))
    assert err.code == grpc.StatusCode.ALREADY_EXISTS
    assert await count(engine, moderation_tenant, "subscriptions") == 3
    events = [unpack(EventEnvelope.FromString(b), events_pb2.SubscriptionLimitReached)
              for b in await outbox(engine, moderation_tenant, "subscription.limit_reached")]
    assert [(e.admin_user_id, e.admin_chat_id, e.tracked_user_id, e.limit) for e in events] == [
        (1, CHAT, 13, 3)]
    # Another admin has their own allowance; stats report the limit and what is left.
    await subs.CreateSubscription(req(2, 13), metadata=md)
    stats = await subs.GetSubscriptionStats(pb.GetSubscriptionStatsRequest(admin_user_id=1), metadata=md)
    assert (stats.limit_per_admin, stats.admin_active, stats.admin_remaining) == (3, 3, 0)


async def test_limit_holds_under_concurrent_creates(subs, moderation_tenant, engine):
    await ensure_identity_schema(engine)
    await register_tenant(engine, name=moderation_tenant, display_name="T", apps=["moderation"],
                          limits={"subscriptionsPerAdmin": 3}, retention_days=365)
    md = auth(moderation_tenant, "moderator")
    results = await asyncio.gather(*(subs.CreateSubscription(req(9, 100 + i), metadata=md)
                                     for i in range(8)), return_exceptions=True)
    refused = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(refused) == 5 and {r.code() for r in refused} == {grpc.StatusCode.RESOURCE_EXHAUSTED}
    assert await count(engine, moderation_tenant, "subscriptions") == 3
    assert len(await outbox(engine, moderation_tenant, "subscription.limit_reached")) == 5


async def test_caches_fill_on_read_and_drop_on_write(subs, moderation_tenant, redis):
    md = auth(moderation_tenant, "moderator")
    first = await subs.CreateSubscription(req(1, 50), metadata=md)
    admin_key = tenant_key(moderation_tenant, "subscription", "admin", 1, CHAT)
    user_key = tenant_key(moderation_tenant, "subscription", "user", 50)
    count_key = tenant_key(moderation_tenant, "subscription", "count", 1)

    await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=1, admin_chat_id=CHAT, tracked_user_id=50), metadata=md)
    await subs.ListUserSubscribers(pb.ListUserSubscribersRequest(user_id=50), metadata=md)
    stats = await subs.GetSubscriptionStats(pb.GetSubscriptionStatsRequest(admin_user_id=1), metadata=md)
    assert stats.admin_active == 1 and stats.limit_per_admin == 100
    assert 3500 < await redis.ttl(admin_key) <= 3600
    assert 1700 < await redis.ttl(user_key) <= 1800
    assert 3500 < await redis.ttl(count_key) <= 3600
    assert int(await redis.get(count_key)) == 1

    # A hit is served from the cache: poison the cached count and watch it come back.
    await redis.set(count_key, "42", ex=60)
    stats = await subs.GetSubscriptionStats(pb.GetSubscriptionStatsRequest(admin_user_id=1), metadata=md)
    assert stats.admin_active == 42

    # A write for the same admin/chat/tracked user drops all three keys.
    second = await subs.CreateSubscription(req(1, 50, chat=-9), metadata=md)
    assert not await redis.exists(count_key) and not await redis.exists(user_key)
    await subs.ListUserSubscribers(pb.ListUserSubscribersRequest(user_id=50), metadata=md)
    await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=1, admin_chat_id=CHAT, tracked_user_id=50), metadata=md)
    assert await redis.exists(user_key) and await redis.exists(admin_key)
    await subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=first.subscription.id), metadata=md)
    assert not await redis.exists(admin_key) and not await redis.exists(user_key)
    left = await subs.ListUserSubscribers(pb.ListUserSubscribersRequest(user_id=50), metadata=md)
    assert [s.id for s in left.subscriptions] == [second.subscription.id]


async def test_pagination_across_pages(subs, moderation_tenant):
    md = auth(moderation_tenant, "moderator")
    made = [(await subs.CreateSubscription(req(1000 + i, 77), metadata=md)).subscription.id
            for i in range(7)]
    own = [(await subs.CreateSubscription(req(5, 200 + i, chat=CHAT if i % 2 else -6), metadata=md)
            ).subscription.id for i in range(5)]

    async def walk(call: Any, make: Any) -> list[list[int]]:
        pages, token = [], ""
        for _ in range(10):
            out = await call(make(token), metadata=md)
            pages.append([s.id for s in out.subscriptions])
            token = out.page.next_page_token
            if not token:
                return pages
        raise AssertionError("pagination did not end")

    assert await walk(subs.ListUserSubscribers, lambda t: pb.ListUserSubscribersRequest(
        user_id=77, page=page(3, t))) == [made[0:3], made[3:6], made[6:7]]
    assert await walk(subs.ListAdminSubscriptions, lambda t: pb.ListAdminSubscriptionsRequest(
        admin_id=5, page=page(2, t))) == [own[0:2], own[2:4], own[4:5]]
    assert await walk(subs.ListAdminSubscriptions, lambda t: pb.ListAdminSubscriptionsRequest(
        admin_id=5, admin_chat_id=CHAT, page=page(1, t))) == [[own[1]], [own[3]]]


async def test_stats(subs, moderation_tenant):
    md = auth(moderation_tenant, "moderator")
    for admin, tracked in ((1, 10), (2, 10), (3, 10), (1, 11)):
        await subs.CreateSubscription(req(admin, tracked), metadata=md)
    gone = await subs.CreateSubscription(req(4, 12), metadata=md)
    await subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=gone.subscription.id), metadata=md)
    s = await subs.GetSubscriptionStats(pb.GetSubscriptionStatsRequest(), metadata=auth(moderation_tenant,
                                                                                         "member"))
    assert (s.total_active, s.total_inactive, s.admins, s.chats, s.tracked_users, s.created_last_24h) == (
        4, 1, 3, 1, 2, 5)
    assert [(t.tracked_user_id, t.subscribers) for t in s.top_tracked_users] == [(10, 3), (11, 1)]
    assert not s.HasField("admin_active")


async def test_other_tenant_cannot_see_or_touch_a_subscription(subs, moderation_tenant, engine, tenant_name):
    other = tenant_name + "b"
    await migrate(engine, "moderation", other)
    made = await subs.CreateSubscription(req(1, 2), metadata=auth(moderation_tenant))
    theirs = auth(other, "owner")
    err = await fails(subs.DeleteSubscription(pb.DeleteSubscriptionRequest(id=made.subscription.id),
                                              metadata=theirs))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert not (await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=1, admin_chat_id=CHAT, tracked_user_id=2), metadata=theirs)).exists
    assert not (await subs.ListAdminSubscriptions(pb.ListAdminSubscriptionsRequest(admin_id=1),
                                                  metadata=theirs)).subscriptions
    # Still there for its own tenant.
    assert (await subs.CheckSubscription(pb.CheckSubscriptionRequest(
        admin_user_id=1, admin_chat_id=CHAT, tracked_user_id=2), metadata=auth(moderation_tenant))).exists
