"""NotificationService over gRPC: templates, preferences, send and batch validation."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import timestamp_pb2
from sqlalchemy import text
from tenantry.moderation.v1 import events_pb2
from tenantry.notification.v1 import notification_pb2 as pb

from services.kit.bus.events import new_event
from services.kit.status import decode_error
from services.notification.consumers import EventHandlers

from .conftest import bearer


async def _queue_count(engine, tenant: str) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return int((await conn.execute(text(
            f'SELECT count(*) FROM "t_{tenant}__notification".notification_queue'))).scalar_one())


async def test_templates_list_defaults_in_both_languages(api, tenant_name):  # type: ignore[no-untyped-def]
    reply = await api.ListTemplates(pb.ListTemplatesRequest(), metadata=bearer(tenant_name, "member"))
    by_id = {t.id: t for t in reply.templates}
    assert set(by_id) == {"ban_detected", "sync_success", "sync_failed", "subscription_created",
                          "limit_reached", "subscriptions_ended", "system"}
    assert by_id["ban_detected"].texts["ru"].startswith("🚫 Пользователь {username} (ID: {user_id})")
    assert by_id["sync_failed"].texts["en"].endswith("Error: {error}")
    assert not by_id["ban_detected"].customized


async def test_update_template_then_reset(api, tenant_name):  # type: ignore[no-untyped-def]
    meta = bearer(tenant_name)
    reply = await api.UpdateTemplate(pb.UpdateTemplateRequest(
        id="sync_success", texts={"en": "Synced {username} into {chat_name}"}), metadata=meta)
    assert reply.template.customized and reply.template.texts["en"] == "Synced {username} into {chat_name}"
    assert reply.template.texts["ru"].startswith("✅ Бан успешно")
    reply = await api.UpdateTemplate(pb.UpdateTemplateRequest(id="sync_success", texts={"en": ""}),
                                     metadata=meta)
    assert not reply.template.customized


@pytest.mark.parametrize("body", ["Hi {password}", "Hi {username.__class__}", "Hi {username!r}",
                                  "Hi {username", "Hi {0}"])
async def test_update_template_rejects_unknown_placeholder(api, tenant_name, body):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.UpdateTemplate(pb.UpdateTemplateRequest(id="ban_detected", texts={"en": body}),
                                 metadata=bearer(tenant_name))
    decoded = decode_error(info.value)
    assert decoded.code == grpc.StatusCode.INVALID_ARGUMENT
    assert decoded.violations and decoded.violations[0].field == "texts[en]"
    listed = await api.ListTemplates(pb.ListTemplatesRequest(), metadata=bearer(tenant_name))
    assert not next(t for t in listed.templates if t.id == "ban_detected").customized


async def test_update_template_needs_admin_and_known_id(api, tenant_name):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.UpdateTemplate(pb.UpdateTemplateRequest(id="system", texts={"en": "{message}"}),
                                 metadata=bearer(tenant_name, "member"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.UpdateTemplate(pb.UpdateTemplateRequest(id="nope", texts={"en": "x"}),
                                 metadata=bearer(tenant_name))
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


async def test_preferences_round_trip_and_validation(api, tenant_name):  # type: ignore[no-untyped-def]
    meta = bearer(tenant_name)
    got = await api.GetPreferences(pb.GetPreferencesRequest(user_id=5), metadata=meta)
    assert list(got.preferences.channels) == ["telegram"] and got.preferences.language == "ru"
    reply = await api.UpdatePreferences(pb.UpdatePreferencesRequest(
        user_id=5, enabled_types=["ban_detected"], quiet_hours_start="23:00",
        quiet_hours_end="07:00", timezone="Europe/Moscow", language="en",
        channels=["telegram", "webhook"], webhook_url="https://example.test/hook",
        webhook_secret="s" * 20), metadata=meta)
    prefs = reply.preferences
    assert prefs.quiet_hours_start == "23:00" and prefs.webhook_secret_set
    assert "s" * 20 not in str(prefs)  # the secret is never returned
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.UpdatePreferences(pb.UpdatePreferencesRequest(
            user_id=5, quiet_hours_start="25:00", timezone="Mars/Olympus", language="fr",
            channels=["pigeon"]), metadata=meta)
    fields = {v.field for v in decode_error(info.value).violations}
    assert {"quiet_hours_start", "quiet_hours_end", "timezone", "language", "channels[0]"} <= fields
    got = await api.GetPreferences(pb.GetPreferencesRequest(user_id=5), metadata=meta)
    assert got.preferences.timezone == "Europe/Moscow"  # the bad update wrote nothing


async def test_send_queues_and_batch_is_all_or_nothing(api, engine, tenant_name):  # type: ignore[no-untyped-def]
    meta = bearer(tenant_name, "moderator")
    reply = await api.SendNotification(pb.SendNotificationRequest(
        user_id=7, notification_type="system", params={"title": "Hi", "message": "there"}),
        metadata=meta)
    assert [n.status for n in reply.notifications] == ["pending"]
    bad = pb.BatchSendNotificationsRequest(notifications=[
        pb.SendNotificationRequest(user_id=7, notification_type="system"),
        pb.SendNotificationRequest(user_id=-1, notification_type="bogus", priority="loud")])
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.BatchSendNotifications(bad, metadata=meta)
    fields = {v.field for v in decode_error(info.value).violations}
    assert fields == {"notifications[1].user_id", "notifications[1].notification_type",
                      "notifications[1].priority"}
    assert await _queue_count(engine, tenant_name) == 1
    ok = await api.BatchSendNotifications(pb.BatchSendNotificationsRequest(notifications=[
        pb.SendNotificationRequest(user_id=8, notification_type="system"),
        pb.SendNotificationRequest(user_id=9, notification_type="system", priority="urgent")]),
        metadata=meta)
    assert [n.user_id for n in ok.notifications] == [8, 9]
    assert await _queue_count(engine, tenant_name) == 3


async def test_send_needs_a_token_of_the_tenant(api, tenant_name):  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.SendNotification(pb.SendNotificationRequest(user_id=7, notification_type="system"))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.aio.AioRpcError) as info:
        await api.SendNotification(pb.SendNotificationRequest(user_id=7, notification_type="system"),
                                   metadata=bearer(tenant_name, "member"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_preferences_show_the_moderation_on_off_switch(api, notifier, tenant_name):  # type: ignore[no-untyped-def]
    meta = bearer(tenant_name, "member")
    got = await api.GetPreferences(pb.GetPreferencesRequest(user_id=6), metadata=meta)
    assert got.preferences.moderation_notifications_enabled  # on until the user says otherwise
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    await EventHandlers(notifier).user_settings_updated(new_event(
        "user.settings_updated", tenant_name, events_pb2.UserSettingsUpdated(
            user_id=6, notifications_enabled=False, language="en", timezone="UTC",
            updated_at=stamp)))
    got = await api.GetPreferences(pb.GetPreferencesRequest(user_id=6), metadata=meta)
    assert not got.preferences.moderation_notifications_enabled
    assert got.preferences.language == "en"
