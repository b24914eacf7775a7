"""GetBanStats for one chat and/or one user (seed 001 §7.1 "по датам, чатам, пользователям"):
bans travel the bus into ``analytics_ban_counts`` and come back over gRPC and through the REST
gateway (``GET /moderation/api/v1/analytics/bans?chat_id=..&user_id=..``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf import timestamp_pb2
from tenantry.analytics.v1 import analytics_pb2 as pb
from tenantry.analytics.v1 import analytics_pb2_grpc as pb_grpc
from tenantry.moderation.v1 import events_pb2 as ev

from services.analytics.main import build
from services.kit.bus.events import new_event
from services.kit.migrations import migrate
from services.kit.service import Runtime
from services.kit.status import decode_error
from tests.analytics.test_analytics import publish, settled
from tests.moderation.conftest import gateway_client
from tests.support import bearer, channel, running

BANS = "/moderation/api/v1/analytics/bans"
NOW = datetime.now(UTC)
TODAY, YESTERDAY = NOW.date().isoformat(), (NOW - timedelta(days=1)).date().isoformat()
#: (event_id, user, chat, type, days ago)
EVENTS = [("e1", 1, -1, "ban", 0), ("e2", 1, -2, "kick", 0), ("e3", 2, -1, "restrict", 0),
          ("e4", 2, -1, "ban", 1), ("e5", 3, -1, "unban", 0), ("e6", 1, -1, "ban", 1), ("e7", 4, -3, "ban", 0)]


async def feed(redis: Any, tenant: str) -> None:
    """Every event as ban.detected, e1 and e4 also as ban.registered (the same bans again)."""
    for event_id, user, chat, kind, ago in EVENTS:
        at = timestamp_pb2.Timestamp()
        at.FromDatetime(NOW - timedelta(days=ago))
        fields = {"event_id": event_id, "user_id": user, "chat_id": chat, "event_type": kind, "event_timestamp": at}
        await publish(redis, new_event("ban.detected", tenant, ev.BanDetected(**fields)))
        if event_id in ("e1", "e4"):
            await publish(redis, new_event("ban.registered", tenant, ev.BanRegistered(**fields)))
    await settled(redis, tenant)


@pytest.fixture
async def served(database_url: str, redis_url: str, engine: Any, redis: Any,
                 tenant_name: str) -> AsyncIterator[Runtime]:
    await migrate(engine, "analytics", tenant_name)
    async with running("analytics", build) as rt:
        await feed(redis, tenant_name)
        yield rt


def _stats(r: Any) -> tuple[int, int, int, dict[str, int], list[tuple[str, int, int, int]]]:
    """(total, users, chats, by type, days) of a GetBanStatsResponse or its JSON."""
    if isinstance(r, dict):
        return (r["total_bans"], r["unique_banned_users"], r["active_chats"],
                {t["event_type"]: t["count"] for t in r["by_type"]},
                [(d["date"], d["total_bans"], d["unique_banned_users"], d["active_chats"]) for d in r["days"]])
    return (r.total_bans, r.unique_banned_users, r.active_chats, {t.event_type: t.count for t in r.by_type},
            [(d.date, d.total_bans, d.unique_banned_users, d.active_chats) for d in r.days])


CHAT_1 = (4, 2, 1, {"ban": 3, "restrict": 1, "unban": 1}, [(YESTERDAY, 2, 2, 1), (TODAY, 2, 2, 1)])
USER_1 = (3, 1, 2, {"ban": 2, "kick": 1}, [(YESTERDAY, 1, 1, 1), (TODAY, 2, 1, 2)])
USER_2_IN_CHAT_1 = (2, 1, 1, {"ban": 1, "restrict": 1}, [(YESTERDAY, 1, 1, 1), (TODAY, 1, 1, 1)])


async def test_ban_stats_of_a_chat_and_of_a_user_over_grpc(served: Runtime, engine: Any, tenant_name: str) -> None:
    ch = channel(served)
    stub = pb_grpc.AnalyticsServiceStub(ch)
    member = bearer(tenant=tenant_name, role="member")

    async def stats(**kw: Any) -> pb.GetBanStatsResponse:
        return await stub.GetBanStats(pb.GetBanStatsRequest(**kw), metadata=member)

    try:
        # Unfiltered: every chat, and the filters' table agrees with the daily one.
        everything = await stats(period="week")
        assert _stats(everything)[:4] == (6, 3, 3, {"ban": 4, "kick": 1, "restrict": 1, "unban": 1})
        assert _stats(await stats(period="week", chat_id=-1)) == CHAT_1
        assert _stats(await stats(period="week", user_id=1)) == USER_1
        assert _stats(await stats(period="week", chat_id=-1, user_id=2)) == USER_2_IN_CHAT_1
        # The period still applies: today only.
        assert _stats(await stats(period="day", chat_id=-1)) == (2, 2, 1, {"ban": 1, "restrict": 1, "unban": 1},
                                                                [(TODAY, 2, 2, 1)])
        assert _stats(await stats(**{"from": YESTERDAY, "to": YESTERDAY, "user_id": 1})) == (
            1, 1, 1, {"ban": 1}, [(YESTERDAY, 1, 1, 1)])
        # Only an unban in chat -1 for user 3: no bans, the unban in its type.
        assert _stats(await stats(period="week", user_id=3)) == (0, 0, 0, {"unban": 1}, [])
        assert _stats(await stats(period="week", chat_id=-99)) == (0, 0, 0, {}, [])
        # Another tenant's chat -1 is its own (empty).
        other = tenant_name + "b"
        await migrate(engine, "analytics", other)
        theirs = await stub.GetBanStats(pb.GetBanStatsRequest(period="week", chat_id=-1),
                                        metadata=bearer(tenant=other, role="member"))
        assert _stats(theirs) == (0, 0, 0, {}, [])

        # Zero (set explicitly) and negative ids are invalid, reported with the period's error at once.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stats(period="fortnight", chat_id=0, user_id=-5)
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert [v.field for v in decode_error(err.value).violations] == ["chat_id", "user_id", "period"]
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await stats(user_id=0)
        assert [v.field for v in decode_error(err.value).violations] == ["user_id"]
    finally:
        await ch.close()


async def test_ban_stats_filters_through_the_gateway(served: Runtime, engine: Any, tenant_name: str) -> None:
    async with gateway_client(engine, tenant_name, served) as rest:
        r = await rest.get(BANS, params={"period": "week", "chat_id": -1})
        assert r.status_code == 200, r.text
        assert _stats(r.json()) == CHAT_1
        r = await rest.get(BANS, params={"period": "week", "user_id": 1})
        assert r.status_code == 200, r.text
        assert _stats(r.json()) == USER_1
        r = await rest.get(BANS, params={"period": "week", "chat_id": "-1", "user_id": "2"})
        assert r.status_code == 200, r.text
        assert _stats(r.json()) == USER_2_IN_CHAT_1
        r = await rest.get(BANS, params={"period": "week"})
        assert r.status_code == 200 and r.json()["total_bans"] == 6, r.text

        for params, fields in [({"chat_id": "abc"}, ["chat_id"]), ({"user_id": "1.5"}, ["user_id"]),
                               ({"chat_id": "0"}, ["chat_id"]), ({"user_id": "-1"}, ["user_id"]),
                               ({"chat_id": "0", "user_id": "0"}, ["chat_id", "user_id"]),
                               ({"user_id": "0", "from": "yesterday"}, ["user_id", "from"]),
                               ({"chat": "-1"}, ["chat"])]:
            r = await rest.get(BANS, params=params)
            assert r.status_code == 422, (params, r.text)
            assert [f["field"] for f in r.json()["error"]["fields"]] == fields, params
