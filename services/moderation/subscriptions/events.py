"""Envelopes of subscription.created / deleted / limit_reached (payloads: events.proto)."""

from __future__ import annotations

from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, new_event

from .models import Subscription

CREATED = "subscription.created"
DELETED = "subscription.deleted"
LIMIT_REACHED = "subscription.limit_reached"

#: Reasons a subscription.deleted carries.
REASON_DELETED = "deleted"
REASON_CHAT_REMOVED = "chat_removed"
REASON_ADMIN_REMOVED = "admin_removed"
REASON_CHAT_NOT_FOUND = "chat_not_found"
REASON_BOT_REMOVED = "bot_removed"
REASONS = (REASON_DELETED, REASON_CHAT_REMOVED, REASON_ADMIN_REMOVED, REASON_CHAT_NOT_FOUND,
           REASON_BOT_REMOVED)


def created(tenant: str, sub: Subscription) -> EventEnvelope:
    """subscription.created for ``sub``."""
    return new_event(CREATED, tenant, events_pb2.SubscriptionCreated(
        subscription_id=sub.id, admin_user_id=sub.admin_user_id,
        admin_chat_id=sub.admin_chat_id, tracked_user_id=sub.tracked_user_id))


def deleted(tenant: str, sub: Subscription, reason: str, cleanup_id: str = "") -> EventEnvelope:
    """subscription.deleted for ``sub`` with ``reason`` (and the cleanup it was part of)."""
    return new_event(DELETED, tenant, events_pb2.SubscriptionDeleted(
        subscription_id=sub.id, admin_user_id=sub.admin_user_id,
        admin_chat_id=sub.admin_chat_id, tracked_user_id=sub.tracked_user_id, reason=reason,
        cleanup_id=cleanup_id))


def limit_reached(tenant: str, admin_user_id: int, admin_chat_id: int, tracked_user_id: int,
                  limit: int) -> EventEnvelope:
    """subscription.limit_reached for a refused create."""
    return new_event(LIMIT_REACHED, tenant, events_pb2.SubscriptionLimitReached(
        admin_user_id=admin_user_id, admin_chat_id=admin_chat_id, limit=limit,
        tracked_user_id=tracked_user_id))
