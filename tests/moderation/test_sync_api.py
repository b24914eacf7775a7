"""SyncService over a real gRPC channel (REST /moderation/api/v1/sync/... maps onto it)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
import pytest
from sqlalchemy import text
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import events_pb2
from tenantry.moderation.v1 import sync_pb2 as pb
from tenantry.moderation.v1 import sync_pb2_grpc as pb_grpc

from services.kit.bus.events import unpack
from services.kit.migrations import migrate
from services.kit.naming import schema_name
from services.kit.settings import reset_settings_cache
from services.kit.status import decode_error
from services.moderation.sync.grpc import register
from tests.fakes.moderation_sync import (
    BANNED_USER,
    SOURCE_CHAT,
    TOKEN,
    add_subscription,
    chat_ids,
    outbox,
    set_chat_settings,
)
from tests.fakes.telegram_bot_api import FakeBotApi
from tests.moderation.conftest import auth, gateway_client, serve
from tests.support import bearer


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
async def served(moderation_tenant, monkeypatch, database_url, redis_url):
    """(runtime, stub, engine, fake Bot API) of an in-process SyncService."""
    async with FakeBotApi(token=TOKEN) as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        reset_settings_cache()
        engines = []
        async with serve(lambda rt: engines.append(register(rt))) as (rt, channel):
            yield rt, pb_grpc.SyncServiceStub(channel), engines[0], fake
            await engines[0].drain()


@pytest.fixture
def api(served):
    _, stub, sync_engine, fake = served
    return stub, sync_engine, fake


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


# -- confirmation -----------------------------------------------------------------------------
async def awaiting_world(engine, tenant, fake, *, confirm: int, plain: int = 0,
                         base: int = -1006300000000, **plain_settings) -> tuple[list[int], list[int]]:
    """Subscribed chats of BANNED_USER: ``confirm`` needing a confirmation, ``plain`` not."""
    chats = chat_ids(confirm + plain, base=base)
    for i, chat in enumerate(chats):
        await add_subscription(engine, tenant, admin_user_id=700 + i, admin_chat_id=chat)
        fake.add_chat(chat, members={BANNED_USER: "member"})
    for chat in chats[:confirm]:
        await set_chat_settings(engine, tenant, chat, require_confirmation=True)
    for chat in chats[confirm:]:
        if plain_settings:
            await set_chat_settings(engine, tenant, chat, **plain_settings)
    return chats[:confirm], chats[confirm:]


async def start_sync(stub, sync_engine, engine, tenant) -> str:
    ban_event_id = await add_ban_event(engine, tenant)
    started = await stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=ban_event_id),
                                     metadata=auth(tenant, "moderator"))
    await sync_engine.drain()
    return started.sync_id


async def finished_events(engine, tenant, sync_id: str) -> list[tuple[str, events_pb2.SyncFinished]]:
    out = []
    for env in await outbox(engine, tenant):
        # sync.failed also carries SyncRightsMissing (one chat), which is not a run's end.
        if env.event_type in ("sync.completed", "sync.partial", "sync.failed") and \
                env.payload.Is(events_pb2.SyncFinished.DESCRIPTOR):
            finished = unpack(env, events_pb2.SyncFinished)
            if finished.sync_id == sync_id:
                out.append((env.event_type, finished))
    return out


async def test_confirm_and_decline_the_chats_awaiting_an_admin(api, engine, moderation_tenant):
    stub, sync_engine, fake = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    (c0, c1, c2), (plain,) = await awaiting_world(engine, tenant, fake, confirm=3, plain=1)
    fake.chats[plain].bot_status = "left"  # fails: the run is partial whatever the admin says
    sync_id = await start_sync(stub, sync_engine, engine, tenant)
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=sync_id), metadata=md)).sync
    assert (status.awaiting_confirmation, status.failed, status.pending) == (3, 1, 0)
    assert not any(fake.calls_of("banChatMember", chat_id=c) for c in (c0, c1, c2))

    waiting = await stub.ListSyncLogs(pb.ListSyncLogsRequest(awaiting_confirmation=True),
                                      metadata=md)
    assert sorted(r.target_chat_id for r in waiting.logs) == sorted([c0, c1, c2])
    assert all(r.awaiting_confirmation and r.status == "pending" and r.sync_id == sync_id
               for r in waiting.logs)
    others = await stub.ListSyncLogs(pb.ListSyncLogsRequest(awaiting_confirmation=False),
                                     metadata=md)
    assert [(r.target_chat_id, r.status, r.awaiting_confirmation) for r in others.logs] == [
        (plain, "failed", False)]

    # A subset: only c0 is acted on, the others keep waiting.
    confirmed = await stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id,
                                                             target_chat_ids=[c0]), metadata=md)
    assert (confirmed.sync_id, confirmed.confirmed) == (sync_id, 1)
    await sync_engine.drain()
    assert len(fake.calls_of("banChatMember", chat_id=c0)) == 1
    assert fake.status_of(c0, BANNED_USER) == "kicked"
    assert not fake.calls_of("banChatMember", chat_id=c1)
    done = await stub.ListSyncLogs(pb.ListSyncLogsRequest(target_chat_id=c0), metadata=md)
    assert [(r.status, r.awaiting_confirmation) for r in done.logs] == [("success", False)]
    waiting = await stub.ListSyncLogs(pb.ListSyncLogsRequest(awaiting_confirmation=True),
                                      metadata=md)
    assert sorted(r.target_chat_id for r in waiting.logs) == sorted([c1, c2])
    again = await fails(stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id,
                                                               target_chat_ids=[c0]), metadata=md))
    assert (again.code, again.reason) == (grpc.StatusCode.FAILED_PRECONDITION,
                                          "nothing_awaiting_confirmation")

    # Declining c1 skips it for good and closes the run again, in the same transaction.
    before = len(await finished_events(engine, tenant, sync_id))
    declined = await stub.DeclineSync(pb.DeclineSyncRequest(
        sync_id=sync_id, target_chat_ids=[c1], reason="a friend of ours"), metadata=md)
    assert (declined.sync_id, declined.declined) == (sync_id, 1)
    row = (await stub.ListSyncLogs(pb.ListSyncLogsRequest(target_chat_id=c1), metadata=md)).logs[0]
    assert (row.status, row.awaiting_confirmation) == ("skipped", False)
    assert row.error_message == "declined by an admin (user-1): a friend of ours"
    assert row.HasField("completed_at")
    events = await finished_events(engine, tenant, sync_id)
    assert len(events) == before + 1
    topic, finished = events[-1]
    assert topic == "sync.partial"
    assert (finished.successful, finished.failed, finished.skipped) == (1, 1, 1)
    assert row.id in finished.sync_logs_ids and c1 not in finished.errors
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=sync_id), metadata=md)).sync
    assert (status.status, status.awaiting_confirmation, status.skipped) == ("partial", 1, 1)
    assert status.HasField("finished_at")

    # Everything still waiting (c2 only): confirmed; nothing is left to confirm or decline.
    confirmed = await stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id), metadata=md)
    assert confirmed.confirmed == 1
    await sync_engine.drain()
    assert [len(fake.calls_of("banChatMember", chat_id=c)) for c in (c0, c1, c2)] == [1, 0, 1]
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=sync_id), metadata=md)).sync
    assert (status.status, status.successful, status.awaiting_confirmation) == ("partial", 2, 0)
    for call in (stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id), metadata=md),
                 stub.DeclineSync(pb.DeclineSyncRequest(sync_id=sync_id), metadata=md)):
        err = await fails(call)
        assert err.code == grpc.StatusCode.FAILED_PRECONDITION
        assert err.reason == "nothing_awaiting_confirmation"


async def test_decline_all_finishes_the_run_only_when_nothing_else_is_pending(
        api, engine, moderation_tenant):
    stub, sync_engine, fake = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    # The plain chat is delayed by an hour: its row stays pending (no sweeper runs here).
    (c0, c1), (delayed,) = await awaiting_world(engine, tenant, fake, confirm=2, plain=1,
                                                base=-1006400000000, sync_delay_seconds=3600)
    sync_id = await start_sync(stub, sync_engine, engine, tenant)
    declined = await stub.DeclineSync(pb.DeclineSyncRequest(sync_id=sync_id), metadata=md)
    assert declined.declined == 2
    pending = (await stub.ListSyncLogs(pb.ListSyncLogsRequest(status="pending"), metadata=md)).logs
    assert [(r.target_chat_id, r.awaiting_confirmation) for r in pending] == [(delayed, False)]
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=sync_id), metadata=md)).sync
    assert (status.status, status.skipped, status.pending, status.awaiting_confirmation) == (
        "running", 2, 1, 0)
    assert await finished_events(engine, tenant, sync_id) == []
    rows = (await stub.ListSyncLogs(pb.ListSyncLogsRequest(status="skipped"), metadata=md)).logs
    assert sorted(r.target_chat_id for r in rows) == sorted([c0, c1])
    assert all(r.error_message == "declined by an admin (user-1)" for r in rows)

    # Without other pending rows a decline of everything closes the run as completed.
    other_user, d0 = BANNED_USER + 1, chat_ids(1, base=-1006500000000)[0]
    fake.add_chat(d0, members={other_user: "member"})
    await set_chat_settings(engine, tenant, d0, require_confirmation=True)
    await add_subscription(engine, tenant, admin_user_id=799, admin_chat_id=d0,
                           tracked_user_id=other_user)
    ban_event_id = await add_ban_event(engine, tenant, user_id=other_user)
    started = await stub.TriggerSync(pb.TriggerSyncRequest(ban_event_id=ban_event_id),
                                     metadata=md)
    await sync_engine.drain()
    assert (await stub.DeclineSync(pb.DeclineSyncRequest(sync_id=started.sync_id),
                                   metadata=md)).declined == 1
    topic, finished = (await finished_events(engine, tenant, started.sync_id))[-1]
    assert (topic, finished.skipped, finished.successful) == ("sync.completed", 1, 0)
    assert not fake.calls_of("banChatMember")


async def test_confirm_and_decline_reject_bad_input_roles_and_other_tenants(
        api, engine, moderation_tenant, tenant_name):
    stub, sync_engine, fake = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    (c0,), _ = await awaiting_world(engine, tenant, fake, confirm=1, base=-1006600000000)
    sync_id = await start_sync(stub, sync_engine, engine, tenant)
    outbox_before = await count(engine, tenant, "outbox")

    async def still_waiting() -> bool:
        rows = (await stub.ListSyncLogs(pb.ListSyncLogsRequest(awaiting_confirmation=True),
                                        metadata=md)).logs
        return [r.target_chat_id for r in rows] == [c0]

    err = await fails(stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id="nope", target_chat_ids=[0]),
                                       metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"sync_id", "target_chat_ids"}
    too_many = list(range(1, 1002))
    err = await fails(stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id,
                                                             target_chat_ids=too_many),
                                       metadata=md))
    assert [v.field for v in err.violations] == ["target_chat_ids"]
    err = await fails(stub.DeclineSync(pb.DeclineSyncRequest(
        sync_id=sync_id, target_chat_ids=[c0, 0], reason="x" * 501), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"target_chat_ids", "reason"}
    err = await fails(stub.DeclineSync(pb.DeclineSyncRequest(sync_id="", target_chat_ids=too_many),
                                       metadata=md))
    assert {v.field for v in err.violations} == {"sync_id", "target_chat_ids"}
    # 1,000 ids is the limit, not past it (none of them waits here).
    err = await fails(stub.ConfirmSync(pb.ConfirmSyncRequest(
        sync_id=sync_id, target_chat_ids=list(range(1, 1001))), metadata=md))
    assert err.code == grpc.StatusCode.FAILED_PRECONDITION
    assert err.reason == "nothing_awaiting_confirmation"

    unknown = "00000000-0000-4000-8000-000000000000"
    for call in (stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=unknown), metadata=md),
                 stub.DeclineSync(pb.DeclineSyncRequest(sync_id=unknown), metadata=md)):
        err = await fails(call)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "sync_not_found")
    member = auth(tenant, "member")
    for call in (stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id), metadata=member),
                 stub.DeclineSync(pb.DeclineSyncRequest(sync_id=sync_id), metadata=member)):
        assert (await fails(call)).code == grpc.StatusCode.PERMISSION_DENIED
    other = tenant_name + "x"
    await migrate(engine, "moderation", other)
    owner = auth(other, "owner")
    for call in (stub.ConfirmSync(pb.ConfirmSyncRequest(sync_id=sync_id), metadata=owner),
                 stub.DeclineSync(pb.DeclineSyncRequest(sync_id=sync_id), metadata=owner)):
        err = await fails(call)
        assert (err.code, err.reason) == (grpc.StatusCode.NOT_FOUND, "sync_not_found")
    listed = await stub.ListSyncLogs(pb.ListSyncLogsRequest(awaiting_confirmation=True),
                                     metadata=owner)
    assert list(listed.logs) == []

    # None of the refused calls changed anything.
    await sync_engine.drain()
    assert await still_waiting()
    assert await count(engine, tenant, "outbox") == outbox_before
    assert not fake.calls_of("banChatMember")


@pytest.fixture
async def rest(served, moderation_tenant, engine):
    async with gateway_client(engine, moderation_tenant, served[0], role="moderator") as client:
        yield client


async def test_confirm_over_rest(rest, served, engine, moderation_tenant):
    _, stub, sync_engine, fake = served
    tenant = moderation_tenant
    (c0, c1), _ = await awaiting_world(engine, tenant, fake, confirm=2, base=-1006700000000)
    sync_id = await start_sync(stub, sync_engine, engine, tenant)
    api = "/moderation/api/v1/sync"

    r = await rest.get(f"{api}/logs", params={"awaiting_confirmation": "true"})
    assert r.status_code == 200, r.text
    assert sorted(row["target_chat_id"] for row in r.json()["logs"]) == sorted([c0, c1])
    assert all(row["awaiting_confirmation"] is True for row in r.json()["logs"])

    r = await rest.post(f"{api}/confirm/{sync_id}", json={"target_chat_ids": [c0]})
    assert r.status_code == 200, r.text
    assert r.json() == {"sync_id": sync_id, "confirmed": 1}
    await sync_engine.drain()
    assert len(fake.calls_of("banChatMember", chat_id=c0)) == 1
    assert not fake.calls_of("banChatMember", chat_id=c1)

    r = await rest.post(f"{api}/confirm/not-a-uuid", json={"target_chat_ids": [0]})
    assert r.status_code == 422
    assert {f["field"] for f in r.json()["error"]["fields"]} == {"sync_id", "target_chat_ids"}
    r = await rest.post(f"{api}/confirm/{sync_id}", json={"target_chat_ids": "all"})
    assert r.status_code == 422 and "target_chat_ids" in r.json()["error"]["message"]
    r = await rest.post(f"{api}/confirm/{sync_id}", json={"target_chat_ids": [c0]})
    assert r.status_code == 412
    assert r.json()["error"]["code"] == "nothing_awaiting_confirmation"

    r = await rest.post(f"{api}/decline/{sync_id}", json={"reason": "x" * 501})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "reason"
    r = await rest.post(f"{api}/decline/{sync_id}", json={})
    assert r.status_code == 200 and r.json() == {"sync_id": sync_id, "declined": 1}
    assert not fake.calls_of("banChatMember", chat_id=c1)


async def test_enforce_on_join_over_grpc(api, engine, moderation_tenant):
    stub, sync_engine, fake = api
    tenant = moderation_tenant
    md = auth(tenant, "moderator")
    chat, other = chat_ids(2, base=-1006900000000)
    await add_subscription(engine, tenant, admin_user_id=690, admin_chat_id=chat)
    fake.add_chat(chat, members={BANNED_USER: "member"})
    fake.add_chat(other)
    started = await stub.TriggerSync(pb.TriggerSyncRequest(
        ban_event_id=await add_ban_event(engine, tenant)), metadata=md)
    await sync_engine.drain()
    assert fake.status_of(chat, BANNED_USER) == "kicked"
    # Let back in by hand; the bot reports the join (update 77): banned on sight, once.
    fake.chats[chat].members[BANNED_USER] = {"status": "member", "until_date": 0}
    join = pb.EnforceOnJoinRequest(chat_id=chat, user_id=BANNED_USER, join_ref="77")
    done = await stub.EnforceOnJoin(join, metadata=md)
    assert (done.status, done.until_date) == ("banned", 0) and done.HasField("ban_event_id")
    assert fake.status_of(chat, BANNED_USER) == "kicked"
    again = await stub.EnforceOnJoin(join, metadata=md)
    assert (again.status, again.error) == ("banned", "already enforced")
    assert len(fake.calls_of("banChatMember", chat_id=chat)) == 2  # the sync's, the join's
    elsewhere = await stub.EnforceOnJoin(pb.EnforceOnJoinRequest(
        chat_id=other, user_id=BANNED_USER), metadata=md)
    assert elsewhere.status == "not_banned" and not fake.calls_of("banChatMember", chat_id=other)
    status = (await stub.GetSyncStatus(pb.GetSyncStatusRequest(sync_id=started.sync_id),
                                       metadata=md)).sync
    assert status.successful >= 1
    # Bad input and roles: 422 with the fields, members may not ban.
    bad = await fails(stub.EnforceOnJoin(pb.EnforceOnJoinRequest(
        chat_id=0, user_id=-5, join_ref="x" * 101), metadata=md))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {f.field for f in bad.violations} == {"chat_id", "user_id", "join_ref"}
    member = await fails(stub.EnforceOnJoin(join, metadata=auth(tenant, "member")))
    assert member.code == grpc.StatusCode.PERMISSION_DENIED
    assert len(fake.calls_of("banChatMember", chat_id=chat)) == 2


async def test_sync_reads_validate_their_filters_and_need_a_member(api, moderation_tenant):
    stub, _, _ = api
    md = auth(moderation_tenant, "member")
    bad = await fails(stub.ListSyncLogs(pb.ListSyncLogsRequest(target_chat_id=0, ban_event_id=-1),
                                        metadata=md))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {f.field for f in bad.violations} == {"target_chat_id", "ban_event_id"}
    outsider = bearer("user-9", tenant=moderation_tenant, role=None)  # no membership
    for call in (stub.ListSyncLogs(pb.ListSyncLogsRequest(), metadata=outsider),
                 stub.GetSyncStatus(pb.GetSyncStatusRequest(
                     sync_id="00000000-0000-0000-0000-000000000000"), metadata=outsider)):
        assert (await fails(call)).code == grpc.StatusCode.PERMISSION_DENIED
