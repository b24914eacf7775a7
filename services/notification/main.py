"""The notification service process: ``tenantry serve notification``."""

from __future__ import annotations

import asyncio

from tenantry.moderation.v1 import subscriptions_pb2
from tenantry.notification.v1 import notification_pb2, notification_pb2_grpc
from tenantry.telegram.v1 import telegram_pb2

from services.kit.service import Runtime
from services.kit.tenants import tenants_with_app

from .channels import EmailChannel, TelegramChannel, WebhookChannel
from .config import NotificationSettings
from .consumers import GROUP, EventHandlers
from .dispatcher import APP, Notifier
from .ratelimit import UserRateLimiter
from .servicer import NotificationServicer
from .subscribers import ModerationSubscribers

DEFAULT_PORT = 50052


def build(rt: Runtime) -> None:
    """Serve NotificationService, consume the moderation events, run the delivery loop."""
    config = NotificationSettings()
    telegram = rt.channel(rt.settings.telegram_addr,
                          telegram_pb2.DESCRIPTOR.services_by_name["TelegramService"])
    moderation = rt.channel(rt.settings.moderation_addr,
                            subscriptions_pb2.DESCRIPTOR.services_by_name["SubscriptionService"])
    notifier = Notifier(
        rt.db, rt.redis,
        {"telegram": TelegramChannel(telegram), "email": EmailChannel(config.smtp()),
         "webhook": WebhookChannel(config.webhook_timeout_seconds)},
        limiter=UserRateLimiter(rt.redis, config.notifications_per_user_per_minute))
    rt.add_servicer(notification_pb2_grpc.add_NotificationServiceServicer_to_server,
                    NotificationServicer(notifier),
                    notification_pb2.DESCRIPTOR.services_by_name["NotificationService"])
    rt.relay(APP)
    rt.consume(GROUP, EventHandlers(notifier, ModerationSubscribers(moderation)).handlers(),
               app=APP)

    async def deliver(stop: asyncio.Event) -> None:
        await notifier.run(stop, lambda: tenants_with_app(rt.db.engine, APP),
                           interval=config.notification_poll_interval_seconds)

    rt.background("notification:deliver", deliver)

