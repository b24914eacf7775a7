"""SharedTokenBucket against real Redis: one schedule for every process, pauses, fallback."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
from redis.asyncio import Redis
from structlog.testing import capture_logs

from services.kit.throttle import SharedTokenBucket


@pytest.fixture
def key() -> str:
    return f"test:throttle:{uuid.uuid4().hex}"


async def _slots(buckets: list[SharedTokenBucket], n: int) -> list[float]:
    """Reserve ``n`` slots round-robin over ``buckets``; each slot's start (monotonic)."""
    starts = []
    for i in range(n):
        before = time.monotonic()
        granted, wait = await buckets[i % len(buckets)].reserve()
        assert granted
        starts.append(before + wait)
    return starts


async def test_two_holders_of_one_key_share_one_rate(redis: Redis, key: str) -> None:
    # Two buckets stand for two replicas: together they get 4/s, not 4/s each. Slots are
    # only reserved (nobody sleeps), so the test is quick; the 250 ms interval leaves room
    # for a slow round trip on a busy machine.
    a, b = SharedTokenBucket(redis, key, 4), SharedTokenBucket(redis, key, 4)
    starts = await _slots([a, b], 10)
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(0.15 < gap < 0.35 for gap in gaps), gaps
    assert 9 * 0.25 - 0.1 < starts[-1] - starts[0] < 9 * 0.25 + 0.1


async def test_other_keys_are_independent(redis: Redis, key: str) -> None:
    a, b = SharedTokenBucket(redis, key, 1), SharedTokenBucket(redis, key + ":other", 1)
    assert (await a.reserve())[1] == 0
    assert (await b.reserve())[1] == 0  # a's schedule does not hold b
    assert (await a.reserve())[1] > 0.8


async def test_burst_goes_at_once_then_paces(redis: Redis, key: str) -> None:
    bucket = SharedTokenBucket(redis, key, 2, burst=3)
    waits = [(await bucket.reserve())[1] for _ in range(5)]
    assert waits[:3] == [0, 0, 0]
    assert 0.4 < waits[3] <= 0.5 and 0.9 < waits[4] <= 1.0


async def test_max_wait_refuses_without_reserving(redis: Redis, key: str) -> None:
    bucket = SharedTokenBucket(redis, key, 1)
    assert await bucket.reserve(max_wait=0.5) == (True, 0)
    granted, wait = await bucket.reserve(max_wait=0.5)
    assert not granted and 0.9 < wait <= 1.0
    # Nothing was taken by the refusal: the next slot is still one interval away.
    granted, wait = await bucket.reserve()
    assert granted and 0.9 < wait <= 1.0


async def test_a_pause_holds_every_holder_and_is_never_shortened(redis: Redis, key: str) -> None:
    a, b = SharedTokenBucket(redis, key, 100), SharedTokenBucket(redis, key, 100)
    await a.pause(1.0)
    await a.pause(0.1)  # a shorter pause must not cut the longer one
    granted, wait = await b.reserve()
    assert granted and 0.8 < wait <= 1.0
    assert 0.8 < await b.paused_for() <= 1.0


async def test_acquire_sleeps_until_the_slot(redis: Redis, key: str) -> None:
    bucket = SharedTokenBucket(redis, key, 5)
    started = time.monotonic()
    for _ in range(3):
        await bucket.acquire()
    assert time.monotonic() - started >= 2 * 0.2 - 0.01


async def test_without_redis_it_paces_in_process(key: str) -> None:
    bucket = SharedTokenBucket(None, key, 2)
    waits = [(await bucket.reserve())[1] for _ in range(3)]
    assert waits[0] == 0 and 0.4 < waits[1] <= 0.5 and 0.9 < waits[2] <= 1.0
    await bucket.pause(0.5)
    assert 0.3 < await bucket.paused_for() <= 0.5


async def test_unreachable_redis_falls_back_to_the_local_schedule(key: str) -> None:
    # A real client of a port nobody listens on: every call fails to connect.
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    try:
        bucket = SharedTokenBucket(dead, key, 2)
        with capture_logs() as logs:
            waits = [(await bucket.reserve())[1] for _ in range(3)]
            await bucket.pause(1.0)
        # Each failed connect takes time too, so the waits are at most the schedule's.
        assert waits[0] == 0 and 0.2 < waits[1] <= 0.5 and 0.6 < waits[2] <= 1.0
        fallbacks = [entry for entry in logs if entry["event"] == "throttle_local_fallback"]
        assert len(fallbacks) == 1  # said once, not per call
        assert 0.5 < await bucket.paused_for() <= 1.0
    finally:
        await dead.aclose()


def test_bad_rates_are_refused() -> None:
    with pytest.raises(ValueError):
        SharedTokenBucket(None, "k", 0)
    with pytest.raises(ValueError):
        SharedTokenBucket(None, "k", 1, burst=0.5)
