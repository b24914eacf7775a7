"""The analytics consumer: bus events → per-day aggregates, once per event.

Each handler runs in one transaction on the tenant's analytics schema and
records the event id (``mark_processed``) in that same transaction, so a
redelivery changes nothing. Ban days are the day the ban happened
(``event_timestamp``); subscription and sync days are the envelope's time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime

from google.protobuf import timestamp_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.outbox import mark_processed
from services.kit.db import Database

APP = "analytics"
CONSUMER = "analytics"
SYNC_OUTCOME = {"sync.completed": "completed_runs", "sync.partial": "partial_runs", "sync.failed": "failed_runs"}
TOPICS = ("subscription.created", "subscription.deleted", "ban.detected", "ban.registered", *SYNC_OUTCOME)
_DAILY_COUNTERS = frozenset({
    "new_subscriptions", "deleted_subscriptions", "total_bans", "total_syncs", "successful_syncs", "failed_syncs",
    "skipped_syncs", "sync_runs", "completed_runs", "partial_runs", "failed_runs", "sync_time_ms_total",
    "sync_time_samples", "unique_banned_users", "active_chats"})


def _day(ts: timestamp_pb2.Timestamp) -> date:
    return datetime.fromtimestamp(ts.seconds, UTC).date()


async def _bump_daily(s: AsyncSession, day: date, **add: int) -> None:
    add = {k: v for k, v in add.items() if v}
    if not add:
        return
    assert _DAILY_COUNTERS.issuperset(add), add  # column names are ours, never input
    cols = ", ".join(add)
    sets = ", ".join(f"{c} = analytics_daily.{c} + EXCLUDED.{c}" for c in add)
    await s.execute(text(
        f"INSERT INTO analytics_daily (date, {cols}) VALUES (:date, {', '.join(':' + c for c in add)}) "
        f"ON CONFLICT (date) DO UPDATE SET {sets}, updated_at = now()"), {"date": day, **add})


async def _added(s: AsyncSession, sql: str, params: dict[str, object]) -> bool:
    """Run an INSERT ... ON CONFLICT DO NOTHING RETURNING 1; True when it inserted."""
    return (await s.execute(text(sql), params)).first() is not None


async def _active_chat(s: AsyncSession, day: date, chat_id: int) -> int:
    return int(await _added(s, "INSERT INTO analytics_daily_active_chats (date, chat_id) VALUES (:d, :c) "
                               "ON CONFLICT DO NOTHING RETURNING 1", {"d": day, "c": chat_id}))


class Aggregator:
    """Applies bus events to a tenant's aggregate tables."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def handlers(self) -> dict[str, Callable[[EventEnvelope], Awaitable[None]]]:
        """Topic → handler, for :class:`~services.kit.bus.consumer.BusConsumer` / ``rt.consume``."""
        def bind(topic: str) -> Callable[[EventEnvelope], Awaitable[None]]:
            async def handle(envelope: EventEnvelope) -> None:
                await self.apply(topic, envelope)
            return handle
        return {topic: bind(topic) for topic in TOPICS}

    async def apply(self, topic: str, envelope: EventEnvelope) -> None:
        """Apply one event (a no-op when this consumer already applied its event_id)."""
        async with self.db.session(APP, envelope.tenant) as s:
            if not await mark_processed(s, CONSUMER, envelope.event_id):
                return
            if topic in ("subscription.created", "subscription.deleted"):
                await self._subscription(s, topic == "subscription.created", _day(envelope.timestamp))
            elif topic == "ban.detected":
                p = unpack(envelope, events_pb2.BanDetected)
                await self._ban(s, p.event_id, p.user_id, p.chat_id, p.event_type, p.event_timestamp, envelope)
            elif topic == "ban.registered":
                p = unpack(envelope, events_pb2.BanRegistered)
                await self._ban(s, p.event_id, p.user_id, p.chat_id, p.event_type, p.event_timestamp, envelope)
            elif topic in SYNC_OUTCOME:
                # sync.failed also carries SyncRightsMissing notices; they are not runs.
                if envelope.payload.Is(events_pb2.SyncRightsMissing.DESCRIPTOR):
                    return
                await self._sync(s, SYNC_OUTCOME[topic], unpack(envelope, events_pb2.SyncFinished),
                                 _day(envelope.timestamp))

    async def _subscription(self, s: AsyncSession, created: bool, day: date) -> None:
        total = (await s.execute(text(
            "INSERT INTO analytics_counters (name, value) VALUES ('active_subscriptions', :d) "
            "ON CONFLICT (name) DO UPDATE SET value = analytics_counters.value + EXCLUDED.value, "
            "updated_at = now() RETURNING value"), {"d": 1 if created else -1})).scalar_one()
        await _bump_daily(s, day, **({"new_subscriptions": 1} if created else {"deleted_subscriptions": 1}))
        await s.execute(text("UPDATE analytics_daily SET total_subscriptions = :t WHERE date = :d"),
                        {"t": total, "d": day})

    async def _ban(self, s: AsyncSession, event_id: str, user_id: int, chat_id: int, event_type: str,
                   at: timestamp_pb2.Timestamp, envelope: EventEnvelope) -> None:
        day = _day(at if at.seconds else envelope.timestamp)
        # ban.detected and ban.registered describe the same ban: count it once.
        if not await _added(s, "INSERT INTO analytics_ban_seen (event_id, date) VALUES (:e, :d) "
                               "ON CONFLICT DO NOTHING RETURNING 1", {"e": event_id or envelope.event_id, "d": day}):
            return
        await s.execute(text(
            "INSERT INTO analytics_daily_types (date, event_type, count) VALUES (:d, :t, 1) "
            "ON CONFLICT (date, event_type) DO UPDATE SET count = analytics_daily_types.count + 1"),
            {"d": day, "t": event_type})
        if event_type == "unban":
            return
        new_user = await _added(s, "INSERT INTO analytics_daily_banned_users (date, user_id) VALUES (:d, :u) "
                                   "ON CONFLICT DO NOTHING RETURNING 1", {"d": day, "u": user_id})
        new_chat = await _active_chat(s, day, chat_id)
        await _bump_daily(s, day, total_bans=1, unique_banned_users=int(new_user), active_chats=new_chat)
        await s.execute(text(
            "INSERT INTO analytics_user_stats (user_id, date, ban_count) VALUES (:u, :d, 1) "
            "ON CONFLICT (user_id, date) DO UPDATE SET ban_count = analytics_user_stats.ban_count + 1"),
            {"u": user_id, "d": day})
        await s.execute(text(
            "INSERT INTO analytics_chat_stats (chat_id, date, ban_count) VALUES (:c, :d, 1) "
            "ON CONFLICT (chat_id, date) DO UPDATE SET ban_count = analytics_chat_stats.ban_count + 1"),
            {"c": chat_id, "d": day})

    async def _sync(self, s: AsyncSession, outcome: str, p: events_pb2.SyncFinished, day: date) -> None:
        samples = p.successful if p.mean_sync_ms > 0 else 0
        # Target chats that got the ban: those listed that did not fail (SyncFinished has no
        # explicit success list; skipped chats are indistinguishable here).
        received = sorted(c for c in p.chat_admins if c not in p.errors)
        new_chats = 0
        for chat in received:
            new_chats += await _active_chat(s, day, chat)
            await s.execute(text(
                "INSERT INTO analytics_chat_stats (chat_id, date, sync_received_count) VALUES (:c, :d, 1) "
                "ON CONFLICT (chat_id, date) DO UPDATE SET "
                "sync_received_count = analytics_chat_stats.sync_received_count + 1"), {"c": chat, "d": day})
        await _bump_daily(s, day, sync_runs=1, **{outcome: 1}, total_syncs=p.successful + p.failed,
                          successful_syncs=p.successful, failed_syncs=p.failed, skipped_syncs=p.skipped,
                          sync_time_ms_total=p.mean_sync_ms * samples, sync_time_samples=samples,
                          active_chats=new_chats)
        if p.user_id and p.successful:
            await s.execute(text(
                "INSERT INTO analytics_user_stats (user_id, date, sync_count) VALUES (:u, :d, :n) "
                "ON CONFLICT (user_id, date) DO UPDATE SET sync_count = analytics_user_stats.sync_count + :n"),
                {"u": p.user_id, "d": day, "n": p.successful})
