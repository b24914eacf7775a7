"""user.settings_updated: the moderation user's settings steer their notifications.

Notifications off silences every moderation notice to that user (and only to that
user), on restores delivery, language and timezone become the preferences'. The
newest change wins whatever order the bus hands the events over in. Messages are
followed through the real TelegramService to the fake Bot API.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2
from tenantry.moderation.v1 import users_pb2 as users_pb
from tenantry.moderation.v1 import users_pb2_grpc as users_grpc

from services.kit.bus.consumer import BusConsumer
from services.kit.bus.events import EventEnvelope, new_event
from services.kit.bus.relay import OutboxRelay
from services.kit.naming import stream_key
from services.notification import store
from services.notification.consumers import GROUP, EventHandlers
from services.notification.dispatcher import APP, Notifier
from services.notification.drafts import ORIGIN_MODERATION, Draft
from services.notification.templates import DEFAULT_TEMPLATES
from tests.moderation.conftest import auth, moderation_server, moderation_tenant  # noqa: F401

T0 = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
BAN_RU = "🚫 Пользователь @spammer (ID: 42) был забанен в чате -9"
SUCCESS_RU = DEFAULT_TEMPLATES["sync_success"]["ru"].split("\n")[0]
SUCCESS_EN = DEFAULT_TEMPLATES["sync_success"]["en"].split("\n")[0]


def settings(tenant: str, user_id: int, *, enabled: bool = True, language: str = "ru",
             timezone: str = "UTC", at: datetime = T0) -> EventEnvelope:
    """A user.settings_updated as the moderation users service writes it."""
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(at)
    return new_event("user.settings_updated", tenant, events_pb2.UserSettingsUpdated(
        user_id=user_id, notifications_enabled=enabled, language=language, timezone=timezone,
        updated_at=stamp))


def ban(tenant: str) -> EventEnvelope:
    """User 42 banned in chat -9; the subscribers (below) are admins 11 and 12."""
    return new_event("ban.detected", tenant, events_pb2.BanDetected(
        ban_event_id=1, event_id=str(uuid.uuid4()), user_id=42, chat_id=-9, event_type="ban",
        reason="spam", username="spammer"))


def synced(tenant: str) -> EventEnvelope:
    """A sync run that landed in -100 (admin 11) and -200 (admin 12)."""
    return new_event("sync.completed", tenant, events_pb2.SyncFinished(
        ban_event_id=1, sync_id=str(uuid.uuid4()), user_id=42, username="spammer",
        source_chat_id=-9, total_chats=2, successful=2, chat_admins={-100: 11, -200: 12},
        synced_chat_ids=[-100, -200], event_type="ban"))


async def subscribers(_tenant: str, user_id: int) -> list[tuple[int, int]]:
    assert user_id == 42
    return [(11, -100), (12, -200)]


@pytest.fixture
def telegram_notifier(db, redis, clock, telegram_channel) -> Notifier:  # type: ignore[no-untyped-def]
    return Notifier(db, redis, {"telegram": telegram_channel}, clock=clock)


@pytest.fixture
def handlers(telegram_notifier: Notifier) -> EventHandlers:
    return EventHandlers(telegram_notifier, subscribers)


async def publish(redis: Any, *envelopes: EventEnvelope) -> None:
    for envelope in envelopes:
        await redis.xadd(stream_key(envelope.tenant, envelope.event_type),
                         {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})


async def consume(handlers: EventHandlers, redis: Any, tenant: str) -> int:
    """Read every notification topic once with a fresh consumer, as the service does."""
    consumer = BusConsumer(redis, GROUP, handlers.handlers(), tenants=[tenant], block_ms=50)
    return await consumer.poll_once()


async def sent(notifier: Notifier, fake_telegram: Any, tenant: str) -> list[tuple[int, str]]:
    """Deliver what is due; every (user, first line) that reached the Bot API so far."""
    await notifier.deliver_due(tenant)
    return [(c.params["chat_id"], c.params["text"].split("\n")[0])
            for c in fake_telegram.calls_of("sendMessage", ok=True)]


async def statuses(engine: Any, tenant: str, user_id: int) -> list[str]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            f'SELECT status FROM "t_{tenant}__notification".notification_queue '
            "WHERE user_id = :u ORDER BY id"), {"u": user_id})).scalars().all())


async def prefs_of(notifier: Notifier, tenant: str, user_id: int) -> Any:
    async with notifier.db.session(APP, tenant) as session:
        return (await store.load_preferences(session, user_id))[0]


async def test_notifications_off_silences_that_user_and_on_restores(
        handlers, telegram_notifier, fake_telegram, redis, engine, tenant_name):  # type: ignore[no-untyped-def]
    await publish(redis, settings(tenant_name, 11, enabled=False))
    assert await consume(handlers, redis, tenant_name) == 1
    assert not (await prefs_of(telegram_notifier, tenant_name, 11)).notifications_enabled

    await publish(redis, ban(tenant_name), synced(tenant_name))
    assert await consume(handlers, redis, tenant_name) == 2
    delivered = await sent(telegram_notifier, fake_telegram, tenant_name)
    # Admin 12 hears of the ban and of the sync; admin 11 of neither.
    assert sorted(delivered) == sorted([(12, BAN_RU), (12, SUCCESS_RU)])
    assert await statuses(engine, tenant_name, 11) == ["suppressed", "suppressed"]

    await publish(redis, settings(tenant_name, 11, enabled=True, at=T0 + timedelta(minutes=1)))
    assert await consume(handlers, redis, tenant_name) == 1
    await publish(redis, synced(tenant_name))
    assert await consume(handlers, redis, tenant_name) == 1
    delivered = await sent(telegram_notifier, fake_telegram, tenant_name)
    assert sorted(user for user, _ in delivered) == [11, 12, 12, 12]


async def test_off_also_stops_what_was_waiting_and_urgent_ones(
        handlers, telegram_notifier, fake_telegram, engine, clock, tenant_name):  # type: ignore[no-untyped-def]
    async with telegram_notifier.db.session(APP, tenant_name) as session:
        prefs, _ = await store.load_preferences(session, 11)
        prefs.quiet_hours_start, prefs.quiet_hours_end = time(11, 0), time(13, 0)  # now is 12:00
        await store.save_preferences(session, prefs)
    await handlers.sync_finished(synced(tenant_name))
    assert await statuses(engine, tenant_name, 11) == ["held"]

    await handlers.user_settings_updated(settings(tenant_name, 11, enabled=False))
    clock.advance(hours=2)
    assert [u for u, _ in await sent(telegram_notifier, fake_telegram, tenant_name)] == [12]
    assert await statuses(engine, tenant_name, 11) == ["suppressed"]

    # "Off" has no urgent exception for moderation notices; a direct request still goes.
    async with telegram_notifier.db.session(APP, tenant_name) as session:
        await telegram_notifier.queue(session, Draft(
            user_id=11, notification_type="system", params={"title": "t", "message": "urgent"},
            priority="urgent", origin=ORIGIN_MODERATION))
    await telegram_notifier.submit(tenant_name, [Draft(
        user_id=11, notification_type="system", params={"title": "Direct", "message": "m"})])
    assert await statuses(engine, tenant_name, 11) == ["suppressed", "suppressed", "pending"]
    assert [u for u, _ in await sent(telegram_notifier, fake_telegram, tenant_name)] == [12, 11]


async def test_language_and_timezone_become_the_preferences(
        handlers, telegram_notifier, fake_telegram, engine, tenant_name):  # type: ignore[no-untyped-def]
    await handlers.user_settings_updated(settings(tenant_name, 11, language="en-US"))
    await handlers.sync_finished(synced(tenant_name))
    assert sorted(await sent(telegram_notifier, fake_telegram, tenant_name)) == [
        (11, SUCCESS_EN), (12, SUCCESS_RU)]

    # 12:00 UTC is 22:00 in Vladivostok: inside 22:00-07:00 quiet hours there, not in UTC.
    async with telegram_notifier.db.session(APP, tenant_name) as session:
        prefs, _ = await store.load_preferences(session, 11)
        prefs.quiet_hours_start, prefs.quiet_hours_end = time(22, 0), time(7, 0)
        await store.save_preferences(session, prefs)
    await handlers.user_settings_updated(settings(tenant_name, 11, language="en",
                                                  timezone="Asia/Vladivostok",
                                                  at=T0 + timedelta(seconds=1)))
    prefs = await prefs_of(telegram_notifier, tenant_name, 11)
    assert (prefs.language, prefs.timezone, prefs.quiet_hours_start) == ("en", "Asia/Vladivostok",
                                                                         time(22, 0))
    await handlers.sync_finished(synced(tenant_name))
    assert await statuses(engine, tenant_name, 11) == ["sent", "held"]

    # A tag or zone this service cannot use keeps what it had; the switch still applies.
    await handlers.user_settings_updated(settings(tenant_name, 11, enabled=False, language="de",
                                                  timezone="Europe/Nowhere",
                                                  at=T0 + timedelta(seconds=2)))
    prefs = await prefs_of(telegram_notifier, tenant_name, 11)
    assert (prefs.notifications_enabled, prefs.language, prefs.timezone) == (
        False, "en", "Asia/Vladivostok")


async def test_an_older_event_after_a_newer_one_changes_nothing(
        handlers, telegram_notifier, fake_telegram, redis, tenant_name):  # type: ignore[no-untyped-def]
    newer = settings(tenant_name, 11, enabled=False, language="en", timezone="Asia/Tokyo",
                     at=T0 + timedelta(seconds=5))
    older = settings(tenant_name, 11, enabled=True, language="ru", timezone="UTC", at=T0)
    await publish(redis, newer)
    assert await consume(handlers, redis, tenant_name) == 1
    await publish(redis, older)
    assert await consume(handlers, redis, tenant_name) == 1
    prefs = await prefs_of(telegram_notifier, tenant_name, 11)
    assert (prefs.notifications_enabled, prefs.language, prefs.timezone) == (False, "en", "Asia/Tokyo")
    await handlers.ban_detected(ban(tenant_name))
    assert [u for u, _ in await sent(telegram_notifier, fake_telegram, tenant_name)] == [12]


async def test_a_redelivery_changes_nothing(handlers, telegram_notifier, api, redis, engine,
                                            tenant_name):  # type: ignore[no-untyped-def]
    from tenantry.notification.v1 import notification_pb2

    from tests.notification.conftest import bearer

    envelope = settings(tenant_name, 11, language="en", timezone="Asia/Tokyo")
    await publish(redis, envelope)
    assert await consume(handlers, redis, tenant_name) == 1
    # The admin then sets another language in the notification API ...
    await api.UpdatePreferences(notification_pb2.UpdatePreferencesRequest(
        user_id=11, language="ru", timezone="Europe/Moscow"), metadata=bearer(tenant_name))
    # ... and the bus hands the same event over again (a restart, a reclaim).
    await publish(redis, envelope)
    assert await consume(handlers, redis, tenant_name) == 1
    prefs = await prefs_of(telegram_notifier, tenant_name, 11)
    assert (prefs.language, prefs.timezone, prefs.notifications_enabled) == ("ru", "Europe/Moscow", True)
    async with engine.connect() as conn:
        handled = (await conn.execute(text(
            f'SELECT count(*) FROM "t_{tenant_name}__notification".processed_events '
            "WHERE event_id = :e"), {"e": envelope.event_id})).scalar_one()
    assert handled == 1


async def test_from_update_user_settings_to_a_silenced_notice(
        moderation_server, moderation_tenant, handlers, telegram_notifier, fake_telegram,  # noqa: F811
        redis, engine):  # type: ignore[no-untyped-def]
    """The real chain: UpdateUserSettings → outbox → relay → stream → notification consumer."""
    users = users_grpc.UserServiceStub(moderation_server[1])
    md = auth(moderation_tenant, "moderator")
    await users.CreateUser(users_pb.CreateUserRequest(user_id=11), metadata=md)
    await users.UpdateUserSettings(users_pb.UpdateUserSettingsRequest(
        user_id=11, notifications_enabled=False, language="en"), metadata=md)
    assert await OutboxRelay(engine, redis, "moderation").drain(moderation_tenant) == 1
    assert await consume(handlers, redis, moderation_tenant) == 1
    prefs = await prefs_of(telegram_notifier, moderation_tenant, 11)
    assert (prefs.notifications_enabled, prefs.language) == (False, "en")

    await handlers.sync_finished(synced(moderation_tenant))
    assert [u for u, _ in await sent(telegram_notifier, fake_telegram, moderation_tenant)] == [12]

    await users.UpdateUserSettings(users_pb.UpdateUserSettingsRequest(
        user_id=11, notifications_enabled=True), metadata=md)
    assert await OutboxRelay(engine, redis, "moderation").drain(moderation_tenant) == 1
    assert await consume(handlers, redis, moderation_tenant) == 1
    await handlers.sync_finished(synced(moderation_tenant))
    assert sorted(await sent(telegram_notifier, fake_telegram, moderation_tenant)) == [
        (11, SUCCESS_EN), (12, SUCCESS_RU), (12, SUCCESS_RU)]
