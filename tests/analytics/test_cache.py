"""The Redis cache of analytics results (seed 001 §7 "Redis для кэширования метрик"): a repeated
read is Redis' answer (the tables can change underneath without it showing), an ingested event
makes the next read fresh, and without Redis every read still answers from PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import text
from structlog.testing import capture_logs
from tenantry.analytics.v1 import analytics_pb2 as pb
from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.cache import ResultCache, generation_key, result_key
from services.analytics.ingest import Aggregator
from services.analytics.main import build
from services.analytics.queries import Analytics
from services.kit.bus.events import EventEnvelope, new_event
from services.kit.context import Principal
from services.kit.db import Database
from services.kit.embedded import free_port, start_redis
from services.kit.errors import PermissionDenied
from services.kit.migrations import migrate
from services.kit.naming import schema_name
from tests.analytics.test_analytics import publish, settled
from tests.support import bearer, channel, running

Reads = dict[str, Callable[[], Awaitable[dict[str, Any]]]]


def ban(tenant: str, event_id: str, user: int, chat: int) -> EventEnvelope:
    return new_event("ban.detected", tenant, ev.BanDetected(event_id=event_id, user_id=user, chat_id=chat,
                                                             event_type="ban"))


def reads(q: Analytics, who: Principal) -> Reads:
    """Every cached query (the bans one with and without a filter)."""
    return {
        "overview": lambda: q.overview(who, "week"),
        "subscriptions": lambda: q.subscriptions(who, "week"),
        "bans": lambda: q.bans(who, "week"),
        "bans_of_chat": lambda: q.bans(who, "week", chat_id=-1),
        "sync": lambda: q.sync(who, "week"),
        "top_users": lambda: q.top_users(who, "week"),
        "top_chats": lambda: q.top_chats(who, "week"),
        "timeline": lambda: q.timeline(who, "week", granularity="week"),
    }


async def tamper(engine: Any, tenant: str) -> None:
    """Change every aggregate table behind the service's back (no event, so no invalidation)."""
    s = schema_name("analytics", tenant)
    async with engine.begin() as conn:
        await conn.execute(text(
            f'UPDATE "{s}".analytics_daily SET total_bans = total_bans + 100, '
            "new_subscriptions = new_subscriptions + 100, total_syncs = total_syncs + 100, "
            "successful_syncs = successful_syncs + 100, sync_runs = sync_runs + 100"))
        await conn.execute(text(f'UPDATE "{s}".analytics_counters SET value = value + 100'))
        await conn.execute(text(f'UPDATE "{s}".analytics_user_stats SET ban_count = ban_count + 100'))
        await conn.execute(text(f'UPDATE "{s}".analytics_chat_stats SET ban_count = ban_count + 100'))
        await conn.execute(text(f'UPDATE "{s}".analytics_ban_counts SET count = count + 100'))


async def seeded(engine: Any, tenant: str, agg: Aggregator) -> None:
    await migrate(engine, "analytics", tenant)
    await agg.apply("ban.detected", ban(tenant, "b1", 1, -1))
    await agg.apply("subscription.created", new_event("subscription.created", tenant,
                                                      ev.SubscriptionCreated(subscription_id=1)))
    await agg.apply("sync.completed", new_event("sync.completed", tenant, ev.SyncFinished(
        sync_id=str(uuid.uuid4()), user_id=1, total_chats=1, successful=1, mean_sync_ms=50, synced_chat_ids=[-5])))


async def test_repeated_reads_come_from_redis_until_an_event_is_ingested(engine, redis, tenant_name):
    t = tenant_name
    db = Database(engine)
    cache = ResultCache(redis, ttl=60)
    agg = Aggregator(db, cache)
    await seeded(engine, t, agg)
    who = Principal("u1", t, "member")
    q, plain = Analytics(db, cache=cache), Analytics(db)
    cached = reads(q, who)
    first = {name: await read() for name, read in cached.items()}
    assert first["overview"]["total_bans"] == 1 and first["bans_of_chat"]["total_bans"] == 1

    await tamper(engine, t)
    uncached = reads(plain, who)
    for name, read in cached.items():
        # Without the cache the change shows; through it, the second identical read is Redis' answer.
        assert await uncached[name]() != first[name], name
        assert await read() == first[name], name

    # The key: the tenant, its generation, the query and its resolved parameters; with the TTL.
    gen = await cache.generation(t)
    today = datetime.now(UTC).date()
    week = {"from": (today - timedelta(days=6)).isoformat(), "to": today.isoformat()}
    key = result_key(t, gen, "top_users", {**week, "limit": 10})
    assert key == f"t:{t}:analytics:q:{gen}:top_users:from={week['from']}:to={week['to']}:limit=10"
    assert 0 < await redis.ttl(key) <= 60
    assert await redis.exists(result_key(t, gen, "bans", {**week, "chat": -1}))
    # Other parameters are other entries: today alone, a custom range equal to the week, limit 1.
    assert (await q.overview(who, "day"))["total_bans"] == 101
    assert await q.overview(who, since=week["from"], until=week["to"]) == first["overview"]
    assert (await q.top_users(who, "week", limit=1))["users"][0]["ban_count"] == 101
    assert (await q.bans(who, "week", user_id=1))["total_bans"] == 101

    # The other event of the same ban changes nothing: the entries stay. A redelivery
    # changes nothing either but invalidates anyway (its first delivery may have died
    # between its commit and its invalidation).
    redelivered = ban(t, "b2", 2, -1)
    assert await agg.apply("ban.detected", redelivered)
    gen2 = await cache.generation(t)
    assert gen2 != gen
    assert not await agg.apply("ban.registered", new_event("ban.registered", t, ev.BanRegistered(
        event_id="b2", user_id=2, chat_id=-1, event_type="ban")))
    assert await cache.generation(t) == gen2
    assert not await agg.apply("ban.detected", redelivered)
    assert await cache.generation(t) != gen2

    # After the ingested ban every query is read afresh: the tampering and the new ban show.
    fresh = {name: await read() for name, read in cached.items()}
    assert fresh["overview"]["total_bans"] == 102 and fresh["overview"]["active_subscriptions"] == 101
    assert fresh["bans_of_chat"]["total_bans"] == 102
    assert [(u["user_id"], u["ban_count"]) for u in fresh["top_users"]["users"]] == [(1, 101), (2, 1)]
    assert fresh["sync"]["sync_runs"] == 101
    assert fresh == {name: await read() for name, read in uncached.items()}

    # Another tenant's reads are its own, though its parameters are the same.
    other = t + "b"
    await migrate(engine, "analytics", other)
    theirs = await Analytics(db, cache=cache).overview(Principal("u2", other, "member"), "week")
    assert theirs["total_bans"] == 0
    # A caller the data is not for gets no cached answer either.
    with pytest.raises(PermissionDenied):
        await q.overview(Principal("u3", t, None), "week")


async def test_reads_answer_without_redis_and_say_so_once(engine, tenant_name):
    t = tenant_name
    db = Database(engine)
    dead = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    cache = ResultCache(dead, ttl=60, retry_seconds=0)  # try Redis on every read
    agg = Aggregator(db, cache)
    try:
        with capture_logs() as logs:
            await seeded(engine, t, agg)
            who = Principal("u1", t, "member")
            q = Analytics(db, cache=cache)
            expected = {name: await read() for name, read in reads(Analytics(db), who).items()}
            for _ in range(3):
                assert {name: await read() for name, read in reads(q, who).items()} == expected
            assert (await q.overview(who, "week"))["total_bans"] == 1
            # Ingest works without Redis too; the next read sees the new ban.
            assert await agg.apply("ban.detected", ban(t, "b9", 9, -9))
            assert (await q.overview(who, "week"))["total_bans"] == 2
    finally:
        await dead.aclose()
    events = [e["event"] for e in logs]
    assert events.count("analytics_cache_unavailable") == 1
    # Every failed invalidation is reported (other processes may serve old entries until the TTL).
    assert events.count("analytics_cache_invalidate_failed") == 4
    assert "analytics_cache_recovered" not in events


async def test_cache_comes_back_with_redis(engine, tenant_name, tmp_path: Path):
    t = tenant_name
    db = Database(engine)
    port = free_port()
    server = start_redis(tmp_path / "a", port=port)
    client = Redis.from_url(server.url)
    cache = ResultCache(client, ttl=60, retry_seconds=0)
    try:
        await seeded(engine, t, Aggregator(db, cache))
        who = Principal("u1", t, "member")
        q = Analytics(db, cache=cache)
        assert (await q.overview(who, "week"))["total_bans"] == 1
        assert await client.exists(generation_key(t))
        with capture_logs() as logs:
            server.stop()
            await tamper(engine, t)
            assert (await q.overview(who, "week"))["total_bans"] == 101  # from PostgreSQL
            server = start_redis(tmp_path / "b", port=port)  # an empty Redis on the same address
            assert (await q.overview(who, "week"))["total_bans"] == 101
        assert [e["event"] for e in logs] == ["analytics_cache_unavailable", "analytics_cache_recovered"]
        # Cached again: a new generation, and the next change underneath does not show.
        assert await client.exists(generation_key(t))
        await tamper(engine, t)
        assert (await q.overview(who, "week"))["total_bans"] == 101
    finally:
        await client.aclose()
        server.stop()


async def test_the_service_caches_and_its_consumer_invalidates(engine, redis, tenant_name, monkeypatch):
    t = tenant_name
    monkeypatch.setenv("ANALYTICS_CACHE_TTL_SECONDS", "45")
    await migrate(engine, "analytics", t)
    async with running("analytics", build) as rt:
        ch = channel(rt)
        stub = pb_grpc.AnalyticsServiceStub(ch)
        member = bearer(tenant=t, role="member")
        week = pb.GetBanStatsRequest(period="week", chat_id=-1)
        try:
            await publish(redis, ban(t, "s1", 1, -1))
            await settled(redis, t)
            first = await stub.GetBanStats(week, metadata=member)
            assert first.total_bans == 1
            await tamper(engine, t)
            assert await stub.GetBanStats(week, metadata=member) == first
            gen = (await redis.get(generation_key(t))).decode()
            keys = [k.decode() async for k in redis.scan_iter(f"t:{t}:analytics:q:{gen}:bans:*")]
            assert len(keys) == 1 and keys[0].endswith(":chat=-1")
            assert 0 < await redis.ttl(keys[0]) <= 45  # ANALYTICS_CACHE_TTL_SECONDS
            # An event through the bus: the consumer moves the generation, the next read is fresh.
            await publish(redis, ban(t, "s2", 2, -1))
            await settled(redis, t)
            assert (await redis.get(generation_key(t))).decode() != gen
            fresh = await stub.GetBanStats(week, metadata=member)
            assert (fresh.total_bans, fresh.unique_banned_users) == (102, 2)
        finally:
            await ch.close()


async def test_a_zero_ttl_turns_the_cache_off(engine, redis, tenant_name, monkeypatch):
    t = tenant_name
    monkeypatch.setenv("ANALYTICS_CACHE_TTL_SECONDS", "0")
    await migrate(engine, "analytics", t)
    async with running("analytics", build) as rt:
        ch = channel(rt)
        stub = pb_grpc.AnalyticsServiceStub(ch)
        member = bearer(tenant=t, role="member")
        try:
            await publish(redis, ban(t, "z1", 1, -1))
            await settled(redis, t)
            assert (await stub.GetOverview(pb.GetOverviewRequest(period="week"), metadata=member)).total_bans == 1
            await tamper(engine, t)
            assert (await stub.GetOverview(pb.GetOverviewRequest(period="week"), metadata=member)).total_bans == 101
            assert [k async for k in redis.scan_iter(f"t:{t}:analytics:q:*")] == []
        finally:
            await ch.close()
