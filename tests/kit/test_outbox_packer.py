"""EnvelopePacker: the same envelope bytes as building and serializing an EventEnvelope."""

from __future__ import annotations

import uuid

from google.protobuf import any_pb2, timestamp_pb2
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.outbox import EnvelopePacker, PackedEvent


def _reference(event_id: str, topic: str, template: EventEnvelope, payload) -> EventEnvelope:  # type: ignore[no-untyped-def]
    packed = any_pb2.Any()
    packed.Pack(payload)
    env = EventEnvelope(event_id=event_id, event_type=topic, tenant=template.tenant, payload=packed,
                        headers=dict(template.headers))
    if template.HasField("timestamp"):
        env.timestamp.CopyFrom(template.timestamp)
    return env


def test_packed_envelopes_equal_built_ones():
    ts = timestamp_pb2.Timestamp(seconds=1_700_000_000, nanos=5)
    payloads = [events_pb2.BanDetected(ban_event_id=2 ** 40, event_id="e-1", user_id=7, chat_id=-100123,
                                       event_type="ban", reason="spam é" * 50, event_timestamp=ts),
                events_pb2.BanRegistered(ban_event_id=1, event_id="e-1", user_id=7, chat_id=-1),
                events_pb2.BanRegistered()]  # an empty payload
    templates = [EventEnvelope(tenant="acme", timestamp=ts, headers={"x-request-id": "r1"}),
                 EventEnvelope(tenant="acme", timestamp=ts,
                               headers={"x-request-id": "r1", "traceparent": "00-ab-cd-01"}),
                 EventEnvelope(tenant="acme"), EventEnvelope()]
    for template in templates:
        packer = EnvelopePacker(template)
        for payload in payloads:
            for topic in ("ban.detected", "ban.registered"):
                event_id = str(uuid.uuid4())
                packed = packer.pack(event_id, topic, payload.DESCRIPTOR.full_name, payload.SerializeToString())
                assert isinstance(packed, PackedEvent)
                assert (packed.event_id, packed.event_type) == (event_id, topic)
                expected = _reference(event_id, topic, template, payload)
                parsed = EventEnvelope()
                parsed.ParseFromString(packed.SerializeToString())
                assert parsed == expected
                assert unpack(parsed, type(payload)) == payload
                if len(template.headers) <= 1:  # map order aside, the bytes are identical
                    assert packed.SerializeToString() == expected.SerializeToString()
