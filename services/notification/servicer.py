"""The gRPC adapter of NotificationService: proto in, domain call, proto out."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2
from tenantry.notification.v1 import notification_pb2 as pb
from tenantry.notification.v1 import notification_pb2_grpc

from services.kit import context
from services.kit.pagination import decode_page_token, encode_page_token, page_size

from . import catalog, store
from .consumers import draft_from_proto
from .dispatcher import APP, Notifier
from .preferences import Preferences, format_hhmm


def _ts(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def _notification(q: store.QueuedNotification) -> pb.Notification:
    return pb.Notification(id=q.id, user_id=q.user_id, notification_type=q.notification_type,
                           channel=q.channel, status=q.status, priority=q.priority,
                           deliver_after=_ts(q.deliver_after))


def _template(t: catalog.TemplateView) -> pb.Template:
    return pb.Template(id=t.id, texts=t.texts, placeholders=list(t.placeholders),
                       customized=t.customized, updated_at=_ts(t.updated_at))


def _preferences(p: Preferences) -> pb.Preferences:
    return pb.Preferences(
        user_id=p.user_id, enabled_types=p.enabled_types,
        quiet_hours_start=format_hhmm(p.quiet_hours_start),
        quiet_hours_end=format_hhmm(p.quiet_hours_end), digest_mode=p.digest_mode,
        digest_interval_hours=p.digest_interval_hours, timezone=p.timezone, language=p.language,
        channels=p.channels, email=p.email or "", webhook_url=p.webhook_url or "",
        webhook_secret_set=bool(p.webhook_secret),
        moderation_notifications_enabled=p.notifications_enabled)


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    """Reads need a member of the tenant; sending needs a moderator; changes need an admin."""

    def __init__(self, notifier: Notifier) -> None:
        self.notifier = notifier

    async def SendNotification(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("moderator")
        queued = await self.notifier.submit(tenant, [draft_from_proto(request)])
        return pb.SendNotificationResponse(notifications=[_notification(q) for q in queued])

    async def BatchSendNotifications(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("moderator")
        drafts = [draft_from_proto(item) for item in request.notifications]
        queued = await self.notifier.submit(tenant, drafts)
        return pb.BatchSendNotificationsResponse(notifications=[_notification(q) for q in queued])

    async def ListTemplates(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("member")
        async with self.notifier.db.session(APP, tenant) as session:
            templates = await catalog.list_templates(session)
        return pb.ListTemplatesResponse(templates=[_template(t) for t in templates])

    async def UpdateTemplate(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        catalog.validate_template_update(request.id, dict(request.texts))
        async with self.notifier.db.session(APP, tenant) as session:
            template = await catalog.update_template(session, request.id, dict(request.texts))
        return pb.UpdateTemplateResponse(template=_template(template))

    async def GetPreferences(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("member")
        async with self.notifier.db.session(APP, tenant) as session:
            prefs, _ = await store.load_preferences(session, request.user_id)
        return pb.GetPreferencesResponse(preferences=_preferences(prefs))

    async def UpdatePreferences(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        update = catalog.PreferencesUpdate(
            user_id=request.user_id, enabled_types=list(request.enabled_types),
            quiet_hours_start=request.quiet_hours_start, quiet_hours_end=request.quiet_hours_end,
            digest_mode=request.digest_mode,
            digest_interval_hours=request.digest_interval_hours
            if request.HasField("digest_interval_hours") else 24,
            timezone=request.timezone or "UTC", language=request.language or "ru",
            channels=list(request.channels) or ["telegram"], email=request.email,
            webhook_url=request.webhook_url,
            webhook_secret=request.webhook_secret if request.HasField("webhook_secret") else None)
        async with self.notifier.db.session(APP, tenant) as session:
            prefs = await catalog.update_preferences(session, update)
        return pb.UpdatePreferencesResponse(preferences=_preferences(prefs))

    async def ListNotificationLogs(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("member")
        size = page_size(request.page.page_size)
        after = decode_page_token(request.page.page_token).get("after")
        async with self.notifier.db.session(APP, tenant) as session:
            rows = await store.list_logs(session, user_id=request.user_id, status=request.status,
                                         after_id=int(after) if after is not None else None,
                                         limit=size + 1)
        more = len(rows) > size
        rows = rows[:size]
        logs = [pb.NotificationLog(
            id=r.id, user_id=r.user_id, notification_type=r.notification_type, channel=r.channel,
            status=r.status, template_id=r.template_id or "", error_message=r.error_message or "",
            sent_at=_ts(r.sent_at), created_at=_ts(r.created_at), attempt=r.attempt)
            for r in rows]
        token = encode_page_token({"after": rows[-1].id}) if more and rows else ""
        return pb.ListNotificationLogsResponse(logs=logs, page={"next_page_token": token})
