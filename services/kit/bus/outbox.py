"""The transactional outbox: write events in the transaction of the state change.

:func:`enqueue` inserts into the app schema's ``outbox`` table on the caller's
session, so the event commits (or rolls back) with the change that caused it.
A ``NOTIFY`` wakes the relay at commit time; the relay also polls, so a lost
notification only delays an event, never loses it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .events import EventEnvelope

NOTIFY_CHANNEL = "tenantry_outbox"


@dataclass(frozen=True, slots=True)
class PackedEvent:
    """An envelope already serialized, with the two fields the outbox indexes.

    For bulk producers: building thousands of EventEnvelope messages only to
    serialize them was a large share of a bulk call. ``data`` must be the
    serialization of an :class:`EventEnvelope` with this ``event_id`` and
    ``event_type`` (e.g. :func:`pack_envelope`).
    """

    event_id: str
    event_type: str
    data: bytes

    def SerializeToString(self) -> bytes:
        """The envelope's bytes."""
        return self.data


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _field(tag: bytes, data: bytes) -> bytes:
    return tag + _varint(len(data)) + data if data else b""


class EnvelopePacker:
    """Serialized envelopes sharing tenant, timestamp and headers (one request's batch).

    The bytes are exactly what ``EventEnvelope(...).SerializeToString()`` gives for
    the same fields (fields in number order, the shared ones serialized once by
    protobuf itself); only the per-event id, topic and payload are encoded here.
    """

    def __init__(self, template: EventEnvelope) -> None:
        head = EventEnvelope(tenant=template.tenant)
        if template.HasField("timestamp"):
            head.timestamp.CopyFrom(template.timestamp)
        tail = EventEnvelope()
        tail.headers.update(template.headers)
        self._head = head.SerializeToString()  # fields 3 and 4
        self._tail = tail.SerializeToString()  # field 6
        self._topics: dict[str, bytes] = {}
        self._urls: dict[str, bytes] = {}

    def pack(self, event_id: str, event_type: str, payload_type: str, payload: bytes) -> PackedEvent:
        """The envelope of ``payload`` (a serialized message of full name ``payload_type``)."""
        topic = self._topics.get(event_type)
        if topic is None:
            topic = self._topics[event_type] = _field(b"\x12", event_type.encode())
        url = self._urls.get(payload_type)
        if url is None:
            url = self._urls[payload_type] = _field(b"\x0a", f"type.googleapis.com/{payload_type}".encode())
        body = url + _field(b"\x12", payload)
        data = b"".join((_field(b"\x0a", event_id.encode()), topic, self._head, b"\x2a",
                         _varint(len(body)), body, self._tail))
        return PackedEvent(event_id, event_type, data)


async def enqueue(session: AsyncSession, *envelopes: EventEnvelope | PackedEvent) -> None:
    """Add events to the outbox of the session's schema (commit with the session)."""
    if not envelopes:
        return
    # One statement for the whole batch (unnest), not one round trip per row. A packed
    # event's id was made by its packer (uuid4, canonical text): asyncpg encodes it as is.
    await session.execute(
        text("INSERT INTO outbox (event_id, topic, envelope) SELECT * FROM "
             "unnest(CAST(:ids AS uuid[]), CAST(:topics AS varchar[]), CAST(:envs AS bytea[]))"),
        {"ids": [e.event_id if isinstance(e, PackedEvent) else uuid.UUID(e.event_id) for e in envelopes],
         "topics": [e.event_type for e in envelopes],
         "envs": [e.SerializeToString() for e in envelopes]},
    )
    await session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))


async def mark_processed(session: AsyncSession, consumer: str, event_id: str) -> bool:
    """Record that ``consumer`` handled ``event_id`` in this transaction.

    Returns False when it was already recorded: the caller must then skip the
    effect (a redelivery), which makes the consumer idempotent.
    """
    row = (await session.execute(
        text("INSERT INTO processed_events (consumer, event_id) VALUES (:c, :e) "
             "ON CONFLICT DO NOTHING RETURNING 1"),
        {"c": consumer, "e": event_id},
    )).first()
    return row is not None
