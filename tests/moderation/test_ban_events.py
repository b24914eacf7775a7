"""Ban events over real gRPC, PostgreSQL and Redis: dedupe, validation, history, search, bulk, tenancy."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import text
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import ban_events_pb2 as pb
from tenantry.moderation.v1 import ban_events_pb2_grpc as pb_grpc
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.relay import OutboxRelay
from services.kit.migrations import migrate
from services.kit.naming import schema_name, stream_key
from services.kit.status import decode_error
from services.moderation.ban_events.grpc import register
from tests.support import bearer, channel, running


def _build(rt) -> None:  # type: ignore[no-untyped-def]
    register(rt)


@pytest.fixture
async def server(database_url, redis_url) -> AsyncIterator[object]:  # type: ignore[no-untyped-def]
    async with running("moderation", _build) as rt:
        yield rt


@pytest.fixture
async def stub(server) -> AsyncIterator[pb_grpc.BanEventServiceStub]:  # type: ignore[no-untyped-def]
    ch = channel(server)
    yield pb_grpc.BanEventServiceStub(ch)
    await ch.close()


@pytest.fixture
async def tenant(engine, tenant_name) -> str:  # type: ignore[no-untyped-def]
    await migrate(engine, "moderation", tenant_name)
    return tenant_name


def ts(dt: datetime) -> timestamp_pb2.Timestamp:
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(dt)
    return out


def req(event_id: str, **kw) -> pb.RegisterBanEventRequest:  # type: ignore[no-untyped-def]
    fields = {"user_id": 987654321, "chat_id": -100123, "event_type": "ban", "reason": "spam links"}
    fields.update(kw)
    return pb.RegisterBanEventRequest(event_id=event_id, **fields)


def item(event_id: str, **kw) -> pb.BanEventInput:  # type: ignore[no-untyped-def]
    fields = {"user_id": 987654321, "chat_id": -100123, "event_type": "ban", "reason": "spam links"}
    fields.update(kw)
    return pb.BanEventInput(event_id=event_id, **fields)


async def counts(engine, tenant: str) -> tuple[int, int, int]:  # type: ignore[no-untyped-def]
    """Rows in ban_events, ban.detected rows and ban.registered rows in the outbox."""
    s = schema_name("moderation", tenant)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(f'SELECT count(*) FROM "{s}".ban_events'))).scalar_one()
        topics = dict((await conn.execute(text(
            f'SELECT topic, count(*) FROM "{s}".outbox GROUP BY topic'))).all())
    return rows, topics.get("ban.detected", 0), topics.get("ban.registered", 0)


async def test_register_same_event_five_times_stores_one_row_and_one_event(stub, tenant, engine, redis):
    meta = bearer(tenant=tenant, role="moderator")
    replies = [await stub.RegisterBanEvent(req("tg-1", ban_duration=3600, initiator_user_id=111,
                                                username="spammer", chat_title="Chat"), metadata=meta)
               for _ in range(5)]
    assert [r.created for r in replies] == [True, False, False, False, False]
    assert len({r.event.id for r in replies}) == 1
    first = replies[0].event
    assert (first.event_type, first.ban_duration, first.initiator_user_id, first.reason) == \
        ("ban", 3600, 111, "spam links")
    assert await counts(engine, tenant) == (1, 1, 1)

    # The relay publishes it; the stream entry carries the BanDetected payload.
    assert await OutboxRelay(engine, redis, "moderation").drain(tenant) == 2
    entries = await redis.xrange(stream_key(tenant, "ban.detected"))
    assert len(entries) == 1
    env = EventEnvelope()
    env.ParseFromString(entries[0][1][b"envelope"])
    payload = unpack(env, events_pb2.BanDetected)
    assert (env.tenant, payload.ban_event_id, payload.event_id, payload.user_id, payload.chat_id) == \
        (tenant, first.id, "tg-1", 987654321, -100123)
    assert payload.HasField("ban_duration") and payload.ban_duration == 3600
    assert payload.ban_type == "temporary"  # the seed's field, next to the duration
    assert (payload.username, payload.chat_title) == ("spammer", "Chat")

    got = await stub.GetBanEvent(pb.GetBanEventRequest(event_id="tg-1"), metadata=bearer(tenant=tenant, role="member"))
    assert got.event.id == first.id and got.event.metadata["username"] == "spammer"

    # A permanent ban has no duration at all (NULL), not 0.
    perm = await stub.RegisterBanEvent(req("tg-2"), metadata=meta)
    assert not perm.event.HasField("ban_duration")


@pytest.mark.parametrize(("bad", "fields"), [
    ({"event_id": ""}, {"event_id"}),
    ({"event_id": "has space"}, {"event_id"}),
    ({"event_id": "x" * 256}, {"event_id"}),
    ({"user_id": -5}, {"user_id"}),
    ({"user_id": 0, "chat_id": 0}, {"user_id", "chat_id"}),
    ({"event_type": "mute"}, {"event_type"}),
    ({"ban_duration": -60}, {"ban_duration"}),
    ({"ban_duration": 0}, {"ban_duration"}),
    ({"ban_duration": 10 ** 12}, {"ban_duration"}),
    ({"event_type": "kick", "ban_duration": 60}, {"ban_duration"}),
    ({"reason": "   "}, {"reason"}),
    ({"reason": "r" * 1001}, {"reason"}),
    ({"initiator_user_id": -1}, {"initiator_user_id"}),
    ({"event_timestamp": ts(datetime(2001, 1, 1, tzinfo=UTC))}, {"event_timestamp"}),
    ({"event_timestamp": ts(datetime.now(UTC) + timedelta(days=1))}, {"event_timestamp"}),
])
async def test_bad_input_is_invalid_argument_with_fields_and_writes_nothing(stub, tenant, engine, bad, fields):
    request = req(bad.pop("event_id", "ok-1"), **bad)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RegisterBanEvent(request, metadata=bearer(tenant=tenant, role="moderator"))
    status = decode_error(err.value)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in status.violations} == fields
    assert "Traceback" not in status.message
    assert await counts(engine, tenant) == (0, 0, 0)


async def test_history_is_newest_first_and_keyset_paginated(stub, tenant):
    meta = bearer(tenant=tenant, role="moderator")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Two events share a timestamp: the id breaks the tie, so no page repeats or skips one.
    stamps = [base + timedelta(hours=h) for h in (0, 5, 1, 3, 3, 2, 4)]
    for i, at in enumerate(stamps):
        await stub.RegisterBanEvent(req(f"h-{i}", user_id=42, chat_id=-7, event_timestamp=ts(at)), metadata=meta)
    await stub.RegisterBanEvent(req("other-user", user_id=43, chat_id=-8), metadata=meta)

    reader = bearer(tenant=tenant, role="member")
    seen, token, pages = [], "", 0
    while True:
        page = await stub.ListUserBanEvents(pb.ListUserBanEventsRequest(
            user_id=42, page=pagination_pb2.PageRequest(page_size=3, page_token=token)), metadata=reader)
        seen += list(page.events)
        pages += 1
        token = page.page.next_page_token
        if not token or pages > 5:
            break
    assert pages == 3 and len(seen) == 7
    keys = [(e.event_timestamp.ToDatetime(), e.id) for e in seen]
    assert keys == sorted(keys, reverse=True)
    assert {e.event_id for e in seen} == {f"h-{i}" for i in range(7)}

    chat = await stub.ListChatBanEvents(pb.ListChatBanEventsRequest(chat_id=-7), metadata=reader)
    assert [e.event_id for e in chat.events] == [e.event_id for e in seen] and not chat.page.next_page_token

    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListChatBanEvents(pb.ListChatBanEventsRequest(chat_id=-999), metadata=reader)
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListUserBanEvents(pb.ListUserBanEventsRequest(
            user_id=42, page=pagination_pb2.PageRequest(page_token="garbage!")), metadata=reader)
    assert {v.field for v in decode_error(err.value).violations} == {"page_token"}
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.ListUserBanEvents(pb.ListUserBanEventsRequest(
            user_id=42, page=pagination_pb2.PageRequest(page_size=501)), metadata=reader)
    assert {v.field for v in decode_error(err.value).violations} == {"page_size"}


async def test_search_by_each_filter(stub, tenant):
    meta = bearer(tenant=tenant, role="moderator")
    day = datetime(2026, 3, 10, 12, tzinfo=UTC)
    rows = [
        ("s-1", 1, -10, "ban", "Crypto SPAM in replies", day),
        ("s-2", 1, -20, "kick", "flood", day + timedelta(days=1)),
        ("s-3", 2, -10, "restrict", "spam bot", day + timedelta(days=2)),
        ("s-4", 3, -30, "unban", "appeal accepted", day + timedelta(days=3)),
        ("s-5", 2, -20, "ban", "100% scam_link", day + timedelta(days=4)),
    ]
    for eid, user, chat, etype, reason, at in rows:
        await stub.RegisterBanEvent(req(eid, user_id=user, chat_id=chat, event_type=etype, reason=reason,
                                        event_timestamp=ts(at)), metadata=meta)
    reader = bearer(tenant=tenant, role="member")

    async def ids(**kw) -> list[str]:  # type: ignore[no-untyped-def]
        found = await stub.SearchBanEvents(pb.SearchBanEventsRequest(**kw), metadata=reader)
        return [e.event_id for e in found.events]

    assert await ids(user_id=1) == ["s-2", "s-1"]
    assert await ids(chat_id=-10) == ["s-3", "s-1"]
    assert await ids(event_type="ban") == ["s-5", "s-1"]
    assert await ids(reason="spam") == ["s-3", "s-1"]  # case-insensitive substring
    assert await ids(reason="0% sc") == ["s-5"]  # % and _ are literal, not wildcards
    assert await ids(reason="scam_l") == ["s-5"]
    assert await ids(**{"from": "2026-03-11", "to": "2026-03-12"}) == ["s-3", "s-2"]
    assert await ids(**{"from": "2026-03-13T00:00:00Z"}) == ["s-5", "s-4"]
    assert await ids(user_id=2, reason="spam", event_type="restrict") == ["s-3"]
    assert await ids() == ["s-5", "s-4", "s-3", "s-2", "s-1"]

    for bad, field in [({"event_type": "mute"}, "event_type"), ({"reason": "ab"}, "reason"),
                       ({"from": "yesterday"}, "from"), ({"from": "2026-03-12", "to": "2026-03-11"}, "to")]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stub.SearchBanEvents(pb.SearchBanEventsRequest(**bad), metadata=reader)
        assert {v.field for v in decode_error(err.value).violations} == {field}


async def test_bulk_reports_each_item_and_a_bad_item_does_not_sink_the_batch(stub, tenant, engine):
    meta = bearer(tenant=tenant, role="moderator")
    existing = await stub.RegisterBanEvent(req("b-old"), metadata=meta)
    batch = [item("b-1"), item("b-old"), item("b-2", event_type="mute"), item("b-1"),
             item("b-3", ban_duration=-1, reason=""), item("b-4", event_type="unban", user_id=5)]
    reply = await stub.BulkRegisterBanEvents(pb.BulkRegisterBanEventsRequest(events=batch), metadata=meta)
    assert [(r.index, r.event_id, r.status) for r in reply.results] == [
        (0, "b-1", "created"), (1, "b-old", "duplicate"), (2, "b-2", "invalid"), (3, "b-1", "duplicate"),
        (4, "b-3", "invalid"), (5, "b-4", "created")]
    assert (reply.created, reply.duplicates, reply.invalid) == (2, 2, 2)
    assert reply.results[1].id == existing.event.id
    assert reply.results[3].id == reply.results[0].id != 0
    assert {v.field for v in reply.results[2].violations} == {"event_type"}
    assert {v.field for v in reply.results[4].violations} == {"ban_duration", "reason"}
    # Three rows (b-old, b-1, b-4), each with exactly one ban.detected and one ban.registered.
    assert await counts(engine, tenant) == (3, 3, 3)


async def test_oversized_bulk_is_rejected_whole(stub, tenant, engine):
    meta = bearer(tenant=tenant, role="moderator")
    batch = [item(f"o-{i}") for i in range(5001)]
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.BulkRegisterBanEvents(pb.BulkRegisterBanEventsRequest(events=batch), metadata=meta)
    status = decode_error(err.value)
    assert status.code == grpc.StatusCode.INVALID_ARGUMENT and [v.field for v in status.violations] == ["events"]
    assert await counts(engine, tenant) == (0, 0, 0)
    # The documented maximum itself goes through.
    ok = await stub.BulkRegisterBanEvents(pb.BulkRegisterBanEventsRequest(events=batch[:5000]), metadata=meta)
    assert ok.created == 5000
    assert await counts(engine, tenant) == (5000, 5000, 5000)


async def test_tenants_and_roles_are_isolated(stub, engine, tenant_name):
    a, b = tenant_name, tenant_name + "b"
    await migrate(engine, "moderation", a)
    await migrate(engine, "moderation", b)
    await stub.RegisterBanEvent(req("x-1", chat_id=-55), metadata=bearer(tenant=a, role="moderator"))
    reader_b = bearer(tenant=b, role="owner")
    for call, request in [(stub.GetBanEvent, pb.GetBanEventRequest(event_id="x-1")),
                          (stub.ListChatBanEvents, pb.ListChatBanEventsRequest(chat_id=-55))]:
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await call(request, metadata=reader_b)
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
    hist = await stub.ListUserBanEvents(pb.ListUserBanEventsRequest(user_id=987654321), metadata=reader_b)
    assert list(hist.events) == []
    found = await stub.SearchBanEvents(pb.SearchBanEventsRequest(reason="spam"), metadata=reader_b)
    assert list(found.events) == []
    # The same event_id in tenant b is b's own event, not a duplicate of a's.
    mine = await stub.RegisterBanEvent(req("x-1"), metadata=bearer(tenant=b, role="moderator"))
    assert mine.created

    # A member may read but not register; a service token may register; a tenant without the app is NOT_FOUND.
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.RegisterBanEvent(req("x-2"), metadata=bearer(tenant=a, role="member"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    svc = await stub.RegisterBanEvent(req("x-3"), metadata=bearer("service:telegram", tenant=a, role="service",
                                                                    typ="service"))
    assert svc.created
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetBanEvent(pb.GetBanEventRequest(event_id="x-1"),
                               metadata=bearer(tenant=tenant_name + "zz", role="owner"))
    assert err.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await stub.GetBanEvent(pb.GetBanEventRequest(event_id="x-1"))
    assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_ban_type_follows_the_seed() -> None:
    from services.moderation.ban_events.events import ban_type

    assert ban_type("ban", None) == "permanent" and ban_type("ban", 60) == "temporary"
    assert ban_type("restrict", 600) == "temporary" and ban_type("restrict", None) == "permanent"
    assert ban_type("kick", None) == ban_type("unban", None) == ""
