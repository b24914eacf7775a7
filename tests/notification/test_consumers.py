"""Bus consumers: events become notifications once, whatever Redis redelivers."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.consumer import BusConsumer
from services.kit.bus.events import new_event
from services.kit.naming import stream_key
from services.notification.consumers import GROUP, EventHandlers


async def _queue(engine, tenant: str) -> list:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            f'SELECT user_id, notification_type, params FROM "t_{tenant}__notification".'
            "notification_queue ORDER BY user_id"))).all())


async def test_sync_finished_notifies_each_chat_admin_once(notifier, engine, tenant_name):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    payload = events_pb2.SyncFinished(ban_event_id=1, user_id=42, username="spam<er>",
                                      sync_id=str(uuid.uuid4()), total_chats=2, successful=1,
                                      failed=1, chat_admins={-100: 11, -200: 22},
                                      errors={-200: "no rights"}, synced_chat_ids=[-100])
    envelope = new_event("sync.completed", tenant_name, payload)
    await handlers.sync_finished(envelope)
    await handlers.sync_finished(envelope)  # redelivered
    rows = await _queue(engine, tenant_name)
    assert [(r.user_id, r.notification_type) for r in rows] == [(11, "sync_success"),
                                                                (22, "sync_failed")]
    assert rows[1].params["error"] == "no rights" and rows[0].params["username"] == "@spam<er>"


async def test_subscriptions_ended_unasked_are_told_once_per_admin_and_chat(
        notifier, engine, tenant_name):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)

    def deleted(sub_id: int, admin: int, chat: int, reason: str,
                cleanup: str) -> events_pb2.SubscriptionDeleted:
        return events_pb2.SubscriptionDeleted(subscription_id=sub_id, admin_user_id=admin,
                                              admin_chat_id=chat, tracked_user_id=500 + sub_id,
                                              reason=reason, cleanup_id=cleanup)

    bot_gone, chat_gone, removed = (str(uuid.uuid4()) for _ in range(3))
    payloads = [
        deleted(1, 11, -100, "bot_removed", bot_gone),  # admin 11: two subscriptions, one notice
        deleted(2, 11, -100, "bot_removed", bot_gone),
        deleted(3, 12, -100, "bot_removed", bot_gone),  # another admin of that chat: told too
        deleted(4, 11, -200, "chat_not_found", chat_gone),
        deleted(5, 11, -300, "chat_removed", removed),  # the admin removed the chat: not told
        deleted(6, 11, -300, "deleted", ""),  # an unsubscribe: not told
        deleted(7, 13, -400, "bot_removed", ""),  # from before cleanup ids: never replayed
    ]
    envelopes = [new_event("subscription.deleted", tenant_name, p) for p in payloads]
    for envelope in envelopes + envelopes:  # every event delivered twice
        await handlers.subscription_deleted(envelope)
    rows = await _queue(engine, tenant_name)
    assert sorted((r.user_id, r.notification_type, r.params["chat_id"]) for r in rows) == [
        (11, "subscriptions_ended", "-100"), (11, "subscriptions_ended", "-200"),
        (12, "subscriptions_ended", "-100")]


async def test_sync_failed_tells_payload_types_apart(notifier, engine, tenant_name):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    rights = events_pb2.SyncRightsMissing(chat_id=-300, admin_user_id=33, user_id=42,
                                          error="not enough rights")
    await handlers.sync_failed(new_event("sync.failed", tenant_name, rights))
    (row,) = await _queue(engine, tenant_name)
    assert (row.user_id, row.notification_type, row.params["error"]) == (33, "sync_failed",
                                                                         "not enough rights")


async def test_ban_detected_goes_to_subscribers_through_the_bus(notifier, redis, engine,
                                                                tenant_name):  # type: ignore[no-untyped-def]
    async def subscribers(tenant: str, user_id: int) -> list[tuple[int, int]]:
        assert (tenant, user_id) == (tenant_name, 42)
        return [(11, -100), (11, -101), (12, -102)]

    handlers = EventHandlers(notifier, subscribers)
    ban = events_pb2.BanDetected(ban_event_id=5, event_id="e-1", user_id=42, chat_id=-9,
                                 event_type="ban", reason="spam", chat_title="Cats")
    envelope = new_event("ban.detected", tenant_name, ban)
    for _ in range(2):  # the same event published twice
        await redis.xadd(stream_key(tenant_name, "ban.detected"),
                         {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})
    consumer = BusConsumer(redis, GROUP, {"ban.detected": handlers.ban_detected},
                           tenants=[tenant_name], block_ms=100)
    # The group is created at the stream's start, so both copies are read.
    assert await consumer.poll_once() == 2
    rows = await _queue(engine, tenant_name)
    assert [(r.user_id, r.params["chat_name"]) for r in rows] == [(11, "Cats"), (12, "Cats")]
