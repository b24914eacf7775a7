"""The sync engine against real PostgreSQL and the fake Bot API: fan-out and its rules."""

from __future__ import annotations

import asyncio
import time

import pytest
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import unpack
from services.kit.errors import FailedPrecondition
from services.kit.naming import dead_letter_key
from services.telegram_api import CircuitBreaker
from tests.fakes.moderation_sync import (
    BANNED_USER,
    SOURCE_CHAT,
    add_policy,
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


async def subscribe(engine, tenant, chats, *, member=True, fake=None):
    ids = []
    for i, chat in enumerate(chats):
        ids.append(await add_subscription(engine, tenant, admin_user_id=100 + i,
                                          admin_chat_id=chat))
        if fake is not None:
            fake.add_chat(chat, members={BANNED_USER: "member"} if member else {})
    return ids


async def test_fan_out_bans_every_subscriber_chat_once_and_logs_it(engine, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(12)
    async with sync_world(engine, page_size=5) as w:  # 12 subscribers: 3 keyset pages
        await subscribe(engine, tenant, chats, fake=w.fake)
        await set_chat_settings(engine, tenant, chats[0], sync_ban_type="temporary",
                                temporary_ban_seconds=7200)
        sync_id = await w.engine.handle_ban_detected(ban_envelope(tenant, ban_duration=None))
        assert sync_id is not None
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1
            assert w.fake.status_of(chat, BANNED_USER) == "kicked"
        assert not w.fake.calls_of("banChatMember", chat_id=SOURCE_CHAT)
        rows = await logs(engine, tenant)
        assert len(rows) == 12 and {r.status for r in rows} == {"success"}
        assert all(r.sync_id == sync_id and r.user_id == BANNED_USER for r in rows)
        by_chat = {r.target_chat_id: r for r in rows}
        assert abs(by_chat[chats[0]].until_date - (time.time() + 7200)) < 10  # temporary
        assert by_chat[chats[1]].until_date == 0  # "same" as a permanent source ban
        started = await outbox(engine, tenant, "sync.started")
        done = await outbox(engine, tenant, "sync.completed")
        assert len(started) == 1 and len(done) == 1
        finished = unpack(done[0], events_pb2.SyncFinished)
        assert (finished.total_chats, finished.successful, finished.failed) == (12, 12, 0)
        assert sorted(finished.sync_logs_ids) == sorted(r.id for r in rows)
        assert finished.chat_admins[chats[0]] == 100
        (run,) = await runs(engine, tenant)
        assert run.status == "completed" and run.total_chats == 12


async def test_already_banned_chats_are_skipped_without_a_ban_call(engine, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(3, base=-1008100000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, chats, fake=w.fake)
        w.fake.chats[chats[1]].members[BANNED_USER] = {"status": "kicked", "until_date": 0}
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        assert not w.fake.calls_of("banChatMember", chat_id=chats[1])
        status = {r.target_chat_id: (r.status, r.error_message) for r in await logs(engine, tenant)}
        assert status[chats[1]] == ("skipped", "already banned")
        assert status[chats[0]][0] == status[chats[2]][0] == "success"
        finished = unpack((await outbox(engine, tenant, "sync.completed"))[0],
                          events_pb2.SyncFinished)
        assert (finished.successful, finished.skipped) == (2, 1)
        assert sorted(finished.synced_chat_ids) == sorted([chats[0], chats[2]])


async def test_chat_not_found_deactivates_the_subscription(engine, redis, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(3, base=-1008200000000)
    async with sync_world(engine, redis=redis) as w:
        subs = await subscribe(engine, tenant, chats, fake=w.fake)
        w.fake.remove_chat(chats[2])
        cache_key = f"t:{tenant}:subscription:user:{BANNED_USER}"
        await redis.set(cache_key, "stale")
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        status = {r.target_chat_id: r for r in await logs(engine, tenant)}
        assert status[chats[2]].status == "failed"
        assert "chat not found" in status[chats[2]].error_message
        async with engine.connect() as conn:
            from sqlalchemy import text

            active = dict((await conn.execute(text(
                f'SELECT id, is_active FROM "t_{tenant}__moderation".subscriptions'))).all())
        assert active == {subs[0]: True, subs[1]: True, subs[2]: False}
        (deleted,) = await outbox(engine, tenant, "subscription.deleted")
        payload = unpack(deleted, events_pb2.SubscriptionDeleted)
        assert (payload.subscription_id, payload.reason) == (subs[2], "chat_not_found")
        assert await redis.get(cache_key) is None  # the subscribers cache was dropped
        assert len(await outbox(engine, tenant, "sync.partial")) == 1


async def test_missing_rights_fail_and_tell_the_admin(engine, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(3, base=-1008300000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, chats, fake=w.fake)
        w.fake.chats[chats[0]].bot_status = "left"  # 403 not a member
        w.fake.chats[chats[1]].bot_can_restrict = False  # 400 not enough rights
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        status = {r.target_chat_id: r.status for r in await logs(engine, tenant)}
        assert status == {chats[0]: "failed", chats[1]: "failed", chats[2]: "success"}
        missing = [unpack(e, events_pb2.SyncRightsMissing)
                   for e in await outbox(engine, tenant, "sync.failed")
                   if e.payload.TypeName().endswith("SyncRightsMissing")]
        assert {(m.chat_id, m.admin_user_id, m.user_id) for m in missing} == {
            (chats[0], 100, BANNED_USER), (chats[1], 101, BANNED_USER)}
        assert "not a member" in next(m.error for m in missing if m.chat_id == chats[0])
        (partial,) = await outbox(engine, tenant, "sync.partial")
        finished = unpack(partial, events_pb2.SyncFinished)
        # The early notices name their run, so a consumer can match them with its closing.
        assert {m.sync_id for m in missing} == {finished.sync_id}
        assert finished.event_type == "ban" and not finished.rows_truncated
        assert list(finished.synced_chat_ids) == [chats[2]]


async def test_a_huge_runs_finish_event_is_capped_but_its_counts_are_whole(engine, moderation_tenant,
                                                                          monkeypatch):
    from services.moderation.sync import engine as engine_module

    monkeypatch.setattr(engine_module, "FINISH_EVENT_MAX_ROWS", 2)
    tenant = moderation_tenant
    chats = chat_ids(3, base=-1008350000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, chats, fake=w.fake)
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        (done,) = await outbox(engine, tenant, "sync.completed")
        finished = unpack(done, events_pb2.SyncFinished)
        assert finished.rows_truncated and (finished.total_chats, finished.successful) == (3, 3)
        assert len(finished.sync_logs_ids) == 2 and len(finished.synced_chat_ids) == 2
        assert finished.mean_sync_ms > 0


async def test_429_retry_after_is_waited_out(engine, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(4, base=-1008400000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, chats, fake=w.fake)
        w.fake.fail_next(1, code=429, retry_after=1, method="banChatMember")
        started = time.monotonic()
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        assert time.monotonic() - started >= 0.95
        assert len(w.fake.calls_of("banChatMember", ok=False)) == 1
        assert {r.status for r in await logs(engine, tenant)} == {"success"}
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1


async def test_5xx_storm_opens_the_breaker_then_everything_lands(engine, moderation_tenant):
    tenant = moderation_tenant
    chats = chat_ids(6, base=-1008500000000)
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=0.3)
    async with sync_world(engine, breaker=breaker, max_attempts=5,
                          client_options={"max_attempts": 1}) as w:
        await subscribe(engine, tenant, chats, fake=w.fake)
        w.fake.fail_next(8, code=502)
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        for _ in range(100):  # bounded: the sweeper finishes what was deferred
            if not [r for r in await logs(engine, tenant) if r.status == "pending"]:
                break
            await w.engine.sweep(tenant)
            await asyncio.sleep(0.1)
        assert {r.status for r in await logs(engine, tenant)} == {"success"}
        assert "open" in breaker.transitions and breaker.state == "closed"
        assert breaker.transitions[-1] == "closed"
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1
        assert len(await outbox(engine, tenant, "sync.completed")) == 1


async def test_exhausted_retries_fail_and_dead_letter(engine, redis, moderation_tenant):
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1008600000000)
    async with sync_world(engine, redis=redis, max_attempts=3, inline_horizon=2.0,
                          client_options={"max_attempts": 1}) as w:
        await subscribe(engine, tenant, [chat], fake=w.fake)
        w.fake.fail_next(100, code=500, chat_id=chat)
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        (row,) = await logs(engine, tenant)
        assert (row.status, row.retry_count) == ("failed", 3)
        dead = await redis.xrange(dead_letter_key(tenant, "sync.target"))
        assert len(dead) == 1 and int(dead[0][1][b"target_chat_id"]) == chat
        assert len(await outbox(engine, tenant, "sync.failed")) == 1


async def test_restrict_and_unban_follow_policies_and_unban_never_kicks(engine,
                                                                        moderation_tenant):
    tenant = moderation_tenant
    subscribers = chat_ids(2, base=-1008700000000)
    listed = chat_ids(2, base=-1008800000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, subscribers, fake=w.fake)
        for chat in listed:
            w.fake.add_chat(chat, members={BANNED_USER: "member"})
        # No policy: the default rule does not propagate restrict or unban.
        assert await w.engine.handle_ban_detected(
            ban_envelope(tenant, ban_event_id=10, event_type="restrict")) is None
        await add_policy(engine, tenant, "team/listed", {
            "tenantRef": {"name": tenant}, "events": ["ban", "restrict", "unban"],
            "targets": {"chatIds": listed}, "action": {"mode": "temporary", "duration": "2h"},
            "workers": {"replicas": 0}})
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=11,
                                                        event_type="restrict"))
        for chat in listed:
            assert w.fake.status_of(chat, BANNED_USER) == "restricted"
        assert not w.fake.calls_of("restrictChatMember", chat_id=subscribers[0])
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=12))
        assert all(w.fake.status_of(c, BANNED_USER) == "kicked" for c in listed)
        ban_rows = [r for r in await logs(engine, tenant) if r.ban_event_id == 12]
        assert all(abs(r.until_date - (time.time() + 7200)) < 10 for r in ban_rows)
        # A member who joined one listed chat on their own must stay after an unban.
        w.fake.add_chat(listed[1], members={BANNED_USER: "member"})
        async with engine.begin() as conn:
            from sqlalchemy import text

            await conn.execute(text(
                f'DELETE FROM "t_{tenant}__moderation".sync_logs WHERE target_chat_id = :c'),
                {"c": listed[1]})
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=13,
                                                        event_type="unban"))
        assert w.fake.status_of(listed[0], BANNED_USER) == "left"  # lifted
        assert w.fake.status_of(listed[1], BANNED_USER) == "member"  # untouched
        unbans = w.fake.calls_of("unbanChatMember")
        assert unbans and all(c.params["only_if_banned"] is True for c in unbans)
        # A suspended policy is as good as absent: the default rule (subscribers) applies.
        await add_policy(engine, tenant, "team/listed", {"events": ["ban"], "suspend": True,
                                                         "targets": {"chatIds": listed}},
                         suspended=True)
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=14))
        targets = {r.target_chat_id for r in await logs(engine, tenant) if r.ban_event_id == 14}
        assert targets == set(subscribers)


async def test_chat_settings_disable_delay_and_confirmation(engine, moderation_tenant):
    tenant = moderation_tenant
    off, delayed, confirm = chat_ids(3, base=-1008900000000)
    async with sync_world(engine, inline_horizon=0.2) as w:
        await subscribe(engine, tenant, [off, delayed, confirm], fake=w.fake)
        await set_chat_settings(engine, tenant, off, auto_sync_enabled=False)
        await set_chat_settings(engine, tenant, delayed, sync_delay_seconds=1)
        await set_chat_settings(engine, tenant, confirm, require_confirmation=True)
        sync_id = await w.engine.handle_ban_detected(ban_envelope(tenant))
        status = {r.target_chat_id: r for r in await logs(engine, tenant)}
        assert status[off].status == "skipped" and "disabled" in status[off].error_message
        assert status[delayed].status == "pending" and status[confirm].awaiting_confirmation
        assert not w.fake.calls_of("banChatMember")
        await asyncio.sleep(1.05)
        assert await w.engine.sweep(tenant) == 1  # the delay is over
        assert w.fake.status_of(delayed, BANNED_USER) == "kicked"
        # A chat waiting for its admin does not hold the run open (nobody may ever answer).
        run = await w.engine.status(tenant, sync_id)
        assert run.status == "completed" and run.counts["awaiting"] == 1
        assert await w.engine.confirm(tenant, sync_id, [confirm]) == 1
        with pytest.raises(FailedPrecondition):  # only once
            await w.engine.confirm(tenant, sync_id, [confirm])
        await w.engine.drain()
        assert w.fake.status_of(confirm, BANNED_USER) == "kicked"
        run = await w.engine.status(tenant, sync_id)
        assert run.counts["awaiting"] == 0 and run.counts["success"] == 2


async def test_enforce_on_join_bans_a_covered_user_on_sight(engine, moderation_tenant):
    tenant = moderation_tenant
    synced, subscribed_later, unrelated = chat_ids(3, base=-1009100000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, [synced], fake=w.fake)
        w.fake.add_chat(subscribed_later)
        w.fake.add_chat(unrelated)
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=21))
        # The user is unbanned by hand in the synced chat, then rejoins: banned again.
        w.fake.chats[synced].members[BANNED_USER] = {"status": "member", "until_date": 0}
        result = await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="u1")
        assert result.status == "banned" and result.ban_event_id == 21
        assert w.fake.status_of(synced, BANNED_USER) == "kicked"
        again = await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="u1")
        assert again.error == "already enforced"
        assert len(w.fake.calls_of("banChatMember", chat_id=synced)) == 2
        # A chat whose admin subscribed after the ban is covered too; others are not.
        await add_subscription(engine, tenant, admin_user_id=300,
                               admin_chat_id=subscribed_later)
        assert (await w.engine.enforce_on_join(tenant, subscribed_later, BANNED_USER)
                ).status == "banned"
        assert (await w.engine.enforce_on_join(tenant, unrelated, BANNED_USER)
                ).status == "not_banned"
        assert not w.fake.calls_of("banChatMember", chat_id=unrelated)
        # After an unban event nobody is banned on join.
        await add_policy(engine, tenant, "team/unban", {"events": ["unban"],
                                                        "workers": {"replicas": 0}})
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=22,
                                                        event_type="unban"))
        assert (await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="u2")
                ).status == "not_banned"


async def test_a_policys_rate_limit_is_shared_by_its_workers(engine, redis, moderation_tenant):
    # Two engines stand for two replicas of the policy's worker; rateLimit is for both.
    tenant = moderation_tenant
    listed = chat_ids(4, base=-1008950000000)
    async with sync_world(engine, redis=redis) as w, sync_world(engine, redis=redis) as w2:
        for fake in (w.fake, w2.fake):
            for chat in listed:
                fake.add_chat(chat, members={BANNED_USER: "member"})
        await add_policy(engine, tenant, "team/slow", {
            "events": ["ban"], "targets": {"chatIds": listed}, "rateLimit": {"perSecond": 5},
            "workers": {"replicas": 0}})
        started = time.monotonic()
        await asyncio.gather(w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=30)),
                             w2.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=31)))
        elapsed = time.monotonic() - started
        bans = sorted(c.at for fake in (w.fake, w2.fake) for c in fake.calls_of("banChatMember"))
        assert len(bans) == 8  # every chat of both events, once
        # 8 actions at 5/s across both workers: 7 intervals of 0.2 s at least.
        assert elapsed >= 7 * 0.2 - 0.05 and bans[-1] - bans[0] >= 7 * 0.2 - 0.05
        assert {r.status for r in await logs(engine, tenant)} == {"success"}


async def test_a_row_that_would_wait_too_long_for_the_rate_is_deferred(engine, redis,
                                                                        moderation_tenant):
    tenant = moderation_tenant
    listed = chat_ids(3, base=-1008960000000)
    async with sync_world(engine, redis=redis, rate_wait_max=0.1, inline_horizon=0.0) as w:
        for chat in listed:
            w.fake.add_chat(chat, members={BANNED_USER: "member"})
        await add_policy(engine, tenant, "team/slower", {
            "events": ["ban"], "targets": {"chatIds": listed}, "rateLimit": {"perMinute": 60},
            "workers": {"replicas": 0}})
        sync_id = await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=32))
        rows = await logs(engine, tenant)
        done = [r for r in rows if r.status == "success"]
        waiting = [r for r in rows if r.status == "pending"]
        # One slot a second and no waiting past 0.1 s: one chat now, two deferred.
        assert len(done) == 1 and len(waiting) == 2
        assert all(r.error_message == "SyncPolicy rate limit" and r.attempts == 0 for r in waiting)
        assert len(w.fake.calls_of("banChatMember")) == 1
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and (await w.engine.status(tenant, sync_id)).status == "running":
            await w.engine.sweep(tenant)
            await asyncio.sleep(0.2)
        assert (await w.engine.status(tenant, sync_id)).status == "completed"
        assert len(w.fake.calls_of("banChatMember")) == 3


async def test_a_batch_that_outlasts_its_lease_keeps_it(engine, redis, moderation_tenant):
    # 10 chats, 2 at a time, 0.4 s per ban: the batch takes ~2 s against a 1 s lease.
    # Another worker sweeping meanwhile must find nothing to take over.
    tenant = moderation_tenant
    chats = chat_ids(10, base=-1008970000000)
    async with sync_world(engine, lease_seconds=1.0, concurrency=2, precheck=False) as w, \
            sync_world(engine, lease_seconds=1.0, precheck=False) as other:
        await subscribe(engine, tenant, chats, fake=w.fake)
        for chat in chats:
            other.fake.add_chat(chat, members={BANNED_USER: "member"})
        w.fake.delay_next(len(chats), 0.4, method="banChatMember")
        handled = asyncio.ensure_future(w.engine.handle_ban_detected(ban_envelope(tenant)))
        taken = 0
        while not handled.done():
            taken += await other.engine.sweep(tenant)
            await asyncio.sleep(0.05)
        await handled
        assert taken == 0
        assert len(w.fake.calls_of("banChatMember")) == len(chats)
        assert not other.fake.calls_of("banChatMember")
        rows = await logs(engine, tenant)
        assert {r.status for r in rows} == {"success"} and {r.attempts for r in rows} == {1}


async def test_a_ban_lifted_in_its_source_chat_is_not_enforced_on_join(engine, moderation_tenant):
    tenant = moderation_tenant
    synced, = chat_ids(1, base=-1009150000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, [synced], fake=w.fake)
        await w.engine.handle_ban_detected(ban_envelope(tenant, ban_event_id=31))
        # Without a policy the unban plans no run: it is only a ban event...
        await store_ban_event(engine, tenant, chat_id=-555, event_type="unban")  # ...elsewhere: the ban stands
        w.fake.chats[synced].members[BANNED_USER] = {"status": "member", "until_date": 0}
        assert (await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="j1")
                ).status == "banned"
        await store_ban_event(engine, tenant, chat_id=SOURCE_CHAT, event_type="unban")  # lifted where it began
        w.fake.chats[synced].members[BANNED_USER] = {"status": "member", "until_date": 0}
        bans_before = len(w.fake.calls_of("banChatMember", chat_id=synced))
        result = await w.engine.enforce_on_join(tenant, synced, BANNED_USER, join_ref="j2")
        assert (result.status, result.error) == ("not_banned", "unbanned in the source chat")
        assert len(w.fake.calls_of("banChatMember", chat_id=synced)) == bans_before
        assert w.fake.status_of(synced, BANNED_USER) == "member"


async def test_retry_renews_a_failed_rows_retries(engine, redis, moderation_tenant):
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1008650000000)
    async with sync_world(engine, redis=redis, max_attempts=2, inline_horizon=2.0,
                          backoff_initial=0.05, client_options={"max_attempts": 1}) as w:
        await subscribe(engine, tenant, [chat], fake=w.fake)
        w.fake.fail_next(2, code=500, chat_id=chat)
        sync_id = await w.engine.handle_ban_detected(ban_envelope(tenant))
        (row,) = await logs(engine, tenant)
        assert (row.status, row.retry_count) == ("failed", 2)
        # One more transient failure after the retry: renewed retries absorb it.
        w.fake.fail_next(1, code=500, chat_id=chat)
        assert await w.engine.retry(tenant, sync_id) == 1
        for _ in range(40):
            await w.engine.sweep(tenant)
            (row,) = await logs(engine, tenant)
            if row.status != "pending":
                break
            await asyncio.sleep(0.05)
        assert (row.status, row.retry_count) == ("success", 1)
        assert w.fake.status_of(chat, BANNED_USER) == "kicked"


async def _add_admin(engine, tenant, chat_id: int, user_id: int, role: str = "admin",
                     can_ban: bool = True) -> None:
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "t_{tenant}__moderation".users (user_id) VALUES (:u) '
            "ON CONFLICT DO NOTHING"), {"u": user_id})
        await conn.execute(text(
            f'INSERT INTO "t_{tenant}__moderation".admins (user_id, chat_id, role, can_ban) '
            "VALUES (:u, :c, :r, :b)"), {"u": user_id, "c": chat_id, "r": role, "b": can_ban})


async def test_admins_without_can_ban_get_no_synced_bans(engine, moderation_tenant):
    tenant = moderation_tenant
    allowed, barred, unknown = chat_ids(3, base=-1008660000000)
    async with sync_world(engine) as w:
        await subscribe(engine, tenant, [allowed, barred, unknown], fake=w.fake)
        await _add_admin(engine, tenant, allowed, 100, can_ban=True)
        await _add_admin(engine, tenant, barred, 101, role="moderator", can_ban=False)
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        status = {r.target_chat_id: (r.status, r.error_message) for r in await logs(engine, tenant)}
        assert status[barred] == ("skipped", "the subscribing admin may not ban in this chat")
        assert status[allowed][0] == status[unknown][0] == "success"  # no record: may ban
        assert not w.fake.calls_of("banChatMember", chat_id=barred)


async def test_a_policys_listed_chats_tell_their_own_admin(engine, moderation_tenant):
    tenant = moderation_tenant
    no_rights, fine, orphan = chat_ids(3, base=-1008670000000)
    async with sync_world(engine) as w:
        for chat in (no_rights, fine, orphan):
            w.fake.add_chat(chat, members={BANNED_USER: "member"})
        w.fake.chats[no_rights].bot_can_restrict = False
        await add_policy(engine, tenant, "team/listed", {
            "events": ["ban"], "targets": {"chatIds": [no_rights, fine, orphan]},
            "workers": {"replicas": 0}})
        await _add_admin(engine, tenant, no_rights, 700, role="moderator")
        await _add_admin(engine, tenant, no_rights, 701, role="owner")
        await _add_admin(engine, tenant, fine, 702)
        await w.engine.handle_ban_detected(ban_envelope(tenant))
        missing = [unpack(e, events_pb2.SyncRightsMissing)
                   for e in await outbox(engine, tenant, "sync.failed")
                   if e.payload.TypeName().endswith("SyncRightsMissing")]
        assert [(m.chat_id, m.admin_user_id) for m in missing] == [(no_rights, 701)]  # the owner
        (partial,) = await outbox(engine, tenant, "sync.partial")
        finished = unpack(partial, events_pb2.SyncFinished)
        assert finished.chat_admins[fine] == 702 and finished.chat_admins[no_rights] == 701
        assert finished.chat_admins.get(orphan, 0) == 0  # nobody on record to tell
