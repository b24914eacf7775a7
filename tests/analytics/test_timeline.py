"""The timeline through the database: week, month and year buckets and custom ranges, with
events ingested on chosen days (a fixed "today", so named periods are deterministic)."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time
from typing import Any

import pytest
from google.protobuf import timestamp_pb2
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.ingest import Aggregator
from services.analytics.queries import Analytics
from services.kit.bus.events import new_event
from services.kit.context import Principal
from services.kit.db import Database
from services.kit.migrations import migrate

TODAY = date(2026, 3, 18)  # a Wednesday
#: (day, user, chat, type). 2026-01-28 is a Wednesday; 2026-02-02 and 2026-03-02 are Mondays.
BANS = [
    (date(2025, 12, 31), 7, -7, "ban"),
    (date(2026, 1, 28), 1, -1, "ban"),
    (date(2026, 2, 1), 2, -1, "kick"),
    (date(2026, 2, 2), 1, -2, "restrict"),
    (date(2026, 2, 2), 5, -2, "unban"),  # never a ban: only the per-type counts see it
    (date(2026, 2, 3), 1, -1, "ban"),
    (date(2026, 3, 1), 3, -3, "ban"),
    (date(2026, 3, 2), 3, -3, "ban"),
    (date(2026, 3, 17), 4, -4, "ban"),
]


def _at(day: date) -> datetime:
    return datetime.combine(day, time(12), UTC)


def _ts(day: date) -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(_at(day))
    return ts


@pytest.fixture
async def q(engine: Any, tenant_name: str) -> tuple[Analytics, Principal]:
    await migrate(engine, "analytics", tenant_name)
    db = Database(engine)
    agg = Aggregator(db)
    for day, user, chat, kind in BANS:
        payload = ev.BanDetected(event_id=str(uuid.uuid4()), user_id=user, chat_id=chat, event_type=kind,
                                 event_timestamp=_ts(day))
        await agg.apply("ban.detected", new_event("ban.detected", tenant_name, payload))
    await agg.apply("subscription.created", new_event("subscription.created", tenant_name,
                                                      ev.SubscriptionCreated(subscription_id=1),
                                                      at=_at(date(2026, 2, 5))))
    await agg.apply("subscription.deleted", new_event("subscription.deleted", tenant_name,
                                                      ev.SubscriptionDeleted(subscription_id=1),
                                                      at=_at(date(2026, 3, 2))))
    run = ev.SyncFinished(sync_id=str(uuid.uuid4()), user_id=1, total_chats=3, successful=2, failed=1,
                          mean_sync_ms=100, synced_chat_ids=[-8, -9], errors={-10: "no rights"})
    await agg.apply("sync.partial", new_event("sync.partial", tenant_name, run, at=_at(date(2026, 2, 10))))
    return Analytics(db, today=lambda: TODAY), Principal("u1", tenant_name, "member")


def _points(timeline: dict[str, Any]) -> list[tuple[str, int, int, int, int, int, int]]:
    return [(p["start"], p["total_bans"], p["unique_banned_users"], p["new_subscriptions"],
             p["deleted_subscriptions"], p["total_syncs"], p["successful_syncs"]) for p in timeline["points"]]


async def test_week_buckets_start_on_monday_and_clip_the_first(q):
    analytics, who = q
    timeline = await analytics.timeline(who, since="2026-01-28", until="2026-03-02", granularity="week")
    assert (timeline["from"], timeline["to"], timeline["granularity"]) == ("2026-01-28", "2026-03-02", "week")
    assert _points(timeline) == [
        ("2026-01-28", 2, 2, 0, 0, 0, 0),  # Wed 28 .. Sun 1 Feb: users 1 and 2
        ("2026-02-02", 2, 1, 1, 0, 0, 0),  # user 1 twice (the unban is no ban); the subscription
        ("2026-02-09", 0, 0, 0, 0, 3, 2),  # the sync run: 2 applied + 1 failed attempts
        ("2026-02-16", 0, 0, 0, 0, 0, 0),
        ("2026-02-23", 1, 1, 0, 0, 0, 0),  # Sun 1 Mar belongs to the week of Mon 23 Feb
        ("2026-03-02", 1, 1, 0, 1, 0, 0),  # a one-day bucket: the range ends on its Monday
    ]


async def test_month_buckets_over_a_custom_range(q):
    analytics, who = q
    timeline = await analytics.timeline(who, since="2026-01-28", until="2026-03-02", granularity="month")
    assert _points(timeline) == [
        ("2026-01-28", 1, 1, 0, 0, 0, 0),
        ("2026-02-01", 3, 2, 1, 0, 3, 2),  # users 2 and 1; user 1 on two days counts once
        ("2026-03-01", 2, 1, 0, 1, 0, 0),  # user 3 on two days counts once
    ]


async def test_year_buckets_split_at_new_year(q):
    analytics, who = q
    timeline = await analytics.timeline(who, since="2025-12-30", until="2026-01-31", granularity="year")
    assert _points(timeline) == [("2025-12-30", 1, 1, 0, 0, 0, 0), ("2026-01-01", 1, 1, 0, 0, 0, 0)]


async def test_custom_day_range_leaves_out_the_days_around_it(q):
    analytics, who = q
    timeline = await analytics.timeline(who, since="2026-02-01", until="2026-02-03")
    assert timeline["granularity"] == "day"
    assert _points(timeline) == [("2026-02-01", 1, 1, 0, 0, 0, 0), ("2026-02-02", 1, 1, 0, 0, 0, 0),
                                 ("2026-02-03", 1, 1, 0, 0, 0, 0)]


async def test_named_month_period_in_weeks(q):
    analytics, who = q
    # "month" is the last 30 days up to TODAY: 2026-02-17 .. 2026-03-18.
    timeline = await analytics.timeline(who, "month", granularity="week")
    assert (timeline["from"], timeline["to"]) == ("2026-02-17", "2026-03-18")
    assert _points(timeline) == [
        ("2026-02-17", 0, 0, 0, 0, 0, 0),
        ("2026-02-23", 1, 1, 0, 0, 0, 0),
        ("2026-03-02", 1, 1, 0, 1, 0, 0),
        ("2026-03-09", 0, 0, 0, 0, 0, 0),
        ("2026-03-16", 1, 1, 0, 0, 0, 0),
    ]
    # The default period (a month) in month buckets: clipped February, then March.
    default = await analytics.timeline(who, granularity="month")
    assert _points(default) == [("2026-02-17", 0, 0, 0, 0, 0, 0), ("2026-03-01", 3, 2, 0, 1, 0, 0)]
