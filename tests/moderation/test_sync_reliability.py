"""Reliability of the sync worker: crashes, redeliveries, a Redis restart and Bot API storms
lose nothing and apply nothing twice (real PostgreSQL, real Redis, the fake Bot API).

The process test starts the real ``tenantry serve sync-worker`` as an OS process and
SIGKILLs it mid fan-out; the others run the worker in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from services.kit.embedded import free_port, start_redis
from services.kit.naming import dead_letter_key, stream_key, tenant_key
from services.moderation.sync.worker import SyncWorker
from services.telegram_api import CircuitBreaker, SharedBotRateLimiter
from services.telegram_api.limits import bot_key
from tests.fakes.moderation_sync import (
    BANNED_USER,
    TOKEN,
    add_subscription,
    ban_envelope,
    chat_ids,
    logs,
    outbox,
    runs,
    sync_world,
)
from tests.fakes.telegram_bot_api import FakeBotApi

ROOT = Path(__file__).resolve().parents[2]


async def publish(redis, tenant, envelope) -> None:
    """XADD an envelope the way the outbox relay does."""
    await redis.xadd(stream_key(tenant, "ban.detected"),
                     {"event_id": envelope.event_id, "envelope": envelope.SerializeToString()})


async def until(predicate, timeout: float, what: str) -> None:
    """Poll ``predicate`` (sync or async) until true, at most ``timeout`` seconds. A Redis
    connection error counts as "not yet": these tests restart Redis under the clients."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            result = predicate()
            if asyncio.iscoroutine(result):
                result = await result
        except (aioredis.ConnectionError, aioredis.TimeoutError):
            result = False
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def setup_chats(engine, tenant, fake, n, base):
    chats = chat_ids(n, base=base)
    for i, chat in enumerate(chats):
        await add_subscription(engine, tenant, admin_user_id=500 + i, admin_chat_id=chat)
        fake.add_chat(chat, members={BANNED_USER: "member"})
    return chats


def worker(w, redis, tenant, name):
    return SyncWorker(w.engine, redis, tenants=[tenant], consumer_name=name, sweep_interval=0.2,
                      claim_idle_ms=300, block_ms=100, retry_base=0.05)


async def test_killed_worker_mid_fan_out_leaves_exactly_one_ban_per_chat(engine, redis,
                                                                         moderation_tenant):
    tenant = moderation_tenant
    async with sync_world(engine, redis=redis, lease_seconds=1.0, concurrency=2) as w:
        chats = await setup_chats(engine, tenant, w.fake, 10, -1007100000000)
        w.fake.delay_next(1000, 0.15, method="banChatMember")  # slow: the crash hits mid-way
        await publish(redis, tenant, ban_envelope(tenant))
        first = worker(w, redis, tenant, "sync-a")
        task = asyncio.create_task(first.consumer.run(asyncio.Event()))
        await until(lambda: _ok_bans(w.fake) >= 3, 10, "some bans")
        task.cancel()  # the worker dies: no ack, leases held, calls in flight
        with contextlib.suppress(asyncio.CancelledError):
            await task
        assert [r for r in await logs(engine, tenant) if r.status == "pending"]
        second = worker(w, redis, tenant, "sync-b")
        stop = asyncio.Event()
        restarted = asyncio.create_task(second.run(stop))
        try:
            await until(lambda: _run_finished(engine, tenant), 20, "the run to finish")
            await until(lambda: _acked(redis, tenant, "sync"), 5, "the message to be acked")
        finally:
            stop.set()
            await asyncio.wait_for(restarted, 10)
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1, chat
        rows = await logs(engine, tenant)
        assert {r.status for r in rows} == {"success"}
        assert any(r.attempts > 1 for r in rows)  # leases of the dead worker were taken over
        assert len(await runs(engine, tenant)) == 1
        assert len(await outbox(engine, tenant, "sync.completed")) == 1


async def test_the_same_event_delivered_five_times_syncs_once(engine, redis, moderation_tenant):
    tenant = moderation_tenant
    async with sync_world(engine, redis=redis) as w:
        chats = await setup_chats(engine, tenant, w.fake, 4, -1007200000000)
        envelope = ban_envelope(tenant, ban_event_id=77)
        for _ in range(5):
            await publish(redis, tenant, envelope)
        consumer = worker(w, redis, tenant, "sync-1")
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await until(lambda: _acked(redis, tenant, "sync", expect_delivered=5), 15,
                        "five deliveries")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        assert len(await runs(engine, tenant)) == 1
        for chat in chats:
            assert len(w.fake.calls_of("banChatMember", chat_id=chat)) == 1
        assert len(await outbox(engine, tenant, "sync.started")) == 1


async def test_a_redis_restart_mid_stream_loses_no_event(engine, moderation_tenant, tmp_path):
    tenant = moderation_tenant
    port = free_port()
    server = start_redis(tmp_path / "redis", port=port)
    client = aioredis.from_url(server.url)
    stop = asyncio.Event()
    task = None
    try:
        async with sync_world(engine, redis=client) as w:
            await setup_chats(engine, tenant, w.fake, 3, -1007300000000)
            w.fake.delay_next(1000, 0.05, method="banChatMember")
            consumer = worker(w, client, tenant, "sync-r")
            task = asyncio.create_task(consumer.run(stop))
            for i in range(1, 7):
                await publish(client, tenant, ban_envelope(tenant, ban_event_id=i))
            await until(lambda: _finished_runs(engine, tenant, 1), 10, "the first sync")
            server.stop()  # mid-stream: some events handled, some not yet
            await asyncio.sleep(0.5)
            server = start_redis(tmp_path / "redis", port=port)  # same port, same AOF
            for i in range(7, 10):
                await _publish_retrying(client, tenant, ban_envelope(tenant, ban_event_id=i))
            await until(lambda: _finished_runs(engine, tenant, 9), 40, "every sync")
            await until(lambda: _acked(client, tenant, "sync"), 10, "every ack")
            finished = {r.ban_event_id for r in await runs(engine, tenant)}
            assert finished == set(range(1, 10))
            per_event_chat = {(r.ban_event_id, r.target_chat_id) for r in await logs(engine, tenant)}
            assert len(per_event_chat) == 27 == len(await logs(engine, tenant))
    finally:
        stop.set()
        if task is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(task, 10)
        await client.aclose()
        server.stop()


async def _publish_retrying(redis, tenant, envelope, timeout: float = 10.0) -> None:
    """Publish as the outbox relay does across a Redis restart: a connection the restart
    closed fails the first call made on it; the relay keeps the row and tries again."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            await publish(redis, tenant, envelope)
            return
        except (aioredis.ConnectionError, aioredis.TimeoutError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def _ok_bans(fake) -> int:
    return len(fake.calls_of("banChatMember", ok=True))


async def _run_finished(engine, tenant) -> bool:
    return any(r.finished_at is not None for r in await runs(engine, tenant))


async def _finished_runs(engine, tenant, n) -> bool:
    return sum(r.finished_at is not None for r in await runs(engine, tenant)) >= n


async def _acked(redis, tenant, group, expect_delivered: int | None = None) -> bool:
    try:
        groups = await redis.xinfo_groups(stream_key(tenant, "ban.detected"))
    except Exception:
        return False
    for info in groups:
        name = info["name"].decode() if isinstance(info["name"], bytes) else info["name"]
        if name != group:
            continue
        length = await redis.xlen(stream_key(tenant, "ban.detected"))
        last = info["last-delivered-id"]
        last = last.decode() if isinstance(last, bytes) else last
        tail = await redis.xrevrange(stream_key(tenant, "ban.detected"), count=1)
        delivered_all = bool(tail) and (tail[0][0].decode() if isinstance(tail[0][0], bytes)
                                        else tail[0][0]) == last
        if expect_delivered is not None and length < expect_delivered:
            return False
        return delivered_all and int(info["pending"]) == 0
    return False


# -- a real worker process, killed with SIGKILL -------------------------------------------------

#: Target chats of the process test, and how slow the fake answers each banChatMember: with
#: the bot's 29 calls/s (getChatMember + banChatMember per chat) the fan-out takes ~3 s.
KILL_CHATS = 40
KILL_BAN_DELAY = 0.4
#: The restarted worker takes the dead one's rows over this long after they were leased; it
#: must exceed the time one worker needs for the whole batch (all 40 rows are leased at once).
KILL_LEASE_SECONDS = 5.0


class InFlightFake(FakeBotApi):
    """The fake Bot API, also counting the requests it received but has not answered yet."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.in_flight: Counter[str] = Counter()

    async def _handle(self, request):
        method = request.match_info["method"]
        self.in_flight[method] += 1
        try:
            return await super()._handle(request)
        finally:
            self.in_flight[method] -= 1


def _tenantry() -> list[str]:
    """The ``tenantry`` console script of this virtualenv (or the module behind it)."""
    script = shutil.which("tenantry", path=str(Path(sys.executable).parent))
    return [script] if script else [sys.executable, "-m", "services.cli"]


class WorkerProcess:
    """``tenantry serve sync-worker --tenant T`` as its own OS process, its logs in a file."""

    def __init__(self, tenant: str, env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log = open(log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            [*_tenantry(), "serve", "sync-worker", "--tenant", tenant, "--port", str(free_port())],
            env=env, cwd=ROOT, stdout=self._log, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        """The end of the process's log, for assertion messages."""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def stop(self) -> None:
        """End the process if it still runs (SIGTERM, then SIGKILL after 10 s) and reap it,
        without blocking the loop the fake Bot API runs on."""
        if self.alive():
            self.proc.terminate()
            with contextlib.suppress(AssertionError):
                await until(lambda: not self.alive(), 10, "the worker to stop")
        if self.alive():
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def _worker_env(database_url: str, redis_url: str, fake: FakeBotApi) -> dict[str, str]:
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "REDIS_URL": redis_url,
        "TELEGRAM_API_BASE": fake.base_url, "TELEGRAM_BOT_TOKEN": TOKEN,
        # The restarted worker reclaims the dead one's pending stream entry after 1 s idle,
        # and its rows once their (short) lease ran out.
        "BUS_CLAIM_IDLE_MS": "1000", "SYNC_LEASE_SECONDS": str(KILL_LEASE_SECONDS),
        "OUTBOX_POLL_INTERVAL_SECONDS": "0.05", "METRICS_PORT": "0", "SHUTDOWN_GRACE_SECONDS": "2",
        "LOG_JSON": "false", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })
    env.pop("GRPC_PORT", None)
    return env


@pytest.mark.e2e
async def test_sigkilled_worker_process_mid_fan_out_bans_every_chat_exactly_once(
        engine, redis, moderation_tenant, database_url, redis_url, tmp_path):
    tenant = moderation_tenant
    async with InFlightFake(token=TOKEN) as fake:
        chats = await setup_chats(engine, tenant, fake, KILL_CHATS, -1007400000000)
        fake.delay_next(10 * KILL_CHATS, KILL_BAN_DELAY, method="banChatMember")
        await publish(redis, tenant, ban_envelope(tenant, ban_event_id=41))
        env = _worker_env(database_url, redis_url, fake)
        workers: list[WorkerProcess] = []
        try:
            first = WorkerProcess(tenant, env, tmp_path / "worker-1.log")
            workers.append(first)
            # Kill it once some chats are banned while other bans are still in flight.
            await until(lambda: (_ok_bans(fake) >= KILL_CHATS // 4
                                 and fake.in_flight["banChatMember"] > 0) or not first.alive(),
                        30, "the first worker's fan-out to be under way")
            assert first.alive(), first.tail()
            os.kill(first.pid, signal.SIGKILL)
            killed_at = time.monotonic()
            # The fake runs on this loop: nothing was answered between the kill and here.
            bans_at_kill, in_flight_at_kill = _ok_bans(fake), fake.in_flight["banChatMember"]
            await until(lambda: not first.alive(), 10, "the killed worker to exit")
            assert first.proc.returncode == -signal.SIGKILL
            assert 0 < bans_at_kill < KILL_CHATS, bans_at_kill  # really mid fan-out
            # The fake still applies the bans that were in flight (as Telegram would): those
            # chats are banned, but the dead worker never recorded it.
            await until(lambda: fake.in_flight["banChatMember"] == 0, 5,
                        "the dead worker's in-flight bans to be answered")
            orphans = {c.chat_id for c in fake.calls_of("banChatMember", ok=True)
                       if c.at > killed_at}
            # At least those in flight at the kill: a request the worker wrote just before it
            # died can still sit in the socket buffer then, and reach the fake a moment later.
            assert len(orphans) >= in_flight_at_kill >= 1
            at_kill = {r.target_chat_id: r for r in await logs(engine, tenant)}
            assert len(at_kill) == KILL_CHATS
            assert all(at_kill[c].status == "pending" for c in orphans)

            second = WorkerProcess(tenant, env, tmp_path / "worker-2.log")
            workers.append(second)
            restarted_at = time.monotonic()
            await until(lambda: _all_final(engine, tenant) if second.alive() else True, 60,
                        "every sync_logs row to be final")
            assert second.alive(), second.tail()
            await until(lambda: _run_finished(engine, tenant), 10, "the run to be closed")
            await until(lambda: _acked(redis, tenant, "sync"), 10,
                        "the dead worker's stream entry to be reclaimed and acked")
            await until(lambda: _stream_len(redis, tenant, "sync.completed"), 10,
                        "sync.completed to be relayed")
        finally:
            for w in workers:
                await w.stop()

        for chat in chats:  # exactly one successful ban per chat, across both processes
            assert len(fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1, chat
        assert len(fake.calls_of("banChatMember")) == KILL_CHATS  # and no failed attempt
        rows = {r.target_chat_id: r for r in await logs(engine, tenant)}
        assert len(rows) == KILL_CHATS and {r.status for r in rows.values()} == {"success"}
        # Rows finished before the kill were left alone by the restarted worker.
        done_before = [c for c, r in at_kill.items() if r.status == "success"]
        assert done_before
        for chat in done_before:
            assert not [c for c in fake.calls_of(chat_id=chat) if c.at > restarted_at], chat
            assert rows[chat].attempts == 1
        # Every row the dead worker held was leased again by the new process...
        taken_over = [c for c, r in at_kill.items() if r.status == "pending"]
        assert len(taken_over) == KILL_CHATS - len(done_before)
        assert all(rows[c].attempts > 1 for c in taken_over)
        # ...and those it had banned without recording it were re-checked with
        # getChatMember (kicked → success), not banned again.
        for chat in orphans:
            assert [c for c in fake.calls_of("getChatMember", chat_id=chat, ok=True)
                    if c.at > restarted_at], chat
            assert not [c for c in fake.calls_of("banChatMember", chat_id=chat)
                        if c.at > restarted_at], chat
        # The run was closed once, by the restarted worker: one outcome event, relayed once.
        (run,) = await runs(engine, tenant)
        assert run.finished_at is not None and run.status == "completed"
        assert len(await outbox(engine, tenant, "sync.started")) == 1
        assert len(await outbox(engine, tenant, "sync.completed")) == 1
        assert not await outbox(engine, tenant, "sync.partial")
        assert not await outbox(engine, tenant, "sync.failed")
        assert await redis.xlen(stream_key(tenant, "sync.completed")) == 1


async def _all_final(engine, tenant) -> bool:
    rows = await logs(engine, tenant)
    return bool(rows) and all(r.status != "pending" for r in rows)


async def _stream_len(redis, tenant, topic) -> int:
    return int(await redis.xlen(stream_key(tenant, topic)))


# -- Bot API storms -----------------------------------------------------------------------------

#: The fake's sustained limit in the 429 storm: well under the bot's own 29/s, so the client's
#: schedule alone would overrun it; only pausing the whole bot on each 429 keeps it in line.
STORM_RATE = 8


async def _storm_429(engine, redis, tenant, n):
    """Fan a ban out to ``n`` chats while the fake allows only STORM_RATE calls a second
    (429 retry_after 1 past it), through the bot's Redis-shared limits and an in-process
    worker; return (fake, seconds until the run was closed, the run's sync_logs rows)."""
    limiter = SharedBotRateLimiter(redis, tenant_key(tenant, "bot", bot_key(TOKEN)))
    # A lease far longer than the storm: the rows are never taken over while being worked on.
    async with sync_world(engine, redis=redis, rate_limit_per_second=STORM_RATE,
                          client_options={"limiter": limiter}, lease_seconds=30.0) as w:
        await setup_chats(engine, tenant, w.fake, n, -1007500000000)
        await publish(redis, tenant, ban_envelope(tenant, ban_event_id=42))
        consumer = worker(w, redis, tenant, "sync-429")
        stop = asyncio.Event()
        started = time.monotonic()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await until(lambda: _run_finished(engine, tenant), 25, "the run to finish")
            elapsed = time.monotonic() - started
            await until(lambda: _acked(redis, tenant, "sync"), 5, "the message to be acked")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        return w.fake, elapsed, await logs(engine, tenant)


def _pauses(fake) -> list[tuple[float, float]]:
    """The pauses the fake's 429s imposed on the bot: [at, at + retry_after], merged."""
    merged: list[tuple[float, float]] = []
    for call in sorted((c for c in fake.calls if c.status == 429), key=lambda c: c.at):
        end = call.at + fake.retry_after
        if merged and call.at <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((call.at, end))
    return merged


async def test_a_429_storm_ends_with_every_chat_banned_once_after_the_pauses(engine, redis,
                                                                             moderation_tenant):
    tenant = moderation_tenant
    n = 20
    fake, elapsed, rows = await _storm_429(engine, redis, tenant, n)
    served_429 = sorted((c for c in fake.calls if c.status == 429), key=lambda c: c.at)
    assert served_429 and served_429[-1].at - served_429[0].at >= fake.retry_after  # sustained
    for chat in {r.target_chat_id for r in rows}:
        assert len(fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1, chat
    assert len(fake.calls_of("banChatMember", ok=True)) == n
    assert len(rows) == n and {r.status for r in rows} == {"success"}
    assert await redis.xlen(dead_letter_key(tenant, "sync.target")) == 0
    assert await redis.xlen(dead_letter_key(tenant, "ban.detected")) == 0
    assert len(await outbox(engine, tenant, "sync.completed")) == 1
    # Each 429 was waited out before its call went again (one row per chat: a method and a
    # chat name one call), so the run lasted at least as long as the pauses the fake
    # imposed, and ended after the last one.
    for refused in served_429:
        again = [c for c in fake.calls if c.at > refused.at and c.method == refused.method
                 and c.chat_id == refused.chat_id]
        assert again and again[0].at - refused.at >= fake.retry_after - 0.05, refused
    last_ok = max(c.at for c in fake.calls if c.ok)
    assert last_ok >= served_429[-1].at + fake.retry_after - 0.05
    assert elapsed >= sum(end - start for start, end in _pauses(fake)) - 0.05


async def test_a_429_storm_pauses_the_whole_bot_instead_of_hammering(engine, redis,
                                                                     moderation_tenant):
    tenant = moderation_tenant
    n = 20
    fake, _, rows = await _storm_429(engine, redis, tenant, n)
    assert {r.status for r in rows} == {"success"}
    pauses = _pauses(fake)
    served_429 = [c for c in fake.calls if c.status == 429]
    # Calls that reached the fake while the bot was told to wait: at most one in flight
    # per pause (sent just before the 429 that started it came back).
    into_pauses = [c for c in fake.calls if any(s < c.at < e for s, e in pauses)]
    assert len(into_pauses) <= len(pauses)
    assert len(served_429) < n  # fewer than one 429 per chat


class RecordingBreaker(CircuitBreaker):
    """A breaker that also notes when each transition happened (monotonic seconds)."""

    def __init__(self, **options) -> None:
        super().__init__(**options)
        self.timeline: list[tuple[float, str]] = []

    def _set(self, state: str) -> None:
        super()._set(state)
        self.timeline.append((time.monotonic(), state))


async def test_a_5xx_storm_opens_the_breaker_half_opens_and_closes(engine, redis,
                                                                   moderation_tenant):
    tenant = moderation_tenant
    n, storm = 10, 14  # more failures than chats: half-open probes fail too
    breaker = RecordingBreaker(failure_threshold=3, reset_timeout=0.3)
    limiter = SharedBotRateLimiter(redis, tenant_key(tenant, "bot", bot_key(TOKEN)))
    async with sync_world(engine, redis=redis, breaker=breaker, max_attempts=10,
                          lease_seconds=30.0,
                          client_options={"max_attempts": 1, "limiter": limiter}) as w:
        chats = await setup_chats(engine, tenant, w.fake, n, -1007600000000)
        w.fake.fail_next(storm, code=503)
        await publish(redis, tenant, ban_envelope(tenant, ban_event_id=43))
        consumer = worker(w, redis, tenant, "sync-5xx")
        stop = asyncio.Event()
        task = asyncio.create_task(consumer.run(stop))
        try:
            await until(lambda: _run_finished(engine, tenant), 20, "the run to finish")
        finally:
            stop.set()
            await asyncio.wait_for(task, 10)
        fake = w.fake
    served_5xx = [c for c in fake.calls if c.status == 503]
    assert len(served_5xx) == storm
    # closed → open → half_open → (open → half_open)* → closed, and nothing else.
    states = breaker.transitions
    assert states[0] == "open" and states[-1] == "closed" and "half_open" in states
    for before, after in pairwise(["closed", *states]):
        assert after in {"closed": {"open"}, "open": {"half_open"},
                         "half_open": {"open", "closed"}}[before], states
    assert states.count("open") >= 2  # a failed probe opened it again
    # Re-opened by a failed probe, it let nothing through until the next half-open: only
    # one probe goes out at a time. (The first opening also lets through the calls of the
    # first wave that were admitted before it and were waiting for the rate limiter.)
    timeline = breaker.timeline
    windows = [(t, after) for (t, state), (after, _) in pairwise(timeline) if state == "open"]
    assert len(windows) == states.count("open")
    for opened, half_open in windows[1:]:
        assert not [c for c in fake.calls if opened < c.at < half_open], (opened, half_open)
    # Outcomes: every chat banned once, every row success, none dead-lettered; each 5xx
    # cost its row one retry, and an open circuit cost none.
    for chat in chats:
        assert len(fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1, chat
    rows = await logs(engine, tenant)
    assert {r.status for r in rows} == {"success"}
    assert sum(r.retry_count for r in rows) == storm
    assert await redis.xlen(dead_letter_key(tenant, "sync.target")) == 0
    assert len(await outbox(engine, tenant, "sync.completed")) == 1
