"""The analytics consumer: bus events → per-day aggregates, once per event.

Each handler runs in one transaction on the tenant's analytics schema and
records the event id (``mark_processed``) in that same transaction, so a
redelivery changes nothing. Ban days are the day the ban happened
(``event_timestamp``); subscription days are the envelope's time, and a sync
run is counted on the day of its first closing seen.

A sync run can close several times (RetrySync, ConfirmSync and DeclineSync
reopen it), each closing a new event with the run's cumulative counts, and the
closings travel on different streams (``sync.partial`` / ``sync.completed``),
so they can arrive in any order. The run's last counted snapshot is kept in
``analytics_sync_runs`` / ``analytics_sync_chats``; a closing is applied only
when it is further along than that snapshot, and then only as its difference.

With a :class:`~services.analytics.cache.ResultCache`, an event that changed the
aggregates moves the tenant's cache generation after its transaction committed,
so no cached query result from before it is read again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from google.protobuf import timestamp_pb2
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, unpack
from services.kit.bus.outbox import mark_processed
from services.kit.db import Database

from .cache import ResultCache

APP = "analytics"
CONSUMER = "analytics"
SYNC_OUTCOME = {"sync.completed": "completed", "sync.partial": "partial", "sync.failed": "failed"}
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

    def __init__(self, db: Database, cache: ResultCache | None = None) -> None:
        self.db = db
        self.cache = cache

    def handlers(self) -> dict[str, Callable[[EventEnvelope], Awaitable[None]]]:
        """Topic → handler, for :class:`~services.kit.bus.consumer.BusConsumer` / ``rt.consume``."""
        def bind(topic: str) -> Callable[[EventEnvelope], Awaitable[None]]:
            async def handle(envelope: EventEnvelope) -> None:
                await self.apply(topic, envelope)
            return handle
        return {topic: bind(topic) for topic in TOPICS}

    async def apply(self, topic: str, envelope: EventEnvelope) -> bool:
        """Apply one event (a no-op when this consumer already applied its event_id).

        Returns whether the aggregates changed (then, after the commit, the cache is invalidated).
        A redelivery invalidates too: its first delivery may have died between its commit and
        its invalidation, and one SET is cheaper than a TTL of stale answers.
        """
        async with self.db.session(APP, envelope.tenant) as s:
            first = await mark_processed(s, CONSUMER, envelope.event_id)
            changed = first and await self._apply(s, topic, envelope)
        if (changed or not first) and self.cache is not None:
            await self.cache.invalidate(envelope.tenant)
        return changed

    async def _apply(self, s: AsyncSession, topic: str, envelope: EventEnvelope) -> bool:
        if topic in ("subscription.created", "subscription.deleted"):
            await self._subscription(s, topic == "subscription.created", _day(envelope.timestamp))
            return True
        if topic == "ban.detected":
            p = unpack(envelope, events_pb2.BanDetected)
            return await self._ban(s, p.event_id, p.user_id, p.chat_id, p.event_type, p.event_timestamp, envelope)
        if topic == "ban.registered":
            p = unpack(envelope, events_pb2.BanRegistered)
            return await self._ban(s, p.event_id, p.user_id, p.chat_id, p.event_type, p.event_timestamp, envelope)
        if topic in SYNC_OUTCOME:
            # sync.failed also carries SyncRightsMissing notices; they are not runs.
            if envelope.payload.Is(events_pb2.SyncRightsMissing.DESCRIPTOR):
                return False
            return await self._sync(s, SYNC_OUTCOME[topic], unpack(envelope, events_pb2.SyncFinished), envelope)
        return False

    async def _subscription(self, s: AsyncSession, created: bool, day: date) -> None:
        total = (await s.execute(text(
            "INSERT INTO analytics_counters (name, value) VALUES ('active_subscriptions', :d) "
            "ON CONFLICT (name) DO UPDATE SET value = analytics_counters.value + EXCLUDED.value, "
            "updated_at = now() RETURNING value"), {"d": 1 if created else -1})).scalar_one()
        await _bump_daily(s, day, **({"new_subscriptions": 1} if created else {"deleted_subscriptions": 1}))
        await s.execute(text("UPDATE analytics_daily SET total_subscriptions = :t WHERE date = :d"),
                        {"t": total, "d": day})

    async def _ban(self, s: AsyncSession, event_id: str, user_id: int, chat_id: int, event_type: str,
                   at: timestamp_pb2.Timestamp, envelope: EventEnvelope) -> bool:
        """Count a ban once; False when it was counted already (its other event)."""
        day = _day(at if at.seconds else envelope.timestamp)
        # ban.detected and ban.registered describe the same ban: count it once.
        if not await _added(s, "INSERT INTO analytics_ban_seen (event_id, date) VALUES (:e, :d) "
                               "ON CONFLICT DO NOTHING RETURNING 1", {"e": event_id or envelope.event_id, "d": day}):
            return False
        await s.execute(text(
            "INSERT INTO analytics_daily_types (date, event_type, count) VALUES (:d, :t, 1) "
            "ON CONFLICT (date, event_type) DO UPDATE SET count = analytics_daily_types.count + 1"),
            {"d": day, "t": event_type})
        await s.execute(text(
            "INSERT INTO analytics_ban_counts (chat_id, date, user_id, event_type, count) VALUES (:c, :d, :u, :t, 1) "
            "ON CONFLICT (chat_id, date, user_id, event_type) DO UPDATE SET count = analytics_ban_counts.count + 1"),
            {"c": chat_id, "d": day, "u": user_id, "t": event_type})
        if event_type == "unban":
            return True
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
        return True

    async def _sync(self, s: AsyncSession, status: str, p: events_pb2.SyncFinished,
                    envelope: EventEnvelope) -> bool:
        """Count a run's closing: the whole run when it is new, the difference when it is newer.

        False when the closing is stale or the recorded one again (nothing changed)."""
        new = RunSnapshot.of(status, p)
        run_id = p.sync_id or envelope.event_id  # no run id: the event is its own run
        params = {"s": run_id, "d": _day(envelope.timestamp), "u": p.user_id, "st": status, "ok": new.successful,
                  "f": new.failed, "k": new.skipped, "ms": new.mean_sync_ms, "e": envelope.event_id}
        first = (await s.execute(text(
            "INSERT INTO analytics_sync_runs (sync_id, date, user_id, status, successful, failed, skipped, "
            "mean_sync_ms, event_id) VALUES (:s, :d, :u, :st, :ok, :f, :k, :ms, :e) "
            "ON CONFLICT (sync_id) DO NOTHING RETURNING date"), params)).first()
        old: RunSnapshot | None = None
        if first is not None:
            day = first.date
        else:
            # Locked: the run's other closings may be applied concurrently (other streams).
            row = (await s.execute(text(
                "SELECT date, user_id, status, successful, failed, skipped, mean_sync_ms FROM analytics_sync_runs "
                "WHERE sync_id = :s FOR UPDATE"), {"s": run_id})).one()
            old = RunSnapshot(row.status, row.user_id, row.successful, row.failed, row.skipped, row.mean_sync_ms)
            if new.progress <= old.progress:
                return False  # stale (an earlier closing read late) or the same snapshot again
            day = row.date
            await s.execute(text(
                "UPDATE analytics_sync_runs SET status = :st, user_id = :u, successful = :ok, failed = :f, "
                "skipped = :k, mean_sync_ms = :ms, event_id = :e, closings = closings + 1, updated_at = now() "
                "WHERE sync_id = :s"), params)
        added, removed, new_active = await self._synced_chats(s, run_id, day, set(p.synced_chat_ids),
                                                              first is None)
        # Same lock order as _ban (set tables, analytics_daily, user stats, chat stats), so a
        # ban and a sync of the same day cannot deadlock.
        before = old.contribution() if old else {}
        delta = {k: v - before.get(k, 0) for k, v in new.contribution().items()}
        delta.update({k: -v for k, v in before.items() if k not in delta})
        await _bump_daily(s, day, **delta, active_chats=new_active)
        synced_for = {new.user_id: new.successful}
        if old is not None:
            synced_for[old.user_id] = synced_for.get(old.user_id, 0) - old.successful
        for user, n in synced_for.items():
            if user and n:
                await s.execute(text(
                    "INSERT INTO analytics_user_stats (user_id, date, sync_count) VALUES (:u, :d, :n) "
                    "ON CONFLICT (user_id, date) DO UPDATE SET sync_count = analytics_user_stats.sync_count + :n"),
                    {"u": user, "d": day, "n": n})
        for chat, n in sorted([(c, 1) for c in added] + [(c, -1) for c in removed]):
            await s.execute(text(
                "INSERT INTO analytics_chat_stats (chat_id, date, sync_received_count) VALUES (:c, :d, :n) "
                "ON CONFLICT (chat_id, date) DO UPDATE SET "
                "sync_received_count = analytics_chat_stats.sync_received_count + :n"), {"c": chat, "d": day, "n": n})
        return True

    @staticmethod
    async def _synced_chats(s: AsyncSession, run_id: str, day: date, synced: set[int],
                            known: bool) -> tuple[set[int], set[int], int]:
        """Make the run's recorded synced chats ``synced``.

        Returns the chats added and removed, and how many chats became active on ``day``.
        """
        before: set[int] = set()
        if known:
            before = set((await s.execute(text("SELECT chat_id FROM analytics_sync_chats WHERE sync_id = :s"),
                                          {"s": run_id})).scalars())
        added, removed = synced - before, before - synced
        new_active = 0
        for chat in sorted(added):
            await s.execute(text("INSERT INTO analytics_sync_chats (sync_id, chat_id) VALUES (:s, :c)"),
                            {"s": run_id, "c": chat})
            new_active += await _active_chat(s, day, chat)
        if removed:
            # Moderation never turns a success back, but a closing lists only the run's first
            # 10,000 finished rows (by sync_logs id): when rows finish between closings, a chat
            # can leave that window. The day's active-chat set keeps the chat (it may be active
            # for a ban made there as well).
            await s.execute(text("DELETE FROM analytics_sync_chats "
                                 "WHERE sync_id = :s AND chat_id = ANY(CAST(:c AS bigint[]))"),
                            {"s": run_id, "c": sorted(removed)})
        return added, removed, new_active


@dataclass(frozen=True)
class RunSnapshot:
    """One closing's view of a sync run: what the run adds to its day's aggregates."""

    status: str
    user_id: int
    successful: int
    failed: int
    skipped: int
    mean_sync_ms: int

    @classmethod
    def of(cls, status: str, p: events_pb2.SyncFinished) -> RunSnapshot:
        """The snapshot a ``SyncFinished`` of topic ``sync.<status>`` carries."""
        return cls(status, p.user_id, p.successful, p.failed, p.skipped, p.mean_sync_ms)

    @property
    def progress(self) -> tuple[int, int]:
        """Orders a run's closings, newest greatest.

        A run closes only when no row is pending, and between closings rows only move
        forward: awaiting rows finish (ConfirmSync / DeclineSync), so the finished rows
        never decrease, and failed rows are retried
        (RetrySync) while success and skipped are final, so at equal finished rows
        success + skipped never decreases. Two closings with equal progress have the
        same successful, failed and skipped rows, hence the same contribution. The
        counts are used rather than ``sync_logs_ids``: moderation lists at most its
        ``FINISH_EVENT_MAX_ROWS`` (10,000) finished rows per closing (``rows_truncated``
        says so), while the counts are always the whole run's.
        """
        return self.successful + self.failed + self.skipped, self.successful + self.skipped

    def contribution(self) -> dict[str, int]:
        """The daily counters this snapshot adds; skipped chats are not attempts."""
        samples = self.successful if self.mean_sync_ms > 0 else 0
        return {"sync_runs": 1, f"{self.status}_runs": 1, "total_syncs": self.successful + self.failed,
                "successful_syncs": self.successful, "failed_syncs": self.failed, "skipped_syncs": self.skipped,
                "sync_time_ms_total": self.mean_sync_ms * samples, "sync_time_samples": samples}
