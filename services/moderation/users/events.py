"""Envelope of user.settings_updated (payload: events.proto UserSettingsUpdated)."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, new_event

from .models import UserSettings

SETTINGS_UPDATED = "user.settings_updated"


def settings_updated(tenant: str, settings: UserSettings, updated_at: datetime) -> EventEnvelope:
    """user.settings_updated carrying the whole of ``settings`` as of ``updated_at``.

    The free-form ``settings`` object is not carried: no consumer reads it, and
    it may hold up to 16 KiB the bus would copy to every stream reader.
    """
    at = timestamp_pb2.Timestamp()
    at.FromDatetime(updated_at)
    return new_event(SETTINGS_UPDATED, tenant, events_pb2.UserSettingsUpdated(
        user_id=settings.user_id, notifications_enabled=settings.notifications_enabled,
        language=settings.language, timezone=settings.timezone, updated_at=at))
