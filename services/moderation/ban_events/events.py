"""The bus events a newly stored ban event causes: ``ban.detected`` and ``ban.registered``."""

from __future__ import annotations

from datetime import datetime

from google.protobuf import timestamp_pb2
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, new_event

from .model import BanEventInput

BAN_DETECTED = "ban.detected"
BAN_REGISTERED = "ban.registered"


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(value)
    return ts


def envelopes_for(tenant: str, row_id: int, item: BanEventInput, event_timestamp: datetime,
                  created_at: datetime) -> tuple[EventEnvelope, EventEnvelope]:
    """The ``ban.detected`` and ``ban.registered`` envelopes of one newly stored event."""
    when = _ts(event_timestamp)
    detected = events_pb2.BanDetected(
        ban_event_id=row_id, event_id=item.event_id, user_id=item.user_id, chat_id=item.chat_id,
        event_type=item.event_type, reason=item.reason, initiator_user_id=item.initiator_user_id or 0,
        event_timestamp=when, username=item.username, chat_title=item.chat_title)
    if item.ban_duration is not None:
        detected.ban_duration = item.ban_duration
    registered = events_pb2.BanRegistered(
        ban_event_id=row_id, event_id=item.event_id, user_id=item.user_id, chat_id=item.chat_id,
        event_type=item.event_type, event_timestamp=when)
    return (new_event(BAN_DETECTED, tenant, detected, at=created_at),
            new_event(BAN_REGISTERED, tenant, registered, at=created_at))
