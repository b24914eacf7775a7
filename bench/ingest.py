"""Ingestion benchmark: ban events through the bulk gRPC path vs. a seed-style FastAPI baseline.

    python bench/ingest.py [--seconds 10] [--batch 5000] [--callers 2] [--baseline-concurrency 32]

Needs PostgreSQL and Redis (``DATABASE_URL`` / ``REDIS_URL``, default this
machine's). It creates a throw-away database ``tenantry_bench_<hex>`` and a
unique tenant, and drops the database at the end.

Tenantry path: a real ``moderation`` process (ban events servicer + the kit's
OutboxRelay, exactly as ``services/moderation/main.py`` wires them) runs in a
child process; this process calls BulkRegisterBanEvents over gRPC with a JWT
for ``--seconds`` and watches the tenant's ``ban.detected`` stream. Latency
"register → dispatch" is from the start of the bulk call to the event's
ban.detected entry appearing in Redis, where the sync engine's dispatch starts.

Baseline: a single-process FastAPI + SQLAlchemy app written the way seed 001
sketches the Ban Event Service: one POST per event, Redis dedupe key
``event_processed:{event_id}``, one INSERT into the seed's ``ban_events`` table
(with the seed's indexes), commit, then publish ``ban.detected`` (XADD). The
latency is the same: request start → entry in the stream.

Prints a Markdown report (machine, throughput, latency percentiles, ratios).
Measures; never gates CI.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# ---------------------------------------------------------------------------------------------
# Child processes
# ---------------------------------------------------------------------------------------------


def _serve_moderation(port: int) -> None:
    """Child: the ban event API and the moderation outbox relay (as the real process wires them;
    with ``TENANTRY_OUTBOX_RELAY=separate`` the relay runs in its own child, below)."""
    from services.kit.logs import configure_logging
    from services.kit.service import Runtime, run_async

    configure_logging("moderation", "WARNING", True)
    from services.moderation.ban_events.grpc import register

    async def main() -> None:
        rt = Runtime("moderation", port=port, metrics=False)
        register(rt)
        rt.relay("moderation")
        await rt.run()

    run_async(main())


def _serve_relay(port: int) -> None:
    """Child: the relay role (``services.kit.service.serve_relay``) for the moderation app."""
    from services.kit.logs import configure_logging
    from services.kit.service import serve_relay

    configure_logging("relay", "WARNING", True)
    serve_relay("moderation", port=port, metrics=False)


BASELINE_SCHEMA = "bench_baseline"
BASELINE_DDL = [
    f"CREATE SCHEMA IF NOT EXISTS {BASELINE_SCHEMA}",
    f"""CREATE TABLE {BASELINE_SCHEMA}.ban_events (
        id BIGSERIAL PRIMARY KEY,
        event_id VARCHAR(255) UNIQUE NOT NULL,
        user_id BIGINT NOT NULL,
        chat_id BIGINT NOT NULL,
        event_type VARCHAR(50) NOT NULL,
        ban_duration BIGINT,
        reason TEXT,
        initiator_user_id BIGINT,
        event_timestamp TIMESTAMP NOT NULL,
        created_at TIMESTAMP DEFAULT NOW(),
        metadata JSONB DEFAULT '{{}}')""",
    f"CREATE INDEX idx_ban_events_user ON {BASELINE_SCHEMA}.ban_events(user_id, event_timestamp DESC)",
    f"CREATE INDEX idx_ban_events_chat ON {BASELINE_SCHEMA}.ban_events(chat_id, event_timestamp DESC)",
    f"CREATE INDEX idx_ban_events_timestamp ON {BASELINE_SCHEMA}.ban_events(event_timestamp DESC)",
    f"CREATE INDEX idx_ban_events_type ON {BASELINE_SCHEMA}.ban_events(event_type)",
]


class BanEventIn(BaseModel):
    """The seed's ban event body (module level: FastAPI resolves annotations by name)."""

    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int | None = None
    reason: str | None = None
    initiator_user_id: int | None = None
    event_timestamp: datetime


def _serve_baseline(port: int) -> None:
    """Child: the seed-style FastAPI service (one INSERT and one publish per request)."""
    import json

    import redis.asyncio as aioredis
    import uvicorn
    from fastapi import FastAPI, HTTPException
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+asyncpg://", 1)
    engine = create_async_engine(url, pool_size=20, max_overflow=20)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    rds = aioredis.from_url(os.environ["REDIS_URL"])
    stream = os.environ["BENCH_BASELINE_STREAM"]
    app = FastAPI()

    @app.post("/api/v1/events/ban", status_code=201)
    async def register(event: BanEventIn) -> dict[str, object]:
        if not await rds.set(f"event_processed:{event.event_id}", "1", ex=3600, nx=True):
            raise HTTPException(409, "duplicate")
        async with sessions() as session:
            row = (await session.execute(text(
                f"INSERT INTO {BASELINE_SCHEMA}.ban_events (event_id, user_id, chat_id, event_type, ban_duration, "
                "reason, initiator_user_id, event_timestamp) VALUES (:event_id, :user_id, :chat_id, :event_type, "
                ":ban_duration, :reason, :initiator_user_id, :event_timestamp) RETURNING id"),
                event.model_dump())).scalar_one()
            await session.commit()
        payload = {"ban_event_id": row, "user_id": event.user_id, "chat_id": event.chat_id,
                   "ban_type": "permanent" if event.ban_duration is None else "temporary",
                   "reason": event.reason, "initiator_user_id": event.initiator_user_id,
                   "event_id": event.event_id}
        await rds.xadd(stream, {"event_type": "ban.detected", "payload": json.dumps(payload)})
        return {"id": row, "event_id": event.event_id}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _spawn(mode: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, __file__, f"--{mode}", str(port)], env=env, cwd=str(ROOT))


async def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise TimeoutError(f"port {port} did not open")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"nproc": str(os.cpu_count()), "cpu": cpu, "python": platform.python_version(),
            "os": f"{platform.system()} {platform.release()}"}


async def _watch(redis, stream: str, arrivals: dict[str, float], want: int, stop: asyncio.Event,  # type: ignore[no-untyped-def]
                 decode) -> None:  # type: ignore[no-untyped-def]
    """Record when each event's ban.detected entry shows up in ``stream``."""
    last = "0-0"
    while not (stop.is_set() and len(arrivals) >= want):
        reply = await redis.xread({stream: last}, count=10_000, block=200)
        now = time.perf_counter()
        for _, entries in reply or []:
            for msg_id, fields in entries:
                last = msg_id
                arrivals[decode(fields)] = now
        if stop.is_set() and not reply:
            break


# ---------------------------------------------------------------------------------------------
# The two runs
# ---------------------------------------------------------------------------------------------


async def run_tenantry(args: argparse.Namespace, env: dict[str, str], engine, redis, tenant: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import grpc
    from tenantry.moderation.v1 import ban_events_pb2 as pb
    from tenantry.moderation.v1 import ban_events_pb2_grpc as pb_grpc
    from tenantry.moderation.v1 import events_pb2

    from services.kit.auth import issue_token
    from services.kit.bus.events import EventEnvelope
    from services.kit.migrations import migrate
    from services.kit.naming import stream_key

    await migrate(engine, "moderation", tenant)
    port = _free_port()
    env = {**env, "OUTBOX_RELAY_BATCH": str(args.relay_batch),
           "TENANTRY_OUTBOX_RELAY": "inline" if args.relay == "inline" else "separate"}
    proc = _spawn("serve-moderation", port, env)
    relay_proc = None
    if args.relay == "process":
        relay_port = _free_port()
        relay_proc = _spawn("serve-relay", relay_port, env)
    try:
        await _wait_port(port, proc)
        if relay_proc is not None:
            await _wait_port(relay_port, relay_proc)
        token, _ = issue_token("bench", typ="service", tenant=tenant, role="service", ttl=3600)
        meta = (("authorization", f"Bearer {token}"),)
        channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}",
                                            options=[("grpc.max_send_message_length", 64 << 20)])
        stub = pb_grpc.BanEventServiceStub(channel)
        # Warm up (connection, JIT-free but caches, first-query plans) outside the timed window.
        await stub.BulkRegisterBanEvents(pb.BulkRegisterBanEventsRequest(events=[
            pb.BanEventInput(event_id=f"warm-{i}", user_id=1 + i, chat_id=-1, event_type="ban", reason="warm up")
            for i in range(100)]), metadata=meta, timeout=60)

        # Build the requests before the clock starts, so the client's CPU goes to sending.
        n_batches = max(4, int(args.seconds * max(args.target, args.rate) / args.batch * 1.5))
        requests = []
        for b in range(n_batches):
            requests.append(pb.BulkRegisterBanEventsRequest(events=[
                pb.BanEventInput(event_id=f"b{b}-{i}", user_id=100_000 + (b * args.batch + i) % 50_000,
                                 chat_id=-1000 - i % 200, event_type=("ban", "kick", "restrict")[i % 3],
                                 reason=f"spam wave {b % 17} link {i % 97}",
                                 ban_duration=3600 if i % 3 == 0 else None, initiator_user_id=42)
                for i in range(args.batch)]))

        sent_at: dict[int, float] = {}
        call_ms: list[float] = []
        arrivals: dict[str, float] = {}
        stop_watch = asyncio.Event()

        def decode(fields: dict[bytes, bytes]) -> str:
            env_ = EventEnvelope()
            env_.ParseFromString(fields[b"envelope"])
            payload = events_pb2.BanDetected()
            env_.payload.Unpack(payload)
            return payload.event_id

        watcher = asyncio.create_task(_watch(redis, stream_key(tenant, "ban.detected"), arrivals, 0, stop_watch,
                                             decode))
        queue: asyncio.Queue[int] = asyncio.Queue()
        for b in range(n_batches):
            queue.put_nowait(b)
        started = time.perf_counter()
        deadline = started + args.seconds
        created = 0

        async def caller() -> None:
            nonlocal created
            while time.perf_counter() < deadline and not queue.empty():
                b = queue.get_nowait()
                t0 = time.perf_counter()
                if args.rate:
                    # Open loop: batch b is due at started + b·batch/rate; its latency counts
                    # from then, even if every caller was busy (no coordinated omission).
                    t0 = started + b * args.batch / args.rate
                    if t0 >= deadline:
                        break
                    await asyncio.sleep(max(0.0, t0 - time.perf_counter()))
                sent_at[b] = t0
                reply = await stub.BulkRegisterBanEvents(requests[b], metadata=meta, timeout=120)
                call_ms.append((time.perf_counter() - t0) * 1000)
                created += reply.created

        await asyncio.gather(*(caller() for _ in range(args.callers)))
        elapsed = time.perf_counter() - started
        # Let the relay finish publishing what was committed (bounded).
        for _ in range(600):  # at most 30 s
            if len([k for k in arrivals if not k.startswith("warm")]) >= created:
                break
            await asyncio.sleep(0.05)
        stop_watch.set()
        await watcher
        await channel.close()
    finally:
        _stop(proc)
        if relay_proc is not None:
            _stop(relay_proc)
    latencies = [(arrivals[f"b{b}-{i}"] - t0) * 1000 for b, t0 in sent_at.items() for i in range(args.batch)
                 if f"b{b}-{i}" in arrivals]
    return {"events": created, "seconds": elapsed, "events_per_s": created / elapsed,
            "p50_ms": _pct(latencies, 50), "p95_ms": _pct(latencies, 95), "p99_ms": _pct(latencies, 99),
            "max_ms": max(latencies) if latencies else float("nan"),
            "call_p50_ms": _pct(call_ms, 50), "published": len(latencies)}


async def run_baseline(args: argparse.Namespace, env: dict[str, str], engine, redis, stream: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    import json
    from datetime import UTC, datetime

    import httpx
    from sqlalchemy import text

    async with engine.begin() as conn:
        for ddl in BASELINE_DDL:
            await conn.execute(text(ddl))
    port = _free_port()
    proc = _spawn("serve-baseline", port, {**env, "BENCH_BASELINE_STREAM": stream})
    try:
        await _wait_port(port, proc)
        arrivals: dict[str, float] = {}
        stop_watch = asyncio.Event()
        watcher = asyncio.create_task(_watch(redis, stream, arrivals, 0, stop_watch,
                                             lambda f: json.loads(f[b"payload"])["event_id"]))
        sent_at: dict[str, float] = {}
        ok = 0
        counter = 0
        now = datetime.now(UTC).replace(tzinfo=None).isoformat()  # the seed column is TIMESTAMP
        tenant_tag = stream.split(":")[1]
        limits = httpx.Limits(max_connections=args.baseline_concurrency)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
            for i in range(50):  # warm up
                warm = await client.post("/api/v1/events/ban", json={
                    "event_id": f"warm-{tenant_tag}-{i}", "user_id": 1, "chat_id": -1, "event_type": "ban",
                    "reason": "warm up", "event_timestamp": now})
                if warm.status_code != 201:
                    raise RuntimeError(f"baseline refused the warm-up: {warm.status_code} {warm.text[:300]}")
            started = time.perf_counter()
            deadline = started + args.seconds

            async def worker() -> None:
                nonlocal ok, counter
                while time.perf_counter() < deadline:
                    counter += 1
                    eid = f"s-{tenant_tag}-{counter}"
                    body = {"event_id": eid, "user_id": 100_000 + counter % 50_000, "chat_id": -1000 - counter % 200,
                            "event_type": "ban", "reason": f"spam link {counter % 97}",
                            "ban_duration": 3600, "initiator_user_id": 42, "event_timestamp": now}
                    sent_at[eid] = time.perf_counter()
                    response = await client.post("/api/v1/events/ban", json=body)
                    if response.status_code == 201:
                        ok += 1

            await asyncio.gather(*(worker() for _ in range(args.baseline_concurrency)))
            elapsed = time.perf_counter() - started
        for _ in range(200):  # at most 10 s
            if len(arrivals) >= ok + 50:
                break
            await asyncio.sleep(0.05)
        stop_watch.set()
        await watcher
    finally:
        _stop(proc)
    latencies = [(arrivals[e] - t0) * 1000 for e, t0 in sent_at.items() if e in arrivals]
    return {"events": ok, "seconds": elapsed, "events_per_s": ok / elapsed, "p50_ms": _pct(latencies, 50),
            "p95_ms": _pct(latencies, 95), "p99_ms": _pct(latencies, 99),
            "max_ms": max(latencies) if latencies else float("nan"), "call_p50_ms": _pct(latencies, 50),
            "published": len(latencies)}


async def main(args: argparse.Namespace) -> None:
    import redis.asyncio as aioredis
    from sqlalchemy import text

    from services.kit.db import make_engine
    from services.kit.settings import reset_settings_cache

    server = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"tenantry_bench_{secrets.token_hex(4)}"
    admin = make_engine(server.rsplit("/", 1)[0] + "/postgres", pool_size=1)
    async with admin.connect() as conn:
        await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text(f'CREATE DATABASE "{name}"'))
    url = server.rsplit("/", 1)[0] + "/" + name
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis_url, "LOG_JSON": "true", "LOG_LEVEL": "WARNING"}
    os.environ.update({"DATABASE_URL": url, "REDIS_URL": redis_url})
    reset_settings_cache()
    engine = make_engine(url, pool_size=4)
    redis = aioredis.from_url(redis_url)
    tenant = f"bench{secrets.token_hex(4)}"
    baseline_stream = f"t:{tenant}:bench:baseline:ban.detected"
    try:
        ours = await run_tenantry(args, env, engine, redis, tenant)
        base = await run_baseline(args, env, engine, redis, baseline_stream)
    finally:
        keys = [k async for k in redis.scan_iter(match=f"t:{tenant}:*")]
        keys += [k async for k in redis.scan_iter(match=f"event_processed:*{tenant}*")]
        for i in range(0, len(keys), 1000):
            await redis.delete(*keys[i:i + 1000])
        await redis.aclose()
        await engine.dispose()
        async with admin.connect() as conn:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(
                text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()
    _report(args, ours, base)


def _report(args: argparse.Namespace, ours: dict[str, float], base: dict[str, float]) -> None:
    m = _machine()
    print(f"\nMachine: {m['nproc']} cores, {m['cpu']}, Python {m['python']}, {m['os']}; "
          f"{args.seconds:g} s per run, bulk batch {args.batch}, {args.callers} concurrent callers, "
          f"relay {args.relay} (batch {args.relay_batch}); "
          f"{'offered ' + format(args.rate, ',') + ' events/s open loop' if args.rate else 'closed loop'}; "
          f"baseline concurrency {args.baseline_concurrency}.\n")
    print("| path | events | events/s | register→ban.detected p50 | p95 | p99 | max |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, r in (("Tenantry bulk gRPC (BulkRegisterBanEvents + outbox + relay)", ours),
                     ("Baseline: FastAPI + SQLAlchemy, one INSERT per event", base)):
        print(f"| {label} | {int(r['events'])} | {r['events_per_s']:,.0f} | {r['p50_ms']:.0f} ms | "
              f"{r['p95_ms']:.0f} ms | {r['p99_ms']:.0f} ms | {r['max_ms']:.0f} ms |")
    print(f"\nThroughput ratio (Tenantry / baseline): {ours['events_per_s'] / max(base['events_per_s'], 1e-9):.1f}×; "
          f"bulk call p50 {ours['call_p50_ms']:.0f} ms; "
          f"events seen on the stream: {int(ours['published'])} of {int(ours['events'])}.")
    print(f"Target 10,000 events/s: {'met' if ours['events_per_s'] >= 10_000 else 'NOT met'}; "
          f"target p99 < 500 ms: {'met' if ours['p99_ms'] < 500 else 'NOT met'}.")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0, help="timed window per path")
    parser.add_argument("--batch", type=int, default=5000, help="events per bulk call (max 5000)")
    parser.add_argument("--callers", type=int, default=2, help="concurrent bulk callers")
    parser.add_argument("--target", type=int, default=10_000, help="events/s to prepare requests for")
    parser.add_argument("--baseline-concurrency", type=int, default=32, help="concurrent baseline requests")
    parser.add_argument("--rate", type=int, default=0,
                        help="offered events/s, open loop (0: each caller sends as fast as it can)")
    parser.add_argument("--relay", choices=("process", "inline"), default="process",
                        help="outbox relay in its own process (the relay role) or inside the moderation process")
    parser.add_argument("--relay-batch", type=int, default=5000, help="outbox rows per relay transaction")
    parser.add_argument("--serve-moderation", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-relay", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--serve-baseline", type=int, help=argparse.SUPPRESS)
    ns = parser.parse_args()
    if ns.serve_moderation:
        _serve_moderation(ns.serve_moderation)
    elif ns.serve_relay:
        _serve_relay(ns.serve_relay)
    elif ns.serve_baseline:
        _serve_baseline(ns.serve_baseline)
    else:
        asyncio.run(main(ns))
