"""Per-chat sync notices: only real outcomes are told, and each one once per sync run.

The engine emits a SyncFinished at every closing of a run (RetrySync, ConfirmSync and
DeclineSync reopen it) listing all of the run's finished rows again; the bus may also
redeliver any event. These tests drive the consumer with such events and follow the
messages through the real TelegramService to the fake Bot API.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.consumer import BusConsumer
from services.kit.bus.events import EventEnvelope, new_event
from services.kit.migrations import migrate
from services.kit.naming import stream_key
from services.notification.consumers import GROUP, EventHandlers
from services.notification.dispatcher import Notifier
from services.notification.templates import DEFAULT_TEMPLATES

SUCCESS = DEFAULT_TEMPLATES["sync_success"]["ru"].split("\n")[0]
FAILED = DEFAULT_TEMPLATES["sync_failed"]["ru"].split("\n")[0]

# Target chat → its subscribing admin. -100 is synced, -200 skipped (already banned,
# declined, ...), -300 failed; -400 waits for a confirmation at the first closing.
ADMINS = {-100: 11, -200: 22, -300: 33, -400: 44}


def finished(sync_id: str, *, synced: list[int], errors: dict[int, str],
             skipped: list[int]) -> events_pb2.SyncFinished:
    """A SyncFinished as the engine builds it: every finished row of the run so far."""
    chats = [*synced, *errors, *skipped]
    return events_pb2.SyncFinished(
        ban_event_id=7, sync_id=sync_id, user_id=42, username="spammer", source_chat_id=-9,
        total_chats=len(ADMINS), successful=len(synced), failed=len(errors),
        skipped=len(skipped), sync_logs_ids=list(range(1, len(chats) + 1)),
        errors=errors, chat_admins={c: ADMINS[c] for c in chats}, synced_chat_ids=synced)


@pytest.fixture
def sync_id() -> str:
    return str(uuid.uuid4())


@pytest.fixture
def telegram_notifier(db, redis, clock, telegram_channel) -> Notifier:  # type: ignore[no-untyped-def]
    return Notifier(db, redis, {"telegram": telegram_channel}, clock=clock)


async def _delivered(notifier: Notifier, fake_telegram, tenant: str) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    """Deliver what is due; every (admin, first line) that reached the Bot API so far."""
    await notifier.deliver_due(tenant)
    return sorted((c.params["chat_id"], c.params["text"].split("\n")[0])
                  for c in fake_telegram.calls_of("sendMessage", ok=True))


async def _publish(redis, envelope: EventEnvelope) -> None:  # type: ignore[no-untyped-def]
    await redis.xadd(stream_key(envelope.tenant, envelope.event_type),
                     {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})


async def _consume(notifier: Notifier, redis, tenant: str) -> int:  # type: ignore[no-untyped-def]
    """Read the sync streams with a fresh consumer, as a restarted service would."""
    handlers = EventHandlers(notifier)
    topics = ("sync.completed", "sync.partial", "sync.failed")
    consumer = BusConsumer(redis, GROUP, {t: handlers.handlers()[t] for t in topics},
                           tenants=[tenant], block_ms=50)
    return await consumer.poll_once()


async def test_only_synced_and_failed_chats_are_told(telegram_notifier, fake_telegram, engine,
                                                     tenant_name, sync_id):  # type: ignore[no-untyped-def]
    payload = finished(sync_id, synced=[-100], errors={-300: "not enough rights"},
                       skipped=[-200])
    await EventHandlers(telegram_notifier).sync_finished(
        new_event("sync.partial", tenant_name, payload))
    assert await _delivered(telegram_notifier, fake_telegram, tenant_name) == [
        (11, SUCCESS), (33, FAILED)]
    (failure,) = fake_telegram.calls_of("sendMessage", chat_id=33, ok=True)
    assert "not enough rights" in failure.params["text"]
    # Not even a suppressed or held row for the skipped chat's admin.
    async with engine.connect() as conn:
        users = (await conn.execute(text(
            f'SELECT DISTINCT user_id FROM "t_{tenant_name}__notification".notification_queue'
            " ORDER BY user_id"))).scalars().all()
    assert users == [11, 33]


async def test_a_redelivered_envelope_sends_nothing_more(telegram_notifier, fake_telegram, redis,
                                                         tenant_name, sync_id):  # type: ignore[no-untyped-def]
    envelope = new_event("sync.partial", tenant_name, finished(
        sync_id, synced=[-100], errors={-300: "not enough rights"}, skipped=[-200]))
    await _publish(redis, envelope)
    assert await _consume(telegram_notifier, redis, tenant_name) == 1
    first = await _delivered(telegram_notifier, fake_telegram, tenant_name)
    assert first == [(11, SUCCESS), (33, FAILED)]
    await _publish(redis, envelope)  # at-least-once: the same event again, after a restart
    assert await _consume(telegram_notifier, redis, tenant_name) == 1
    assert await _delivered(telegram_notifier, fake_telegram, tenant_name) == first


async def test_a_second_closing_tells_only_the_new_outcome(telegram_notifier, fake_telegram, redis,
                                                           tenant_name, sync_id):  # type: ignore[no-untyped-def]
    await _publish(redis, new_event("sync.partial", tenant_name, finished(
        sync_id, synced=[-100], errors={-300: "not enough rights"}, skipped=[-200])))
    assert await _consume(telegram_notifier, redis, tenant_name) == 1
    assert await _delivered(telegram_notifier, fake_telegram, tenant_name) == [
        (11, SUCCESS), (33, FAILED)]
    # ConfirmSync let -400 through: the run closes again, listing every row once more.
    await _publish(redis, new_event("sync.partial", tenant_name, finished(
        sync_id, synced=[-100, -400], errors={-300: "not enough rights"}, skipped=[-200])))
    assert await _consume(telegram_notifier, redis, tenant_name) == 1
    assert await _delivered(telegram_notifier, fake_telegram, tenant_name) == [
        (11, SUCCESS), (33, FAILED), (44, SUCCESS)]


async def test_a_retried_chat_that_succeeds_is_told_again(notifier, recorder, tenant_name,
                                                          sync_id):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    await handlers.sync_failed(new_event("sync.failed", tenant_name, finished(
        sync_id, synced=[], errors={-300: "not enough rights"}, skipped=[])))
    # RetrySync after the rights were fixed; the retry fails again, then succeeds.
    await handlers.sync_failed(new_event("sync.failed", tenant_name, finished(
        sync_id, synced=[], errors={-300: "still no rights"}, skipped=[])))
    await handlers.sync_finished(new_event("sync.completed", tenant_name, finished(
        sync_id, synced=[-300], errors={}, skipped=[])))
    await notifier.deliver_due(tenant_name)
    assert [(m.user_id, m.notification_type) for m in recorder.sent] == [
        (33, "sync_failed"), (33, "sync_success")]


async def test_a_stale_failure_read_after_the_success_is_not_told(notifier, recorder, tenant_name,
                                                                  sync_id):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    # sync.completed and sync.partial are separate streams: the later closing can come first.
    await handlers.sync_finished(new_event("sync.completed", tenant_name, finished(
        sync_id, synced=[-100, -300], errors={}, skipped=[])))
    await handlers.sync_finished(new_event("sync.partial", tenant_name, finished(
        sync_id, synced=[-100], errors={-300: "not enough rights"}, skipped=[])))
    await notifier.deliver_due(tenant_name)
    assert sorted((m.user_id, m.notification_type) for m in recorder.sent) == [
        (11, "sync_success"), (33, "sync_success")]


async def test_notices_are_kept_apart_per_sync_and_per_tenant(notifier, recorder, engine,
                                                              tenant_name, sync_id):  # type: ignore[no-untyped-def]
    other_tenant = f"t{uuid.uuid4().hex[:10]}"
    await migrate(engine, "notification", other_tenant)
    handlers = EventHandlers(notifier)
    for tenant, run in ((tenant_name, sync_id), (other_tenant, sync_id),
                        (tenant_name, str(uuid.uuid4()))):
        await handlers.sync_finished(new_event("sync.completed", tenant, finished(
            run, synced=[-100], errors={}, skipped=[])))
    await notifier.deliver_due(tenant_name)
    await notifier.deliver_due(other_tenant)
    assert sorted((m.tenant, m.user_id) for m in recorder.sent) == sorted(
        [(tenant_name, 11), (tenant_name, 11), (other_tenant, 11)])


async def test_the_early_rights_notice_is_the_chats_only_failure_notice(notifier, recorder,
                                                                        tenant_name, sync_id):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    # The engine tells the admin at once that the bot lacks rights, then closes the run.
    rights = events_pb2.SyncRightsMissing(chat_id=-300, admin_user_id=33, user_id=42,
                                          error="not enough rights to ban", sync_id=sync_id)
    await handlers.sync_failed(new_event("sync.failed", tenant_name, rights))
    await handlers.sync_finished(new_event("sync.partial", tenant_name, finished(
        sync_id, synced=[-100], errors={-300: "not enough rights to ban"}, skipped=[])))
    await notifier.deliver_due(tenant_name)
    assert sorted((m.user_id, m.notification_type) for m in recorder.sent) == [
        (11, "sync_success"), (33, "sync_failed")]


async def test_only_bans_and_kicks_are_told_as_synced(notifier, recorder, tenant_name):  # type: ignore[no-untyped-def]
    handlers = EventHandlers(notifier)
    for action in ("unban", "restrict", "kick"):
        payload = finished(str(uuid.uuid4()), synced=[-100], errors={-300: "chat not found"},
                           skipped=[])
        payload.event_type = action
        await handlers.sync_finished(new_event("sync.partial", tenant_name, payload))
    await notifier.deliver_due(tenant_name)
    # Every failure is told; only the kick's success is "synced to your chat" news.
    assert sorted((m.user_id, m.notification_type) for m in recorder.sent) == [
        (11, "sync_success"), (33, "sync_failed"), (33, "sync_failed"), (33, "sync_failed")]
