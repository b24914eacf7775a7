"""The sync-worker service as `tenantry serve sync-worker` builds it: health, consume, relay."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from services.kit.naming import stream_key
from services.kit.settings import reset_settings_cache
from services.moderation.sync.worker import group_for
from services.sync_worker import main as sync_worker
from tests.fakes.moderation_sync import BANNED_USER, TOKEN, add_subscription, ban_envelope, chat_ids
from tests.fakes.telegram_bot_api import FakeBotApi
from tests.support import running


def test_group_names_follow_the_kit():
    assert group_for(None) == "sync"
    assert group_for("team/strict") == "sync.team.strict"
    with pytest.raises(ValueError):
        group_for("no-namespace")


async def test_worker_process_consumes_bans_and_relays_sync_events(moderation_tenant, engine,
                                                                   redis, monkeypatch):
    tenant = moderation_tenant
    chats = chat_ids(3, base=-1005100000000)
    async with FakeBotApi(token=TOKEN) as fake:
        for i, chat in enumerate(chats):
            await add_subscription(engine, tenant, admin_user_id=700 + i, admin_chat_id=chat)
            fake.add_chat(chat, members={BANNED_USER: "member"})
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        monkeypatch.setenv("OUTBOX_POLL_INTERVAL_SECONDS", "0.05")
        reset_settings_cache()
        async with running("sync-worker", sync_worker.build, tenant=tenant) as rt:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{rt.server.port}") as channel:
                health = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(service=""))
                assert health.status == health_pb2.HealthCheckResponse.SERVING
            envelope = ban_envelope(tenant, ban_event_id=5)
            await redis.xadd(stream_key(tenant, "ban.detected"),
                             {"event_id": envelope.event_id,
                              "envelope": envelope.SerializeToString()})
            for _ in range(150):  # at most ~15 s
                if await redis.xlen(stream_key(tenant, "sync.completed")):
                    break
                await asyncio.sleep(0.1)
        assert await redis.xlen(stream_key(tenant, "sync.completed")) == 1
        assert await redis.xlen(stream_key(tenant, "sync.started")) == 1
        for chat in chats:
            assert fake.status_of(chat, BANNED_USER) == "kicked"
