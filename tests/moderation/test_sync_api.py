"""SyncService over a real gRPC channel (REST /moderation/api/v1/sync/... maps onto it)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import text
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import sync_pb2 as pb
from tenantry.moderation.v1 import sync_pb2_grpc as pb_grpc

from services.kit.migrations import migrate
from services.kit.naming import schema_name
from services.kit.settings import reset_settings_cache
from services.kit.status import decode_error
from services.moderation.sync.grpc import register
from tests.fakes.moderation_sync import BANNED_USER, SOURCE_CHAT, TOKEN, add_subscription, chat_ids
from tests.fakes.telegram_bot_api import FakeBotApi
from tests.moderation.conftest import auth, serve


async def fails(call):
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await call
    return decode_error(info.value)


async def add_ban_event(engine, tenant: str, user_id: int = BANNED_USER) -> int:
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            f'INSERT INTO "{schema_name("moderation", tenant)}".ban_events (event_id, user_id, '
            " chat_id, event_type, reason, event_timestamp) VALUES (:e, :u, :c, 'ban', 'spam', :t)"
            " RETURNING id"), {"e": f"ev-{user_id}", "u": user_id, "c": SOURCE_CHAT,
                                "t": datetime.now(UTC)})).scalar_one())


async def count(engine, tenant: str, table: str) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            f'SELECT count(*) FROM "{schema_name("moderation", tenant)}".{table}'))).scalar_one())


@pytest.fixture
async def api(moderation_tenant, monkeypatch, database_url, redis_url):
    async with FakeBotApi(token=TOKEN) as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        reset_settings_cache()
        engines = []
        async with serve(lambda rt: engines.append(register(rt))) as (_, channel):
            yield pb_grpc.SyncServiceStub(channel), engines[0], fake
            await engines[0].drain()


async def test_trigger_status_logs_and_retry(api, engine, moderation_tenant):
    stub, sync_engine, fake = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    chats = chat_ids(3, base=-1006100000000)
    for i, chat in enumerate(chats):
        await add_subscription(engine, tenant, admin_user_id=600 + i, admin_chat_id=chat)
        fake.add_chat(chat, members={BANNED_USER: "member"})
    fake.chats[chats[2]].bot_status = "left"  # 403 until the admin adds the bot back
    ban_event_id = await add_ban_event(engine, tenant)

    started = await stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=ban_event_id), metadata=md)
    assert started.total_chats == 3
    await sync_engine.drain()
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=started.sync_id),
                                       metadata=auth(tenant, "member"))).sync
    assert (status.status, status.successful, status.failed, status.trigger) == (
        "partial", 2, 1, "manual")
    assert status.ban_event_id == ban_event_id and status.HasField("finished_at")

    failed = await stub.ListSyncLogs(pb.ListSyncLogsRequest(status="failed"), metadata=md)
    assert [(r.target_chat_id, r.action) for r in failed.logs] == [(chats[2], "ban")]
    assert "not a member" in failed.logs[0].error_message
    first = await stub.ListSyncLogs(pb.ListSyncLogsRequest(
        ban_event_id=ban_event_id, page=pagination_pb2.PageRequest(page_size=2)), metadata=md)
    assert len(first.logs) == 2 and first.page.next_page_token
    second = await stub.ListSyncLogs(pb.ListSyncLogsRequest(
        ban_event_id=ban_event_id, page=pagination_pb2.PageRequest(
            page_size=2, page_token=first.page.next_page_token)), metadata=md)
    assert len(second.logs) == 1 and not second.page.next_page_token
    ids = [r.id for r in [*first.logs, *second.logs]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 3
    ok = await stub.ListSyncLogs(pb.ListSyncLogsRequest(target_chat_id=chats[0]), metadata=md)
    assert [r.status for r in ok.logs] == ["success"] and ok.logs[0].until_date == 0

    fake.chats[chats[2]].bot_status = "administrator"
    retried = await stub.RetrySync(pb.RetrySyncRequest(sync_id=started.sync_id), metadata=md)
    assert retried.retried == 1
    await sync_engine.drain()
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=started.sync_id),
                                       metadata=md)).sync
    assert (status.status, status.successful, status.failed) == ("completed", 3, 0)
    assert fake.status_of(chats[2], BANNED_USER) == "kicked"
    again = await fails(stub.RetrySync(pb.RetrySyncRequest(sync_id=started.sync_id), metadata=md))
    assert again.code == grpc.StatusCode.FAILED_PRECONDITION and again.reason == "nothing_to_retry"

    # A manual trigger to named chats acts only there, and never twice per chat.
    extra = chat_ids(1, base=-1006200000000)[0]
    fake.add_chat(extra, members={BANNED_USER: "member"})
    targeted = await stub.TriggerSync(pb.TriggerSyncRequest(
        ban_event_id=ban_event_id, target_chat_ids=[extra, chats[0]]), metadata=md)
    assert targeted.total_chats == 1  # chats[0] already had this event's ban
    await sync_engine.drain()
    assert fake.status_of(extra, BANNED_USER) == "kicked"
    assert len(fake.calls_of("banChatMember", chat_id=chats[0])) == 1


async def test_bad_input_unknown_ids_roles_and_tenants(api, engine, moderation_tenant,
                                                       tenant_name):
    stub, _, _ = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    err = await fails(stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=0,
                                                             target_chat_ids=[0]), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"ban_event_id", "target_chat_ids"}
    err = await fails(stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=999), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "ban_event_not_found"
    assert await count(engine, tenant, "sync_runs") == 0 and await count(engine, tenant, "outbox") == 0
    err = await fails(stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id="nope"), metadata=md))
    assert [v.field for v in err.violations] == ["sync_id"]
    err = await fails(stub.GetSyncStatus(pb.GetSyncStatusRequest(
        sync_id="00000000-0000-4000-8000-000000000000"), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND
    err = await fails(stub.ListSyncLogs(pb.ListSyncLogsRequest(
        status="weird", page=pagination_pb2.PageRequest(page_size=501, page_token="%%")),
        metadata=md))
    assert {v.field for v in err.violations} == {"status", "page_size", "page_token"}
    err = await fails(stub.RetrySync(pb.RetrySyncRequest(sync_id="x"), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    # Members may read but not trigger; no token at all is refused.
    ban_event_id = await add_ban_event(engine, tenant)
    err = await fails(stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=ban_event_id),
                                       metadata=auth(tenant, "member")))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await fails(stub.ListSyncLogs(pb.ListSyncLogsRequest()))
    assert err.code == grpc.StatusCode.UNAUTHENTICATED
    # Another tenant cannot see this tenant's sync.
    started = await stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=ban_event_id), metadata=md)
    other = tenant_name + "x"
    await migrate(engine, "moderation", other)
    err = await fails(stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=started.sync_id),
                                         metadata=auth(other, "owner")))
    assert err.code == grpc.StatusCode.NOT_FOUND
    listed = await stub.ListSyncLogs(pb.ListSyncLogsRequest(), metadata=auth(other, "owner"))
    assert list(listed.logs) == []
