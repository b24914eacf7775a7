"""Stream administration: groups, lag, and trimming by the tenant's retention."""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from ..naming import stream_key
from .topics import TOPIC_GROUPS


async def ensure_group(redis: Redis, stream: str, group: str, start: str = "0") -> bool:
    """Create ``group`` on ``stream`` (and the stream); False if it already existed."""
    try:
        await redis.xgroup_create(stream, group, id=start, mkstream=True)
        return True
    except ResponseError as err:
        if "BUSYGROUP" in str(err):
            return False
        raise


async def ensure_tenant_groups(redis: Redis, tenant: str) -> list[str]:
    """Create every stream and consumer group a tenant needs; return the ones created."""
    created = []
    for topic, groups in TOPIC_GROUPS.items():
        for group in groups:
            if await ensure_group(redis, stream_key(tenant, topic), group):
                created.append(f"{topic}/{group}")
    return created


async def group_lag(redis: Redis, stream: str, group: str) -> int:
    """Entries the group has not been delivered yet, plus those delivered but unacknowledged.

    Redis 7 reports ``lag`` in XINFO GROUPS; Redis 6.2 (the embedded one) does
    not, so we count entries after ``last-delivered-id`` ourselves.
    """
    try:
        groups = await redis.xinfo_groups(stream)
    except ResponseError:
        return 0
    for info in groups:
        name = info.get("name")
        if (name.decode() if isinstance(name, bytes) else name) != group:
            continue
        pending = int(info.get("pending", 0))
        lag = info.get("lag")
        if lag is None:
            last = info.get("last-delivered-id", b"0-0")
            last = last.decode() if isinstance(last, bytes) else last
            lag = len(await redis.xrange(stream, min=f"({last}", max="+", count=100_000))
        return int(lag) + pending
    return 0


async def trim_by_age(redis: Redis, tenant: str, retention_seconds: int) -> int:
    """Trim the tenant's streams to entries younger than ``retention_seconds``."""
    min_id = f"{int((time.time() - retention_seconds) * 1000)}-0"
    removed = 0
    for topic in TOPIC_GROUPS:
        removed += int(await redis.xtrim(stream_key(tenant, topic), minid=min_id, approximate=False))
    return removed
