"""The transactional outbox: write events in the transaction of the state change.

:func:`enqueue` inserts into the app schema's ``outbox`` table on the caller's
session, so the event commits (or rolls back) with the change that caused it.
A ``NOTIFY`` wakes the relay at commit time; the relay also polls, so a lost
notification only delays an event, never loses it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .events import EventEnvelope

NOTIFY_CHANNEL = "tenantry_outbox"


async def enqueue(session: AsyncSession, *envelopes: EventEnvelope) -> None:
    """Add events to the outbox of the session's schema (commit with the session)."""
    if not envelopes:
        return
    # One statement for the whole batch (unnest), not one round trip per row.
    await session.execute(
        text("INSERT INTO outbox (event_id, topic, envelope) SELECT * FROM "
             "unnest(CAST(:ids AS uuid[]), CAST(:topics AS varchar[]), CAST(:envs AS bytea[]))"),
        {"ids": [uuid.UUID(e.event_id) for e in envelopes], "topics": [e.event_type for e in envelopes],
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
