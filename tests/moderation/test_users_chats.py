"""Chats, chat settings and chat admins over a real gRPC server (seed 001 §3)."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from sqlalchemy import text
from tenantry.common.v1 import pagination_pb2
from tenantry.moderation.v1 import events_pb2
from tenantry.moderation.v1 import subscriptions_pb2 as spb
from tenantry.moderation.v1 import subscriptions_pb2_grpc as spb_grpc
from tenantry.moderation.v1 import users_pb2 as pb
from tenantry.moderation.v1 import users_pb2_grpc as pb_grpc

from services.kit.auth import mint_service_token
from services.kit.bus.events import EventEnvelope, unpack
from services.kit.naming import schema_name, tenant_key
from services.telegram.moderation import GrpcModerationClient
from tests.moderation.conftest import auth
from tests.moderation.test_users import count, fails

CHAT = -1001234567890


@pytest.fixture
def chats(moderation_server: Any) -> pb_grpc.ChatServiceStub:
    return pb_grpc.ChatServiceStub(moderation_server[1])


@pytest.fixture
def users(moderation_server: Any) -> pb_grpc.UserServiceStub:
    return pb_grpc.UserServiceStub(moderation_server[1])


@pytest.fixture
def subs(moderation_server: Any) -> spb_grpc.SubscriptionServiceStub:
    return spb_grpc.SubscriptionServiceStub(moderation_server[1])


async def deleted_events(engine: Any, tenant: str) -> list[events_pb2.SubscriptionDeleted]:
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            f'SELECT envelope FROM "{schema_name("moderation", tenant)}".outbox '
            "WHERE topic = 'subscription.deleted' ORDER BY id"))).scalars().all()
    return [unpack(EventEnvelope.FromString(bytes(r)), events_pb2.SubscriptionDeleted) for r in rows]


async def test_register_get_update_chat_settings(chats, moderation_tenant, redis, engine):
    md = auth(moderation_tenant, "admin")
    made = await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT, chat_title="Group"), metadata=md)
    c = made.chat
    assert (c.chat_id, c.chat_title, c.sync_ban_type, c.sync_delay_seconds, c.auto_sync_enabled,
            c.require_confirmation) == (CHAT, "Group", "same", 0, True, False)
    assert not c.HasField("temporary_ban_seconds")
    err = await fails(chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT), metadata=md))
    assert err.code == grpc.StatusCode.ALREADY_EXISTS and err.reason == "chat_exists"

    key = tenant_key(moderation_tenant, "chat_settings", CHAT)
    got = await chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=CHAT),
                                      metadata=auth(moderation_tenant, "member"))
    assert got.chat.chat_title == "Group" and await redis.exists(key)

    out = await chats.UpdateChatSettings(pb.UpdateChatSettingsRequest(
        chat_id=CHAT, sync_ban_type="temporary", temporary_ban_seconds=3600, sync_delay_seconds=60,
        require_confirmation=True), metadata=md)
    assert (out.chat.sync_ban_type, out.chat.temporary_ban_seconds, out.chat.sync_delay_seconds,
            out.chat.require_confirmation, out.chat.chat_title) == ("temporary", 3600, 60, True, "Group")
    assert not await redis.exists(key)
    got = await chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=CHAT), metadata=md)
    assert got.chat.sync_delay_seconds == 60


async def test_chat_settings_validation_and_roles(chats, moderation_tenant, engine):
    md = auth(moderation_tenant, "admin")
    err = await fails(chats.RegisterChat(pb.RegisterChatRequest(
        chat_id=0, sync_ban_type="forever", sync_delay_seconds=-1, chat_title="t" * 300), metadata=md))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT
    assert {v.field for v in err.violations} == {"chat_id", "sync_ban_type", "sync_delay_seconds",
                                                 "chat_title"}
    assert await count(engine, moderation_tenant, "chat_settings") == 0

    await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT), metadata=md)
    err = await fails(chats.UpdateChatSettings(pb.UpdateChatSettingsRequest(
        chat_id=CHAT, sync_delay_seconds=86401, temporary_ban_seconds=5), metadata=md))
    assert {v.field for v in err.violations} == {"sync_delay_seconds", "temporary_ban_seconds"}
    got = await chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=CHAT), metadata=md)
    assert got.chat.sync_delay_seconds == 0

    # Chat settings need role admin; a moderator is refused and nothing changes.
    err = await fails(chats.UpdateChatSettings(pb.UpdateChatSettingsRequest(
        chat_id=CHAT, sync_delay_seconds=5), metadata=auth(moderation_tenant, "moderator")))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    err = await fails(chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=-42), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "chat_not_found"


async def test_admins_add_verify_list_remove_with_cleanup(chats, users, subs, moderation_tenant, engine):
    md = auth(moderation_tenant, "admin")
    await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT), metadata=md)
    for uid in (10, 11, 12, 13):
        await users.CreateUser(pb.CreateUserRequest(user_id=uid), metadata=md)

    added = await chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=10, role="owner"),
                                     metadata=md)
    assert added.created and added.admin.role == "owner" and added.admin.can_ban
    changed = await chats.AddChatAdmin(pb.AddChatAdminRequest(
        chat_id=CHAT, user_id=10, role="moderator", can_ban=False), metadata=md)
    assert not changed.created and changed.admin.id == added.admin.id
    verdict = await chats.VerifyAdmin(pb.VerifyAdminRequest(user_id=10, chat_id=CHAT), metadata=md)
    assert (verdict.is_admin, verdict.role, verdict.can_ban) == (True, "moderator", False)
    verdict = await chats.VerifyAdmin(pb.VerifyAdminRequest(user_id=11, chat_id=CHAT), metadata=md)
    assert (verdict.is_admin, verdict.role, verdict.can_ban) == (False, "", False)

    err = await fails(chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=11, role="boss"),
                                         metadata=md))
    assert [v.field for v in err.violations] == ["role"]
    err = await fails(chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=999), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "user_not_found"
    err = await fails(chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=-5, user_id=11), metadata=md))
    assert err.reason == "chat_not_found"

    for uid in (11, 12, 13):
        await chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=uid), metadata=md)
    first = await chats.ListChatAdmins(pb.ListChatAdminsRequest(
        chat_id=CHAT, page=pagination_pb2.PageRequest(page_size=3)), metadata=md)
    assert [a.user_id for a in first.admins] == [10, 11, 12] and first.page.next_page_token
    second = await chats.ListChatAdmins(pb.ListChatAdminsRequest(
        chat_id=CHAT, page=pagination_pb2.PageRequest(page_size=3, page_token=first.page.next_page_token)),
        metadata=md)
    assert [a.user_id for a in second.admins] == [13] and not second.page.next_page_token

    # Admin 11's subscriptions for this chat are cleaned up when they stop being its admin.
    s1 = await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=11, admin_chat_id=CHAT, tracked_user_id=500), metadata=md)
    other_chat = await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=11, admin_chat_id=-777, tracked_user_id=500), metadata=md)
    removed = await chats.RemoveChatAdmin(pb.RemoveChatAdminRequest(chat_id=CHAT, user_id=11), metadata=md)
    assert removed.subscriptions_deactivated == 1
    check = await subs.CheckSubscription(spb.CheckSubscriptionRequest(
        admin_user_id=11, admin_chat_id=CHAT, tracked_user_id=500), metadata=md)
    assert not check.exists
    check = await subs.CheckSubscription(spb.CheckSubscriptionRequest(
        admin_user_id=11, admin_chat_id=-777, tracked_user_id=500), metadata=md)
    assert check.exists and check.subscription.id == other_chat.subscription.id
    events = await deleted_events(engine, moderation_tenant)
    assert [(e.subscription_id, e.reason) for e in events] == [(s1.subscription.id, "admin_removed")]
    err = await fails(chats.RemoveChatAdmin(pb.RemoveChatAdminRequest(chat_id=CHAT, user_id=11),
                                            metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND and err.reason == "admin_not_found"


async def test_remove_chat_cleans_up_subscriptions_and_admins(chats, users, subs, moderation_tenant,
                                                             engine, redis):
    md = auth(moderation_tenant, "admin")
    await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT), metadata=md)
    await users.CreateUser(pb.CreateUserRequest(user_id=10), metadata=md)
    await chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=10), metadata=md)
    made = [await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=10, admin_chat_id=CHAT, tracked_user_id=t), metadata=md) for t in (501, 502)]
    kept = await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=10, admin_chat_id=-888, tracked_user_id=501), metadata=md)
    # Warm the caches that removal must drop.
    await subs.ListAdminSubscriptions(spb.ListAdminSubscriptionsRequest(admin_id=10, admin_chat_id=CHAT),
                                      metadata=md)
    await subs.ListUserSubscribers(spb.ListUserSubscribersRequest(user_id=501), metadata=md)
    admin_key = tenant_key(moderation_tenant, "subscription", "admin", 10, CHAT)
    user_key = tenant_key(moderation_tenant, "subscription", "user", 501)
    assert await redis.exists(admin_key) and await redis.exists(user_key)

    out = await chats.RemoveChat(pb.RemoveChatRequest(chat_id=CHAT), metadata=md)
    assert (out.subscriptions_deactivated, out.admins_removed) == (2, 1)
    assert not await redis.exists(admin_key) and not await redis.exists(user_key)
    events = await deleted_events(engine, moderation_tenant)
    assert sorted((e.subscription_id, e.reason) for e in events) == sorted(
        (m.subscription.id, "chat_removed") for m in made)
    left = await subs.ListUserSubscribers(spb.ListUserSubscribersRequest(user_id=501), metadata=md)
    assert [s.id for s in left.subscriptions] == [kept.subscription.id]
    err = await fails(chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=CHAT), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND
    assert await count(engine, moderation_tenant, "admins") == 0
    err = await fails(chats.RemoveChat(pb.RemoveChatRequest(chat_id=CHAT), metadata=md))
    assert err.code == grpc.StatusCode.NOT_FOUND


async def test_deactivating_a_user_cleans_up_their_subscriptions(users, subs, chats, moderation_tenant,
                                                                engine):
    md = auth(moderation_tenant, "admin")
    await users.CreateUser(pb.CreateUserRequest(user_id=20), metadata=md)
    await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT), metadata=md)
    await chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=20), metadata=md)
    for t in (601, 602, 603):
        await subs.CreateSubscription(spb.CreateSubscriptionRequest(
            admin_user_id=20, admin_chat_id=CHAT, tracked_user_id=t), metadata=md)
    out = await users.DeactivateUser(pb.DeactivateUserRequest(user_id=20), metadata=md)
    assert out.subscriptions_deactivated == 3
    assert {e.reason for e in await deleted_events(engine, moderation_tenant)} == {"admin_removed"}
    verdict = await chats.VerifyAdmin(pb.VerifyAdminRequest(user_id=20, chat_id=CHAT), metadata=md)
    assert not verdict.is_admin


async def test_bot_removed_from_a_chat_ends_its_subscriptions_and_keeps_the_chat(
        chats, users, subs, moderation_server, moderation_tenant, engine, redis):
    md = auth(moderation_tenant, "admin")
    bot = (("authorization", f"Bearer {mint_service_token('telegram', moderation_tenant)}"),)
    await chats.RegisterChat(pb.RegisterChatRequest(chat_id=CHAT, sync_ban_type="permanent"),
                             metadata=md)
    await users.CreateUser(pb.CreateUserRequest(user_id=10), metadata=md)
    await chats.AddChatAdmin(pb.AddChatAdminRequest(chat_id=CHAT, user_id=10), metadata=md)
    made = [await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=10, admin_chat_id=CHAT, tracked_user_id=t), metadata=md) for t in (501, 502)]
    kept = await subs.CreateSubscription(spb.CreateSubscriptionRequest(
        admin_user_id=10, admin_chat_id=-888, tracked_user_id=501), metadata=md)
    await subs.ListUserSubscribers(spb.ListUserSubscribersRequest(user_id=501), metadata=md)
    user_key = tenant_key(moderation_tenant, "subscription", "user", 501)
    assert await redis.exists(user_key)

    # Bad input and a caller below admin are refused, and nothing changes.
    err = await fails(chats.ReportBotRemoved(pb.ReportBotRemovedRequest(chat_id=CHAT,
                                                                        status="member"), metadata=bot))
    assert err.code == grpc.StatusCode.INVALID_ARGUMENT and [f.field for f in err.violations] == ["status"]
    err = await fails(chats.ReportBotRemoved(pb.ReportBotRemovedRequest(chat_id=0, status="left"),
                                             metadata=bot))
    assert [f.field for f in err.violations] == ["chat_id"]
    err = await fails(chats.ReportBotRemoved(pb.ReportBotRemovedRequest(chat_id=CHAT, status="left"),
                                             metadata=auth(moderation_tenant, "moderator")))
    assert err.code == grpc.StatusCode.PERMISSION_DENIED
    assert not await deleted_events(engine, moderation_tenant)

    # What the bot sends on its my_chat_member update, through its own client.
    bot_client = GrpcModerationClient(moderation_server[1])
    assert await bot_client.bot_removed(moderation_tenant, CHAT, "kicked") == 2
    assert not await redis.exists(user_key)
    events = await deleted_events(engine, moderation_tenant)
    assert sorted((e.subscription_id, e.reason) for e in events) == sorted(
        (m.subscription.id, "bot_removed") for m in made)
    # One cleanup, one id: the admin is told once however many subscriptions it ended.
    assert len({e.cleanup_id for e in events}) == 1 and events[0].cleanup_id
    left = await subs.ListUserSubscribers(spb.ListUserSubscribersRequest(user_id=501), metadata=md)
    assert [s.id for s in left.subscriptions] == [kept.subscription.id]
    # The chat keeps its settings and admins: adding the bot back needs only new subscriptions.
    got = await chats.GetChatSettings(pb.GetChatSettingsRequest(chat_id=CHAT), metadata=md)
    assert got.chat.sync_ban_type == "permanent"
    assert await count(engine, moderation_tenant, "admins") == 1
    # Telegram may send the update again: a repeat ends nothing more.
    again = await chats.ReportBotRemoved(pb.ReportBotRemovedRequest(chat_id=CHAT, status="kicked"),
                                         metadata=bot)
    assert again.subscriptions_deactivated == 0
    assert len(await deleted_events(engine, moderation_tenant)) == 2
