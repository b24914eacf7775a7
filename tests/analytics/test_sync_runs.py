"""Sync outcomes in analytics: only chats whose row ended ``success`` count as synced, and a
run counts once however often it closes (re-closings, redeliveries, closings read out of order)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from tenantry.analytics.v1 import analytics_pb2 as pb
from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.ingest import Aggregator
from services.analytics.main import build
from services.analytics.queries import Analytics
from services.kit.bus.events import EventEnvelope, new_event
from services.kit.context import Principal
from services.kit.db import Database
from services.kit.migrations import migrate
from services.kit.naming import schema_name
from tests.analytics.test_analytics import publish, settled
from tests.support import bearer, channel, running

USER = 4242


def closing(sync_id: str, *, total: int, synced: Sequence[int] = (), failed: Sequence[int] = (),
            skipped: Sequence[int] = (), mean_ms: int = 0) -> ev.SyncFinished:
    """A SyncFinished as moderation builds it: every finished row of the run, cumulative counts."""
    rows = [*synced, *failed, *skipped]
    return ev.SyncFinished(
        ban_event_id=1, sync_id=sync_id, user_id=USER, source_chat_id=-1, total_chats=total,
        successful=len(synced), failed=len(failed), skipped=len(skipped), sync_logs_ids=range(1, len(rows) + 1),
        errors={c: "no rights" for c in failed}, chat_admins=dict.fromkeys(rows, 9), mean_sync_ms=mean_ms,
        synced_chat_ids=list(synced))


def topic_of(p: ev.SyncFinished) -> str:
    """The topic moderation's engine picks for a closing."""
    if not p.failed:
        return "sync.completed"
    return "sync.failed" if p.successful + p.skipped == 0 else "sync.partial"


async def close(agg: Aggregator, tenant: str, p: ev.SyncFinished, at: datetime | None = None) -> EventEnvelope:
    """Deliver one closing (a new envelope, as each closing is) to the aggregator."""
    envelope = new_event(topic_of(p), tenant, p, at=at)
    await agg.apply(envelope.event_type, envelope)
    return envelope


async def snapshot(q: Analytics, who: Principal, period: str = "week") -> dict[str, Any]:
    """Everything a client can see of the sync numbers."""
    return {"sync": await q.sync(who, period), "overview": await q.overview(who, period),
            "chats": (await q.top_chats(who, period))["chats"], "users": (await q.top_users(who, period))["users"]}


@pytest.fixture
async def setup(engine, tenant_name) -> tuple[Aggregator, Analytics, Principal]:  # type: ignore[no-untyped-def]
    await migrate(engine, "analytics", tenant_name)
    db = Database(engine)
    agg = Aggregator(db)
    # One ban of USER, so the user is in the top-users ranking (it lists banned users only).
    await agg.apply("ban.detected", new_event("ban.detected", tenant_name, ev.BanDetected(
        event_id="b1", user_id=USER, chat_id=-1, event_type="ban")))
    return agg, Analytics(db), Principal("u1", tenant_name, "member")


async def test_skipped_and_failed_chats_are_not_synced(setup, tenant_name):
    agg, q, who = setup
    # -21, -22 applied; -23 skipped (already banned), -24 skipped (auto sync off), -25 failed.
    await close(agg, tenant_name, closing(str(uuid.uuid4()), total=5, synced=[-21, -22], failed=[-25],
                                          skipped=[-23, -24], mean_ms=300))
    seen = await snapshot(q, who)
    sync = seen["sync"]
    assert (sync["sync_runs"], sync["partial_runs"], sync["completed_runs"]) == (1, 1, 0)
    assert (sync["total_syncs"], sync["successful_syncs"], sync["failed_syncs"], sync["skipped_syncs"]) == (3, 2, 1, 2)
    assert sync["success_rate"] == pytest.approx(2 / 3)  # skipped chats are not attempts
    assert sync["mean_sync_ms"] == pytest.approx(300)
    assert seen["overview"]["sync_success_rate"] == pytest.approx(2 / 3)
    # Active: -1 (the ban) and the two chats the ban reached; not the skipped or failed ones.
    assert seen["overview"]["active_chats"] == 3
    # Ties (activity 1 each) by chat id; the skipped -23 and -24 received nothing.
    assert seen["chats"] == [{"chat_id": -22, "ban_count": 0, "sync_received_count": 1},
                             {"chat_id": -21, "ban_count": 0, "sync_received_count": 1},
                             {"chat_id": -1, "ban_count": 1, "sync_received_count": 0}]
    assert seen["users"] == [{"user_id": USER, "ban_count": 1, "sync_count": 2}]


async def test_redelivered_closing_counts_once(engine, redis, tenant_name):
    t = tenant_name
    await migrate(engine, "analytics", t)
    p = closing(str(uuid.uuid4()), total=3, synced=[-51, -52], skipped=[-53], mean_ms=100)
    envelope = new_event(topic_of(p), t, p)
    async with running("analytics", build) as rt:
        ch = channel(rt)
        stub = pb_grpc.AnalyticsServiceStub(ch)
        # At-least-once: the same envelope twice on its stream (a relay re-publish).
        await publish(redis, envelope)
        await publish(redis, envelope)
        await settled(redis, t)
        sync = await stub.GetSyncStats(pb.GetSyncStatsRequest(period="week"), metadata=bearer(tenant=t, role="member"))
        await ch.close()
    assert (sync.sync_runs, sync.completed_runs, sync.successful_syncs, sync.skipped_syncs) == (1, 1, 2, 1)
    assert sync.success_rate == pytest.approx(1.0)
    async with engine.connect() as conn:
        received = (await conn.execute(text(
            f'SELECT chat_id, sum(sync_received_count) FROM "{schema_name("analytics", t)}".analytics_chat_stats '
            "GROUP BY chat_id ORDER BY chat_id"))).all()
    assert [tuple(r) for r in received] == [(-52, 1), (-51, 1)]
    # The same closing under a new event id (moderation emitting it again) is not a new run either.
    agg, q, who = Aggregator(Database(engine)), Analytics(Database(engine)), Principal("u1", t, "member")
    before = await snapshot(q, who)
    await close(agg, t, p)
    assert await snapshot(q, who) == before
    assert before["sync"]["sync_runs"] == 1


async def test_reclosing_replaces_the_runs_earlier_numbers(setup, tenant_name):
    agg, q, who = setup
    run = str(uuid.uuid4())
    yesterday = datetime.now(UTC) - timedelta(days=1)
    await close(agg, tenant_name, closing(run, total=4, synced=[-31, -32], failed=[-33], skipped=[-34],
                                          mean_ms=200), at=yesterday)
    first = (await q.sync(who, "week"))
    assert (first["partial_runs"], first["successful_syncs"], first["failed_syncs"]) == (1, 2, 1)
    # RetrySync: -33 now succeeds; the run closes again with its cumulative counts.
    await close(agg, tenant_name, closing(run, total=4, synced=[-31, -32, -33], skipped=[-34], mean_ms=400))
    seen = await snapshot(q, who)
    sync = seen["sync"]
    assert (sync["sync_runs"], sync["completed_runs"], sync["partial_runs"], sync["failed_runs"]) == (1, 1, 0, 0)
    assert (sync["total_syncs"], sync["successful_syncs"], sync["failed_syncs"], sync["skipped_syncs"]) == (3, 3, 0, 1)
    assert sync["success_rate"] == pytest.approx(1.0)
    assert sync["mean_sync_ms"] == pytest.approx(400)  # the newest mean, over its 3 chats
    received = {c["chat_id"]: c["sync_received_count"] for c in seen["chats"]}
    assert received == {-1: 0, -31: 1, -32: 1, -33: 1}
    assert seen["users"] == [{"user_id": USER, "ban_count": 1, "sync_count": 3}]
    # The run stays on the day it first closed.
    assert (await q.sync(who, "day"))["sync_runs"] == 0
    timeline = await q.timeline(who, since=yesterday.date().isoformat())
    assert [(p["total_syncs"], p["successful_syncs"]) for p in timeline["points"]] == [(3, 3), (0, 0)]


async def test_stale_closing_changes_nothing(setup, tenant_name, engine):
    agg, q, who = setup
    run = str(uuid.uuid4())
    # Closing A: -42 failed, -44 awaits a confirmation. B: RetrySync, -42 applied (same number
    # of finished rows as A). C: ConfirmSync, -44 applied. Read C first, then A and B late.
    a = closing(run, total=4, synced=[-41], failed=[-42], skipped=[-43], mean_ms=100)
    b = closing(run, total=4, synced=[-41, -42], skipped=[-43], mean_ms=150)
    c = closing(run, total=4, synced=[-41, -42, -44], skipped=[-43], mean_ms=200)
    await close(agg, tenant_name, c)
    newest = await snapshot(q, who)
    assert (newest["sync"]["completed_runs"], newest["sync"]["successful_syncs"]) == (1, 3)
    await close(agg, tenant_name, a)
    await close(agg, tenant_name, b)
    assert await snapshot(q, who) == newest

    # Equal finished rows: B read before A; A (a failure B has retried) is the stale one.
    other = str(uuid.uuid4())
    await close(agg, tenant_name, closing(other, total=4, synced=[-61, -62], skipped=[-63]))
    after_b = await snapshot(q, who)
    assert after_b["sync"]["sync_runs"] == 2 and after_b["sync"]["failed_syncs"] == 0
    await close(agg, tenant_name, closing(other, total=4, synced=[-61], failed=[-62], skipped=[-63]))
    assert await snapshot(q, who) == after_b
    async with engine.connect() as conn:
        closings = (await conn.execute(text(
            f'SELECT sync_id, closings FROM "{schema_name("analytics", tenant_name)}".analytics_sync_runs'))).all()
    assert dict(closings) == {run: 1, other: 1}  # the stale ones were not counted as closings
