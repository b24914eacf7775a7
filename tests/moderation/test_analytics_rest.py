"""Seed 001 §7 through the real gateway: the analytics endpoints under /moderation, fed by the
real chain (REST → moderation outbox → relay → Redis streams → analytics consumer), tenant-scoped."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.main import build as build_analytics
from services.identity.registry import register_tenant
from services.kit.auth import issue_token
from services.kit.bus.events import new_event
from services.kit.bus.relay import OutboxRelay
from services.kit.bus.streams import group_lag
from services.kit.migrations import migrate
from services.kit.naming import stream_key
from services.kit.service import Runtime
from services.moderation.ban_events.grpc import register as register_ban_events
from services.moderation.subscriptions.grpc import register as register_subscriptions
from services.moderation.users.grpc import register as register_users
from tests.moderation.conftest import gateway_client
from tests.support import running

API = "/moderation/api/v1"
ANALYTICS = f"{API}/analytics"
TOPICS = ("subscription.created", "subscription.deleted", "ban.detected", "ban.registered", "sync.completed")
#: The documented fields of each answer (analytics.proto), all present even when zero.
OVERVIEW = {"from", "to", "active_subscriptions", "new_subscriptions", "deleted_subscriptions", "total_bans",
            "unique_banned_users", "active_chats", "total_syncs", "successful_syncs", "failed_syncs",
            "sync_success_rate", "mean_sync_ms"}
SYNC = {"from", "to", "sync_runs", "completed_runs", "partial_runs", "failed_runs", "total_syncs",
        "successful_syncs", "failed_syncs", "skipped_syncs", "success_rate", "mean_sync_ms"}


@pytest.fixture
async def served(database_url: str, redis_url: str) -> AsyncIterator[Runtime]:
    """One in-process server with the analytics API and consumer and the moderation areas that feed it."""
    def build(rt: Runtime) -> None:
        build_analytics(rt)
        register_users(rt)
        register_subscriptions(rt)
        register_ban_events(rt)

    async with running("analytics", build) as rt:
        yield rt


@pytest.fixture
async def tenant(engine: Any, tenant_name: str) -> str:
    await migrate(engine, "moderation", tenant_name)
    await migrate(engine, "analytics", tenant_name)
    return tenant_name


@pytest.fixture
async def rest(served: Runtime, tenant: str, engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(engine, tenant, served) as client:
        yield client


async def settled(redis: Any, tenant: str, timeout: float = 15.0) -> None:
    """Until the analytics group exists on every fed stream and has acknowledged every entry (bounded)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        pending = []
        for topic in TOPICS:
            stream = stream_key(tenant, topic)
            if not await redis.exists(stream):
                continue  # nothing was published there
            groups = {g["name"] if isinstance(g["name"], str) else g["name"].decode()
                      for g in await redis.xinfo_groups(stream)}
            if "analytics" not in groups or await group_lag(redis, stream, "analytics"):
                pending.append(topic)
        if not pending:
            return
        assert loop.time() < deadline, f"analytics did not catch up on {pending}"
        await asyncio.sleep(0.1)


async def feed(rest: httpx.AsyncClient, engine: Any, redis: Any, tenant: str) -> None:
    """Subscriptions and bans through REST, one finished sync run on the bus; wait until aggregated."""
    subs = []
    for tracked in (501, 502, 503):
        r = await rest.post(f"{API}/subscriptions", json={"admin_user_id": 9, "admin_chat_id": -900,
                                                          "tracked_user_id": tracked})
        assert r.status_code == 201, r.text
        subs.append(r.json()["subscription"]["id"])
    assert (await rest.delete(f"{API}/subscriptions/{subs[-1]}")).status_code == 200

    today = [(1, -1, "ban"), (1, -2, "kick"), (2, -1, "restrict"), (3, -3, "unban")]
    r = await rest.post(f"{API}/events/bulk", json={"events": [
        {"event_id": f"a-{i}", "user_id": u, "chat_id": c, "event_type": t, "reason": "spam"}
        for i, (u, c, t) in enumerate(today)]})
    assert r.status_code == 200 and r.json()["created"] == 4, r.text
    # A historical import is not propagated, but it is history: analytics counts it.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = await rest.post(f"{API}/events/bulk", json={"historical": True, "events": [
        {"event_id": "old-1", "user_id": 4, "chat_id": -4, "event_type": "ban", "reason": "spam",
         "event_timestamp": yesterday}]})
    assert r.status_code == 200 and r.json()["created"] == 1, r.text

    await OutboxRelay(engine, redis, "moderation").drain(tenant)
    # The sync worker is not part of this test: its closing of a run goes on the bus as it would.
    run = ev.SyncFinished(ban_event_id=1, sync_id=str(uuid.uuid4()), user_id=1, source_chat_id=-1, total_chats=2,
                          successful=2, failed=0, mean_sync_ms=300, chat_admins={-5: 9, -6: 9},
                          synced_chat_ids=[-5, -6])
    envelope = new_event("sync.completed", tenant, run)
    await redis.xadd(stream_key(tenant, "sync.completed"),
                     {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})
    await settled(redis, tenant)


async def test_analytics_endpoints_answer_the_documented_shape(rest: httpx.AsyncClient, engine: Any, redis: Any,
                                                               tenant: str) -> None:
    await feed(rest, engine, redis, tenant)
    today = datetime.now(UTC).date()
    yesterday = (today - timedelta(days=1)).isoformat()
    week = {"period": "week"}

    r = await rest.get(f"{ANALYTICS}/overview", params=week)
    assert r.status_code == 200, r.text
    overview = r.json()
    assert set(overview) == OVERVIEW
    assert (overview["from"], overview["to"]) == ((today - timedelta(days=6)).isoformat(), today.isoformat())
    # Bans, kicks and restrictions count (the unban does not); the historical import counts.
    assert (overview["total_bans"], overview["unique_banned_users"]) == (4, 3)
    assert (overview["new_subscriptions"], overview["deleted_subscriptions"],
            overview["active_subscriptions"]) == (3, 1, 2)
    assert (overview["total_syncs"], overview["successful_syncs"], overview["failed_syncs"]) == (2, 2, 0)
    assert overview["sync_success_rate"] == pytest.approx(1.0)
    assert overview["mean_sync_ms"] == pytest.approx(300.0)
    assert isinstance(overview["total_bans"], int)  # int64 as a JSON number, not a string
    # Chats -1, -2, -4 (bans) and -5, -6 (received a synced ban).
    assert overview["active_chats"] == 5

    r = await rest.get(f"{ANALYTICS}/subscriptions", params=week)
    assert r.status_code == 200, r.text
    subs = r.json()
    assert (subs["new_subscriptions"], subs["deleted_subscriptions"], subs["net_change"],
            subs["active_subscriptions"]) == (3, 1, 2, 2)
    assert [(d["date"], d["new_subscriptions"], d["deleted_subscriptions"], d["total_subscriptions"])
            for d in subs["days"]] == [(today.isoformat(), 3, 1, 2)]

    r = await rest.get(f"{ANALYTICS}/bans", params=week)
    assert r.status_code == 200, r.text
    bans = r.json()
    assert (bans["total_bans"], bans["unique_banned_users"], bans["active_chats"]) == (4, 3, 5)
    assert {b["event_type"]: b["count"] for b in bans["by_type"]} == {"ban": 2, "kick": 1, "restrict": 1, "unban": 1}
    assert [(d["date"], d["total_bans"]) for d in bans["days"]] == [(yesterday, 1), (today.isoformat(), 3)]

    r = await rest.get(f"{ANALYTICS}/sync", params=week)
    assert r.status_code == 200, r.text
    sync = r.json()
    assert set(sync) == SYNC
    assert (sync["sync_runs"], sync["completed_runs"], sync["partial_runs"], sync["failed_runs"]) == (1, 1, 0, 0)
    assert (sync["total_syncs"], sync["successful_syncs"], sync["skipped_syncs"]) == (2, 2, 0)
    assert sync["success_rate"] == pytest.approx(1.0) and sync["mean_sync_ms"] == pytest.approx(300.0)

    r = await rest.get(f"{ANALYTICS}/top/users", params=week)
    assert r.status_code == 200, r.text
    assert [(u["user_id"], u["ban_count"], u["sync_count"]) for u in r.json()["users"]] == [
        (1, 2, 2), (2, 1, 0), (4, 1, 0)]
    r = await rest.get(f"{ANALYTICS}/top/chats", params={**week, "limit": 3})
    assert r.status_code == 200, r.text
    # Activity = bans made + bans received; ties go to the lower chat id.
    assert [(c["chat_id"], c["ban_count"], c["sync_received_count"]) for c in r.json()["chats"]] == [
        (-1, 2, 0), (-6, 0, 1), (-5, 0, 1)]

    r = await rest.get(f"{ANALYTICS}/timeline", params={"from": yesterday, "to": today.isoformat()})
    assert r.status_code == 200, r.text
    timeline = r.json()
    assert timeline["granularity"] == "day"
    assert [(p["start"], p["total_bans"], p["new_subscriptions"], p["successful_syncs"])
            for p in timeline["points"]] == [(yesterday, 1, 0, 0), (today.isoformat(), 3, 3, 2)]

    for path, params, field in [("overview", {"period": "fortnight"}, "period"),
                                ("top/users", {"limit": 1000}, "limit"),
                                ("timeline", {"granularity": "hour"}, "granularity"),
                                ("bans", {"since": "2026-01-01"}, "since")]:
        r = await rest.get(f"{ANALYTICS}/{path}", params=params)
        assert r.status_code == 422, (path, r.text)
        assert [f["field"] for f in r.json()["error"]["fields"]] == [field]


async def test_another_tenant_sees_zeros(rest: httpx.AsyncClient, engine: Any, redis: Any, tenant: str) -> None:
    await feed(rest, engine, redis, tenant)
    other = tenant + "b"
    await migrate(engine, "analytics", other)
    await register_tenant(engine, name=other, display_name="B", apps=["moderation"], limits={}, retention_days=365)
    token, _ = issue_token("user-2", typ="access", tenant=other, role="owner")
    theirs = {"authorization": f"Bearer {token}"}
    week = {"period": "week"}

    r = await rest.get(f"{ANALYTICS}/overview", params=week, headers=theirs)
    assert r.status_code == 200, r.text
    overview = r.json()
    assert set(overview) == OVERVIEW
    assert {k: v for k, v in overview.items() if k not in ("from", "to")} == dict.fromkeys(OVERVIEW - {"from", "to"}, 0)
    bans = (await rest.get(f"{ANALYTICS}/bans", params=week, headers=theirs)).json()
    assert (bans["total_bans"], bans["by_type"], bans["days"]) == (0, [], [])
    sync = (await rest.get(f"{ANALYTICS}/sync", params=week, headers=theirs)).json()
    assert (sync["sync_runs"], sync["total_syncs"], sync["success_rate"]) == (0, 0, 0)
    assert (await rest.get(f"{ANALYTICS}/top/users", params=week, headers=theirs)).json()["users"] == []
    assert (await rest.get(f"{ANALYTICS}/top/chats", params=week, headers=theirs)).json()["chats"] == []
    subs = (await rest.get(f"{ANALYTICS}/subscriptions", params=week, headers=theirs)).json()
    assert (subs["new_subscriptions"], subs["active_subscriptions"], subs["days"]) == (0, 0, [])
    points = (await rest.get(f"{ANALYTICS}/timeline", params=week, headers=theirs)).json()["points"]
    assert len(points) == 7 and all(p["total_bans"] == p["new_subscriptions"] == 0 for p in points)

    # The first tenant's numbers are untouched by the second one reading.
    mine = (await rest.get(f"{ANALYTICS}/overview", params=week)).json()
    assert mine["total_bans"] == 4
    # A tenant without the analytics app is 404, not zeros.
    token, _ = issue_token("user-3", typ="access", tenant=tenant + "zz", role="owner")
    r = await rest.get(f"{ANALYTICS}/overview", headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 404
