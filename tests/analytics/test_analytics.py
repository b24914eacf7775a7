"""Analytics end to end: ban events registered in moderation travel outbox → relay → Redis
streams → the analytics consumer → aggregates, and come back through AnalyticsService over gRPC."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf.message import Message
from sqlalchemy import text
from tenantry.analytics.v1 import analytics_pb2 as pb
from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.ingest import Aggregator
from services.analytics.main import build
from services.kit.bus.events import EventEnvelope, new_event
from services.kit.bus.relay import OutboxRelay
from services.kit.bus.streams import group_lag
from services.kit.context import Principal
from services.kit.db import Database
from services.kit.migrations import migrate
from services.kit.naming import schema_name, stream_key
from services.kit.status import decode_error
from services.moderation.ban_events.model import BanEventInput
from services.moderation.ban_events.service import BanEvents
from tests.support import bearer, channel, running

TOPICS = ("subscription.created", "subscription.deleted", "ban.detected", "ban.registered",
          "sync.completed", "sync.partial", "sync.failed")


async def publish(redis, envelope: EventEnvelope) -> None:  # type: ignore[no-untyped-def]
    """What the kit's relay does: XADD the envelope to the tenant's topic stream."""
    await redis.xadd(stream_key(envelope.tenant, envelope.event_type),
                     {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})


async def _has_group(redis, stream: str) -> bool:  # type: ignore[no-untyped-def]
    if not await redis.exists(stream):
        return True  # nothing published there
    names = [g["name"] for g in await redis.xinfo_groups(stream)]
    return any((n if isinstance(n, str) else n.decode()) == "analytics" for n in names)


async def settled(redis, tenant: str, timeout: float = 15.0) -> None:  # type: ignore[no-untyped-def]
    """Wait (bounded) until the analytics group exists on every stream and has acked every entry."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        ready = [await _has_group(redis, stream_key(tenant, t)) for t in TOPICS]
        lags = [await group_lag(redis, stream_key(tenant, t), "analytics") for t in TOPICS]
        if all(ready) and not any(lags):
            return
        assert asyncio.get_running_loop().time() < deadline, f"consumer did not catch up: {ready} {lags}"
        await asyncio.sleep(0.1)


@pytest.fixture
async def stub(database_url, redis_url) -> AsyncIterator[pb_grpc.AnalyticsServiceStub]:  # type: ignore[no-untyped-def]
    async with running("analytics", build) as rt:
        ch = channel(rt)
        yield pb_grpc.AnalyticsServiceStub(ch)
        await ch.close()


def finished(user: int, ok: int, failed: int, mean_ms: int, targets: list[int], errors: dict[int, str]) -> Message:
    """A run's only closing (its own sync_id); every target chat not in ``errors`` was synced."""
    return ev.SyncFinished(ban_event_id=1, sync_id=str(uuid.uuid4()), user_id=user, source_chat_id=-1,
                           total_chats=len(targets), successful=ok, failed=failed, mean_sync_ms=mean_ms,
                           chat_admins=dict.fromkeys(targets, 9), errors=errors,
                           synced_chat_ids=[c for c in targets if c not in errors])


async def test_events_become_aggregates_once(stub, engine, redis, tenant_name):
    t = tenant_name
    await migrate(engine, "moderation", t)
    await migrate(engine, "analytics", t)
    now = datetime.now(UTC)
    yesterday = now - timedelta(days=1)

    # Ban events go through the real moderation domain, outbox and relay.
    bans = [(1, -1, "ban", now), (1, -2, "kick", now), (1, -1, "restrict", now), (2, -1, "ban", now),
            (3, -3, "unban", now), (2, -2, "ban", yesterday)]
    items = [BanEventInput(event_id=f"e{i}", user_id=u, chat_id=c, event_type=k, reason="spam", event_timestamp=at)
             for i, (u, c, k, at) in enumerate(bans)]
    await BanEvents(Database(engine)).bulk_register(Principal("svc", t, "service", kind="service"), items)
    assert await OutboxRelay(engine, redis, "moderation").drain(t) == 12

    sent = [
        new_event("subscription.created", t, ev.SubscriptionCreated(subscription_id=1)),
        new_event("subscription.created", t, ev.SubscriptionCreated(subscription_id=2)),
        new_event("subscription.created", t, ev.SubscriptionCreated(subscription_id=3)),
        new_event("subscription.deleted", t, ev.SubscriptionDeleted(subscription_id=3)),
        new_event("sync.completed", t, finished(1, 4, 0, 200, [-5, -6, -7, -8], {})),
        new_event("sync.partial", t, finished(2, 1, 1, 500, [-5, -9], {-9: "no rights"})),
        new_event("sync.failed", t, finished(1, 0, 2, 0, [-10, -11], {-10: "x", -11: "y"})),
        new_event("sync.failed", t, ev.SyncRightsMissing(chat_id=-10, admin_user_id=9, user_id=1, error="x")),
    ]
    for envelope in sent:
        await publish(redis, envelope)
    await settled(redis, t)

    member = bearer(tenant=t, role="member")
    week = pb.GetOverviewRequest(period="week")
    overview = await stub.GetOverview(week, metadata=member)
    assert (overview.total_bans, overview.unique_banned_users) == (5, 2)  # the unban is not a ban
    assert (overview.new_subscriptions, overview.deleted_subscriptions, overview.active_subscriptions) == (3, 1, 2)
    assert (overview.total_syncs, overview.successful_syncs, overview.failed_syncs) == (8, 5, 3)
    assert overview.sync_success_rate == pytest.approx(5 / 8)
    assert overview.mean_sync_ms == pytest.approx((200 * 4 + 500 * 1) / 5)
    # Chats -1, -2 (bans) and -5..-8 (received a synced ban).
    assert overview.active_chats == 6

    sync = await stub.GetSyncStats(pb.GetSyncStatsRequest(period="week"), metadata=member)
    assert (sync.sync_runs, sync.completed_runs, sync.partial_runs, sync.failed_runs) == (3, 1, 1, 1)

    bans_today = await stub.GetBanStats(pb.GetBanStatsRequest(period="day"), metadata=member)
    assert bans_today.total_bans == 4 and bans_today.unique_banned_users == 2
    assert {b.event_type: b.count for b in bans_today.by_type} == {"ban": 2, "kick": 1, "restrict": 1, "unban": 1}

    top = await stub.GetTopUsers(pb.GetTopUsersRequest(period="week"), metadata=member)
    assert [(u.user_id, u.ban_count, u.sync_count) for u in top.users] == [(1, 3, 4), (2, 2, 1)]
    chats = await stub.GetTopChats(pb.GetTopChatsRequest(period="week", limit=3), metadata=member)
    # Activity = bans made + bans received; -5 and -2 tie at 2 and the lower chat id comes first.
    assert [(c.chat_id, c.ban_count, c.sync_received_count) for c in chats.chats] == [
        (-1, 3, 0), (-5, 0, 2), (-2, 2, 0)]

    timeline = await stub.GetTimeline(pb.GetTimelineRequest(**{
        "from": yesterday.date().isoformat(), "to": now.date().isoformat()}), metadata=member)
    assert [(p.start, p.total_bans, p.unique_banned_users) for p in timeline.points] == [
        (yesterday.date().isoformat(), 1, 1), (now.date().isoformat(), 4, 2)]
    assert timeline.points[1].new_subscriptions == 3 and timeline.points[1].successful_syncs == 5
    subs = await stub.GetSubscriptionStats(pb.GetSubscriptionStatsRequest(period="day"), metadata=member)
    assert (subs.net_change, [d.total_subscriptions for d in subs.days]) == (2, [2])

    # Redelivery: the relay re-publishes everything (as after a crash before COMMIT) → nothing changes.
    s = schema_name("moderation", t)
    async with engine.begin() as conn:
        await conn.execute(text(f'UPDATE "{s}".outbox SET published_at = NULL'))
    assert await OutboxRelay(engine, redis, "moderation").drain(t) == 12
    for envelope in sent:
        await publish(redis, envelope)
    await settled(redis, t)
    again = await stub.GetOverview(week, metadata=member)
    assert again == overview
    # And a direct second application of one event is a no-op as well.
    await Aggregator(Database(engine)).apply("sync.completed", sent[4])
    assert await stub.GetOverview(week, metadata=member) == overview

    # Another tenant sees none of it; bad periods are INVALID_ARGUMENT with the field.
    other = tenant_name + "b"
    await migrate(engine, "analytics", other)
    empty = await stub.GetOverview(week, metadata=bearer(tenant=other, role="owner"))
    assert (empty.total_bans, empty.active_subscriptions, empty.sync_success_rate) == (0, 0, 0.0)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetTimeline(pb.GetTimelineRequest(period="fortnight"), metadata=member)
    assert [v.field for v in decode_error(err.value).violations] == ["period"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetTopUsers(pb.GetTopUsersRequest(limit=1000), metadata=member)
    assert [v.field for v in decode_error(err.value).violations] == ["limit"]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetOverview(week, metadata=bearer(tenant=tenant_name + "zz", role="owner"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    # Nothing was dead-lettered.
    assert not any([await redis.exists(f"t:{t}:dlq:{topic}") for topic in TOPICS])
