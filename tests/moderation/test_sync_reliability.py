"""Reliability of the sync worker: crashes, redeliveries and a Redis restart lose nothing
and apply nothing twice (real PostgreSQL, real Redis, the fake Bot API)."""

from __future__ import annotations

import asyncio
import contextlib
import time

import redis.asyncio as aioredis

from services.kit.embedded import free_port, start_redis
from services.kit.naming import stream_key
from services.moderation.sync.worker import SyncWorker
from tests.fakes.moderation_sync import (
    BANNED_USER,
    add_subscription,
    ban_envelope,
    chat_ids,
    logs,
    outbox,
    runs,
    sync_world,
)


async def publish(redis, tenant, envelope) -> None:
    """XADD an envelope the way the outbox relay does."""
    await redis.xadd(stream_key(tenant, "ban.detected"),
                     {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})


async def until(predicate, timeout: float, what: str) -> None:
    """Poll ``predicate`` (async) until true, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def setup_chats(engine, tenant, fake, n, base):
    chats = chat_ids(n, base=base)
    for i, chat in enumerate(chats):
        await add_subscription(engine, tenant, admin_user_id=500 + i, admin_chat_id=chat)
        fake.add_chat(chat, members={BANNED_USER: "member"})
    return chats


def worker(w, redis, tenant, name):
    return SyncWorker(w.engine, redis, tenants=[tenant], consumer_name=name, sweep_interval=0.2,
                      claim_idle_ms=300, block_ms=100, retry_base=0.05)


async def test_killed_worker_mid_fan_out_leaves_exactly_one_ban_per_chat(engine, redis,
                                                                         moderation_tenant):
    tenant = moderation_tenant
    async with sync_world(engine, redis=redis, lease_seconds=1.0, concurrency=2) as w:
        chats = await setup_chats(engine, tenant, w.fake, 10, -1007100000000)
        w.fake.delay_next(1000, 0.15, method="banChatMember")  # slow: the crash hits mid-way
        await publish(redis, tenant, ban_envelope(tenant))
        first = worker(w, redis, tenant, "sync-a")
        task = asyncio.create_task(first.consumer.run(asyncio.Event()))
        await until(lambda: _ok_bans(w.fake) >= 3, 10, "some bans")
        task.cancel()  # the worker dies: no ack, leases held, calls in flight
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert [r for r in await logs(engine, tenant) if r.status == "pending"]
        second = worker(w, redis, tenant, "sync-b")
        stop = asyncio.Event()
        restarted = asyncio.create_task(second.run(stop))
        try:
            await until(lambda: _run_finished(engine, tenant), 20, "the run to finish")
            await until(lambda: _acked(redis, tenant, "sync"), 5, "the message to be acked")
        finally:
            stop.set()
            await asyncio.wait_for(restarted, 10)
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1, chat
        rows = await logs(engine, tenant)
        assert {r.status for r in rows} == {"success"}
        assert any(r.attempts > 1 for r in rows)  # leases of the dead worker were taken over
        assert len(await runs(engine, tenant)) == 1
        assert len(await outbox(engine, tenant, "sync.completed")) == 1


async def test_the_same_event_delivered_five_times_syncs_once(engine, redis, moderation_tenant):
    tenant = moderation_tenant
    async with sync_world(engine, redis=redis) as w:
        chats = await setup_chats(engine, tenant, w.fake, 4, -1007200000000)
        envelope = ban_envelope(tenant, ban_event_id=77)
        for _ in range(5):
            await publish(redis, tenant, envelope)
        consumer = worker(w, redis, tenant, "sync-1")
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await until(lambda: _acked(redis, tenant, "sync", expect_delivered=5), 15,
                        "five deliveries")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert len(await runs(engine, tenant)) == 1
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat)) == 1
        assert len(await outbox(engine, tenant, "sync.started")) == 1


async def test_a_redis_restart_mid_stream_loses_no_event(engine, moderation_tenant, tmp_path):
    tenant = moderation_tenant
    port = free_port()
    server = start_redis(tmp_path / "redis", port=port)
    client = aioredis.from_url(server.url)
    stop = asyncio.Event()
    task = None
    try:
        async with sync_world(engine, redis=client) as w:
            await setup_chats(engine, tenant, w.fake, 3, -1007300000000)
            w.fake.delay_next(1000, 0.05, method="banChatMember")
            consumer = worker(w, client, tenant, "sync-r")
            task = asyncio.create_task(consumer.run(stop))
            for i in range(1, 7):
                await publish(client, tenant, ban_envelope(tenant, ban_event_id=i))
            await until(lambda: _finished_runs(engine, tenant, 1), 10, "the first sync")
            server.stop()  # mid-stream: some events handled, some not yet
            await asyncio.sleep(0.5)
            server = start_redis(tmp_path / "redis", port=port)  # same port, same AOF
            for i in range(7, 10):
                await publish(client, tenant, ban_envelope(tenant, ban_event_id=i))
            await until(lambda: _finished_runs(engine, tenant, 9), 40, "every sync")
            await until(lambda: _acked(client, tenant, "sync"), 10, "every ack")
            finished = {r.ban_event_id for r in await runs(engine, tenant)}
            assert finished == set(range(1, 10))
            per_event_chat = {(r.ban_event_id, r.target_chat_id) for r in await logs(engine, tenant)}
            assert len(per_event_chat) == 27 == len(await logs(engine, tenant))
    finally:
        stop.set()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        await client.aclose()
        server.stop()


def _ok_bans(fake) -> int:
    return len(fake.calls_of("banChatMember", ok=True))


async def _run_finished(engine, tenant) -> bool:
    return any(r.finished_at is not None for r in await runs(engine, tenant))


async def _finished_runs(engine, tenant, n) -> bool:
    return sum(r.finished_at is not None for r in await runs(engine, tenant)) >= n


async def _acked(redis, tenant, group, expect_delivered: int | None = None) -> bool:
    try:
        groups = await redis.xinfo_groups(stream_key(tenant, "ban.detected"))
    except Exception:
        return False
    for info in groups:
        name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
        if name != group:
            continue
        length = await redis.xlen(stream_key(tenant, "ban.detected"))
        last = info["last-delivered-id"]
        last = last.decode() if isinstance(last, bytes) else last
        tail = await redis.xrevrange(stream_key(tenant, "ban.detected"), count=1)
        delivered_all = bool(tail) and (tail[0][0].decode() if isinstance(tail[0][0], bytes)
                                        else tail[0][0]) == last
        if expect_delivered is not None and length < expect_delivered:
            return False
        return delivered_all and int(info["pending"]) == 0
    return False
