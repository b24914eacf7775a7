"""Building, packing and reading event envelopes (protobuf, see common/v1/envelope.proto)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from google.protobuf import any_pb2, timestamp_pb2
from google.protobuf.message import Message
from tenantry.common.v1 import envelope_pb2

from .. import context
from ..tracing import inject_headers

EventEnvelope = envelope_pb2.EventEnvelope


def new_event(event_type: str, tenant: str, payload: Message,
              *, event_id: str | None = None, at: datetime | None = None) -> EventEnvelope:
    """An envelope for ``payload`` with a fresh UUID, the time, request id and trace context."""
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(at or datetime.now(UTC))
    packed = any_pb2.Any()
    packed.Pack(payload)
    headers = inject_headers()
    if context.request_id():
        headers["x-request-id"] = context.request_id()
    return EventEnvelope(event_id=event_id or str(uuid.uuid4()), event_type=event_type,
                         tenant=tenant, timestamp=ts, payload=packed, headers=headers)


def unpack(envelope: EventEnvelope, message_type: type[Message]) -> Message:
    """The typed payload of ``envelope``; ValueError if it holds another type."""
    message = message_type()
    if not envelope.payload.Unpack(message):
        raise ValueError(
            f"event {envelope.event_id} carries {envelope.payload.TypeName()}, "
            f"not {message_type.DESCRIPTOR.full_name}")
    return message
