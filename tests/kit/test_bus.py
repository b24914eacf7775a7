"""The event bus against real PostgreSQL and Redis: outbox, relay, consumer groups."""

from __future__ import annotations

import asyncio
import time

import pytest
from google.protobuf import wrappers_pb2
from sqlalchemy import text

from services.kit.bus.consumer import BusConsumer
from services.kit.bus.events import new_event, unpack
from services.kit.bus.outbox import enqueue, mark_processed
from services.kit.bus.relay import OutboxRelay
from services.kit.bus.streams import ensure_group, group_lag, trim_by_age
from services.kit.db import Database
from services.kit.migrations import migrate
from services.kit.naming import dead_letter_key, stream_key


@pytest.fixture
async def db(engine, tenant_name):
    await migrate(engine, "petcare", tenant_name)
    return Database(engine)


async def _write(db: Database, tenant: str, n: int, topic: str = "ban.detected") -> list[str]:
    ids = []
    async with db.session("petcare", tenant) as s:
        for i in range(n):
            env = new_event(topic, tenant, wrappers_pb2.Int64Value(value=i))
            ids.append(env.event_id)
            await enqueue(s, env)
    return ids


async def _stream_ids(redis, tenant: str, topic: str = "ban.detected") -> list[str]:
    return [f[b"event_id"].decode() for _, f in await redis.xrange(stream_key(tenant, topic))]


async def test_rolled_back_change_publishes_nothing(db, engine, redis, tenant_name):
    with pytest.raises(RuntimeError):
        async with db.session("petcare", tenant_name) as s:
            await enqueue(s, new_event("ban.detected", tenant_name, wrappers_pb2.Int64Value(value=1)))
            raise RuntimeError("the state change failed")
    assert await OutboxRelay(engine, redis, "petcare").drain(tenant_name) == 0


async def test_relay_killed_mid_batch_loses_no_event(db, engine, redis, tenant_name):
    ids = await _write(db, tenant_name, 25)

    async def crash(_ids: list[int]) -> None:
        raise ConnectionError("relay killed after XADD, before COMMIT")

    crashing = OutboxRelay(engine, redis, "petcare", batch_size=10, after_publish=crash)
    with pytest.raises(ConnectionError):
        await crashing.relay_tenant(tenant_name)
    relay = OutboxRelay(engine, redis, "petcare", batch_size=10)
    assert await relay.drain(tenant_name) == 25
    published = await _stream_ids(redis, tenant_name)
    # At-least-once: the first 10 went out twice, every one went out.
    assert set(published) == set(ids) and len(published) == 35
    assert await relay.backlog(tenant_name) == 0


async def test_consumer_acks_after_effect_and_is_idempotent(db, engine, redis, tenant_name):
    ids = await _write(db, tenant_name, 5)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    seen: list[int] = []

    async def handle(envelope) -> None:
        async with db.session("petcare", tenant_name) as s:
            if await mark_processed(s, "test", envelope.event_id):
                seen.append(unpack(envelope, wrappers_pb2.Int64Value).value)

    consumer = BusConsumer(redis, "g1", {"ban.detected": handle}, tenants=[tenant_name], block_ms=50)
    assert await consumer.poll_once() == 5
    # Redelivering the same events (a duplicate publish) has no second effect.
    async with engine.begin() as conn:
        await conn.execute(text(f'UPDATE "t_{tenant_name}__petcare".outbox SET published_at = NULL'))
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    assert await consumer.poll_once() == 5
    assert sorted(seen) == [0, 1, 2, 3, 4] and len(ids) == 5
    assert await group_lag(redis, stream_key(tenant_name, "ban.detected"), "g1") == 0


async def test_dead_consumer_messages_are_reclaimed(db, engine, redis, tenant_name):
    await _write(db, tenant_name, 3)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    stream = stream_key(tenant_name, "ban.detected")
    await ensure_group(redis, stream, "g2")
    # A consumer reads and dies before acknowledging.
    await redis.xreadgroup("g2", "dead-one", {stream: ">"}, count=10)
    handled: list[str] = []

    async def handle(envelope) -> None:
        handled.append(envelope.event_id)

    survivor = BusConsumer(redis, "g2", {"ban.detected": handle}, tenants=[tenant_name],
                           consumer="survivor", claim_idle_ms=100, block_ms=50)
    await asyncio.sleep(0.2)
    assert await survivor.poll_once() == 3
    assert len(handled) == 3
    assert (await redis.xpending(stream, "g2"))["pending"] == 0


async def test_poison_message_reaches_dead_letter_stream(db, engine, redis, tenant_name):
    await _write(db, tenant_name, 2)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    attempts = 0

    async def handle(envelope) -> None:
        nonlocal attempts
        attempts += 1
        if unpack(envelope, wrappers_pb2.Int64Value).value == 1:
            raise ValueError("poison")

    consumer = BusConsumer(redis, "g3", {"ban.detected": handle}, tenants=[tenant_name],
                           max_attempts=3, retry_base=0.01, block_ms=50)
    await consumer.poll_once()
    assert attempts == 1 + 3
    dead = await redis.xrange(dead_letter_key(tenant_name, "ban.detected"))
    assert len(dead) == 1 and b"poison" in dead[0][1][b"dlq_error"]
    assert (await redis.xpending(stream_key(tenant_name, "ban.detected"), "g3"))["pending"] == 0


async def test_message_that_kept_killing_consumers_is_dead_lettered(db, engine, redis, tenant_name):
    await _write(db, tenant_name, 1)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    stream = stream_key(tenant_name, "ban.detected")
    await ensure_group(redis, stream, "g4")
    await redis.xreadgroup("g4", "c", {stream: ">"})
    msg_id = (await redis.xrange(stream))[0][0]
    for _ in range(5):  # five crashed deliveries
        await redis.xclaim(stream, "g4", "c", min_idle_time=0, message_ids=[msg_id])
    calls = 0

    async def handle(envelope) -> None:
        nonlocal calls
        calls += 1

    consumer = BusConsumer(redis, "g4", {"ban.detected": handle}, tenants=[tenant_name],
                           max_deliveries=5, claim_idle_ms=1, block_ms=50)
    await asyncio.sleep(0.05)
    await consumer.poll_once()
    assert calls == 0
    assert len(await redis.xrange(dead_letter_key(tenant_name, "ban.detected"))) == 1


async def test_trim_by_age_drops_only_old_entries(redis, tenant_name):
    stream = stream_key(tenant_name, "ban.registered")
    await redis.xadd(stream, {"a": "old"}, id="1000-0")
    await redis.xadd(stream, {"a": "new"})
    removed = await trim_by_age(redis, tenant_name, retention_seconds=3600)
    assert removed == 1 and [f[b"a"] for _, f in await redis.xrange(stream)] == [b"new"]


async def test_relay_upkeep_trims_streams_by_the_tenant_retention(db, engine, redis, tenant_name):
    from services.identity.registry import ensure_identity_schema, register_tenant

    await ensure_identity_schema(engine)
    await register_tenant(engine, name=tenant_name, display_name="T", apps=["petcare"], limits={},
                          retention_days=1)
    stream = stream_key(tenant_name, "ban.detected")
    two_days_ago = int((time.time() - 2 * 86400) * 1000)
    await redis.xadd(stream, {"event_id": "old"}, id=f"{two_days_ago}-0")
    await _write(db, tenant_name, 1)
    relay = OutboxRelay(engine, redis, "petcare")
    await relay.drain(tenant_name)
    await relay.maintain([tenant_name])
    assert b"old" not in [f[b"event_id"] for _, f in await redis.xrange(stream)]
    assert len(await redis.xrange(stream)) == 1


async def test_envelope_of_another_tenant_is_dead_lettered_not_handled(redis, tenant_name):
    stream = stream_key(tenant_name, "ban.detected")
    forged = new_event("ban.detected", "someone-else", wrappers_pb2.Int64Value(value=1))
    await redis.xadd(stream, {"event_id": forged.event_id, "envelope": forged.SerializeToString()})
    handled = []

    async def handle(envelope) -> None:
        handled.append(envelope)

    consumer = BusConsumer(redis, "g5", {"ban.detected": handle}, tenants=[tenant_name], block_ms=50)
    await ensure_group(redis, stream, "g5")
    assert await consumer.poll_once() == 1
    assert handled == []
    dead = await redis.xrange(dead_letter_key(tenant_name, "ban.detected"))
    assert b"does not match" in dead[0][1][b"dlq_error"]


async def test_relay_role_runs_as_its_own_process(db, database_url, redis_url, redis, tenant_name):
    import os
    import signal
    import subprocess
    import sys

    ids = await _write(db, tenant_name, 3)
    env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL=redis_url, METRICS_PORT="0")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.cli", "serve", "relay", "--app", "petcare",
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        for _ in range(150):
            if len(await _stream_ids(redis, tenant_name)) == 3:
                break
            await asyncio.sleep(0.1)
        assert set(await _stream_ids(redis, tenant_name)) == set(ids)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0, stderr.decode()[-2000:]


async def test_consumer_continues_the_producers_trace(db, engine, redis, tenant_name):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("producer") as producer:
        await _write(db, tenant_name, 1)
    await OutboxRelay(engine, redis, "petcare").drain(tenant_name)
    seen: list[int] = []

    async def handle(envelope) -> None:
        seen.append(trace.get_current_span().get_span_context().trace_id)

    consumer = BusConsumer(redis, "g6", {"ban.detected": handle}, tenants=[tenant_name], block_ms=50)
    assert await consumer.poll_once() == 1
    assert seen == [producer.get_span_context().trace_id]


def test_retention_without_the_identity_registry_is_the_default(database_url):
    """A deployment without the identity app: the relay's upkeep uses 365 days, no error."""
    import asyncio

    from sqlalchemy.ext.asyncio import create_async_engine

    from services.kit.tenants import DEFAULT_RETENTION_DAYS, retention_seconds
    from tests.support import own_database

    async def read(url: str) -> int:
        engine = create_async_engine("postgresql+asyncpg://" + url.split("://", 1)[1])
        try:
            return await retention_seconds(engine, "no-registry")
        finally:
            await engine.dispose()

    with own_database(database_url, "tenantry_noid") as url:  # no identity schema at all
        assert asyncio.run(read(url)) == DEFAULT_RETENTION_DAYS * 86400
