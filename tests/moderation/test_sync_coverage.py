"""Sync engine paths the fan-out tests leave out, against real PostgreSQL and the fake Bot API:
kick events under the default rule, and each chat's sync_ban_type deciding a ban's length."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import new_event, unpack
from services.moderation.sync.engine import KICK_BAN_SECONDS, timed_until
from services.telegram_api.until_date import is_permanent
from tests.fakes.moderation_sync import (
    BANNED_USER,
    SOURCE_CHAT,
    add_subscription,
    ban_envelope,
    chat_ids,
    logs,
    outbox,
    runs,
    set_chat_settings,
    store_ban_event,
    sync_world,
)


async def test_a_kick_bans_briefly_then_lifts_so_the_user_may_rejoin(engine, moderation_tenant):
    tenant = moderation_tenant
    present_a, present_b, absent = chat_ids(3, base=-1007100000000)
    async with sync_world(engine) as w:  # no SyncPolicy: the default rule
        for i, chat in enumerate((present_a, present_b, absent)):
            await add_subscription(engine, tenant, admin_user_id=710 + i, admin_chat_id=chat)
        for chat in (present_a, present_b):
            w.fake.add_chat(chat, members={BANNED_USER: "member"})
        w.fake.add_chat(absent)  # the user is not in this chat

        before = time.time()
        sync_id = await w.engine.handle_ban_detected(
            ban_envelope(tenant, ban_event_id=71, event_type="kick"))
        after = time.time()
        assert sync_id is not None

        for chat in (present_a, present_b):
            calls = [c for c in w.fake.calls_of(chat_id=chat)
                     if c.method in ("banChatMember", "unbanChatMember")]
            assert [c.method for c in calls] == ["banChatMember", "unbanChatMember"]
            assert all(c.ok for c in calls)
            ban, unban = calls
            assert ban.params["user_id"] == unban.params["user_id"] == BANNED_USER
            # A short ban (never 0, which would be forever), lifted at once.
            until = ban.params["until_date"]
            assert int(before) + KICK_BAN_SECONDS <= until <= int(after) + KICK_BAN_SECONDS
            assert unban.params["only_if_banned"] is True
            # Not banned any more: gone from the chat, free to join again.
            assert w.fake.status_of(chat, BANNED_USER) == "left"
            assert w.fake.chats[chat].members[BANNED_USER]["until_date"] == 0

        assert not w.fake.calls_of("banChatMember", chat_id=absent)
        assert not w.fake.calls_of("unbanChatMember", chat_id=absent)
        assert w.fake.calls_of("getChatMember", chat_id=absent)  # the precheck asked
        assert w.fake.status_of(absent, BANNED_USER) == "left"
        assert not w.fake.calls_of(chat_id=SOURCE_CHAT)

        rows = {r.target_chat_id: r for r in await logs(engine, tenant)}
        assert set(rows) == {present_a, present_b, absent}
        assert {r.action for r in rows.values()} == {"kick"}
        assert all(r.sync_id == sync_id and r.ban_event_id == 71 for r in rows.values())
        assert rows[present_a].status == rows[present_b].status == "success"
        # The short ban's until_date is recorded like any other that was sent.
        sent = {c.chat_id: c.params["until_date"] for c in w.fake.calls_of("banChatMember")}
        assert rows[present_a].until_date == sent[present_a]
        assert (rows[absent].status, rows[absent].error_message) == ("skipped", "not in the chat")
        assert rows[absent].completed_at is not None

        (run,) = await runs(engine, tenant)
        assert (run.status, run.event_type, run.total_chats) == ("completed", "kick", 3)
        (done,) = await outbox(engine, tenant, "sync.completed")
        finished = unpack(done, events_pb2.SyncFinished)
        assert finished.event_type == "kick"
        assert (finished.successful, finished.skipped, finished.failed) == (2, 1, 0)
        assert sorted(finished.synced_chat_ids) == sorted([present_a, present_b])


async def test_each_chats_ban_type_decides_the_length_of_a_temporary_source_ban(
        engine, moderation_tenant):
    tenant = moderation_tenant
    permanent, same, temporary, temporary_default = chat_ids(4, base=-1007200000000)
    chats = (permanent, same, temporary, temporary_default)
    async with sync_world(engine) as w:
        for i, chat in enumerate(chats):
            await add_subscription(engine, tenant, admin_user_id=720 + i, admin_chat_id=chat)
            w.fake.add_chat(chat, members={BANNED_USER: "member"})
        await set_chat_settings(engine, tenant, permanent, sync_ban_type="permanent")
        await set_chat_settings(engine, tenant, same, sync_ban_type="same")
        await set_chat_settings(engine, tenant, temporary, sync_ban_type="temporary",
                                temporary_ban_seconds=7200)
        # No length of its own: the event's duration.
        await set_chat_settings(engine, tenant, temporary_default, sync_ban_type="temporary")

        before = time.time()
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=72,
                                                        ban_duration=3600))
        after = time.time()

        sent = {}
        for chat in chats:
            (ban,) = w.fake.calls_of("banChatMember", chat_id=chat)
            assert ban.ok and ban.params["user_id"] == BANNED_USER
            assert w.fake.status_of(chat, BANNED_USER) == "kicked"
            sent[chat] = ban.params.get("until_date")

        # Permanent overrides the source's hour: no until_date, or 0 (forever).
        assert not sent[permanent]
        assert w.fake.chats[permanent].members[BANNED_USER]["until_date"] == 0

        def about(seconds: int) -> range:
            return range(int(before) + seconds, int(after) + seconds + 1)

        assert sent[same] in about(3600)
        assert sent[temporary] in about(7200)
        assert sent[temporary_default] in about(3600)

        rows = {r.target_chat_id: r for r in await logs(engine, tenant)}
        assert {r.status for r in rows.values()} == {"success"}
        assert {r.action for r in rows.values()} == {"ban"}
        # The logs hold exactly what Telegram was sent.
        assert rows[permanent].until_date == 0
        for chat in (same, temporary, temporary_default):
            assert rows[chat].until_date == sent[chat]
        assert rows[permanent].ban_duration is None
        assert rows[same].ban_duration == 3600
        assert rows[temporary].ban_duration == 7200
        assert rows[temporary_default].ban_duration == 3600


def _late_ban(tenant: str, *, ban_event_id: int, seconds_ago: int, duration: int):
    """ban.detected of a temporary ban that happened ``seconds_ago`` (synced only now)."""
    envelope = ban_envelope(tenant, ban_event_id=ban_event_id, ban_duration=duration)
    payload = unpack(envelope, events_pb2.BanDetected)
    payload.event_timestamp.FromSeconds(int(time.time()) - seconds_ago)
    envelope.payload.Pack(payload)
    return envelope


async def test_a_late_sync_ends_a_timed_ban_where_the_source_ends_it(engine, moderation_tenant):
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1007150000000)
    async with sync_world(engine) as w:
        await add_subscription(engine, tenant, admin_user_id=720, admin_chat_id=chat)
        w.fake.add_chat(chat, members={BANNED_USER: "member"})
        # An hour's ban from 30 minutes ago: half an hour is left, not a fresh hour.
        await w.engine.handle_ban_detected(_late_ban(tenant, ban_event_id=75,
                                                     seconds_ago=1800, duration=3600))
        (ban,) = w.fake.calls_of("banChatMember", chat_id=chat)
        assert abs(ban.params["until_date"] - (time.time() + 1800)) < 10
        (row,) = await logs(engine, tenant)
        assert (row.status, row.until_date) == ("success", ban.params["until_date"])


async def test_a_timed_ban_already_over_is_skipped_never_made_permanent(engine, moderation_tenant):
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1007160000000)
    async with sync_world(engine) as w:
        await add_subscription(engine, tenant, admin_user_id=721, admin_chat_id=chat)
        w.fake.add_chat(chat, members={BANNED_USER: "member"})
        await w.engine.handle_ban_detected(_late_ban(tenant, ban_event_id=76,
                                                     seconds_ago=7200, duration=3600))
        assert not w.fake.calls_of("banChatMember", chat_id=chat)
        (row,) = await logs(engine, tenant)
        assert (row.status, row.error_message) == ("skipped", "the ban is already over")
        assert w.fake.status_of(chat, BANNED_USER) == "member"


async def test_a_ban_nobody_subscribes_to_is_recorded_quietly_and_enforced_later(
        engine, moderation_tenant):
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1007170000000)
    async with sync_world(engine) as w:
        w.fake.add_chat(chat)
        assert await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=77)) is None
        (run,) = await runs(engine, tenant)
        assert (run.status, run.total_chats) == ("completed", 0) and run.finished_at is not None
        assert not await outbox(engine, tenant)  # no sync.started / sync.completed
        assert not await logs(engine, tenant)
        # An admin subscribes afterwards; the user joins their chat: banned on sight.
        await add_subscription(engine, tenant, admin_user_id=722, admin_chat_id=chat)
        joined = await w.engine.enforce_on_join(tenant, chat, BANNED_USER, join_ref="late")
        assert (joined.status, joined.ban_event_id) == ("banned", 77)


def _ban_at(tenant: str, *, ban_event_id: int, chat_id: int, at: datetime):
    """ban.detected of a permanent ban made in ``chat_id`` at ``at``."""
    payload = events_pb2.BanDetected(ban_event_id=ban_event_id, event_id=f"evt-{ban_event_id}",
                                     user_id=BANNED_USER, chat_id=chat_id, event_type="ban",
                                     reason="spam", username="spammer")
    payload.event_timestamp.FromDatetime(at)
    return new_event("ban.detected", tenant, payload)


async def test_an_unban_in_the_same_second_as_the_ban_lifts_it(engine, moderation_tenant):
    # Telegram dates have whole seconds: a ban undone at once shares the ban's timestamp.
    tenant = moderation_tenant
    (synced,) = chat_ids(1, base=-1007180000000)
    at = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    async with sync_world(engine) as w:
        await add_subscription(engine, tenant, admin_user_id=723, admin_chat_id=synced)
        w.fake.add_chat(synced, members={BANNED_USER: "member"})
        ban = await store_ban_event(engine, tenant, chat_id=SOURCE_CHAT, event_type="ban", at=at,
                            event_id="same-second-ban")
        await w.engine.handle_ban_detected(_ban_at(tenant, ban_event_id=ban, chat_id=SOURCE_CHAT,
                                                   at=at))
        await store_ban_event(engine, tenant, chat_id=SOURCE_CHAT, event_type="unban", at=at,
                      event_id="same-second-unban")
        w.fake.chats[synced].members[BANNED_USER] = {"status": "member", "until_date": 0}
        result = await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="j")
        assert (result.status, result.error) == ("not_banned", "unbanned in the source chat")


async def test_a_ban_still_standing_is_enforced_when_a_later_one_is_lifted(engine,
                                                                           moderation_tenant):
    tenant = moderation_tenant
    (synced,) = chat_ids(1, base=-1007190000000)
    other = -1007190000999
    t1, t2, t3 = (datetime(2026, 12, 1, 12, m, 0, tzinfo=UTC) for m in (0, 5, 10))
    async with sync_world(engine) as w:
        await add_subscription(engine, tenant, admin_user_id=724, admin_chat_id=synced)
        w.fake.add_chat(synced, members={BANNED_USER: "member"})
        first = await store_ban_event(engine, tenant, chat_id=SOURCE_CHAT, event_type="ban", at=t1,
                              event_id="standing-a")
        await w.engine.handle_ban_detected(_ban_at(tenant, ban_event_id=first,
                                                   chat_id=SOURCE_CHAT, at=t1))
        second = await store_ban_event(engine, tenant, chat_id=other, event_type="ban", at=t2,
                               event_id="standing-b")
        await w.engine.handle_ban_detected(_ban_at(tenant, ban_event_id=second, chat_id=other,
                                                   at=t2))
        await store_ban_event(engine, tenant, chat_id=other, event_type="unban", at=t3,
                      event_id="standing-b-lifted")  # the later ban is lifted, the first not
        w.fake.chats[synced].members[BANNED_USER] = {"status": "member", "until_date": 0}
        result = await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="j")
        assert (result.status, result.ban_event_id) == ("banned", first)
        assert w.fake.status_of(synced, BANNED_USER) == "kicked"


def test_a_366_day_ban_stamped_a_little_ahead_is_not_made_permanent() -> None:
    # An event time up to a few minutes ahead of this host's clock is accepted.
    now, day = 1_800_000_000.0, 86400
    until = timed_until(366 * day, banned_at=now + 10, now=now)
    assert until and not is_permanent(until, now=now)
    assert timed_until(None, banned_at=now, now=now) == 0  # permanent stays permanent
    assert timed_until(3600, banned_at=now - 4000, now=now) is None  # over
