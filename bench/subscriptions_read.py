"""Benchmark: subscription reads through Tenantry vs a plain FastAPI baseline.

Issue target: "Subscription reads: GET p99 under 100 ms at 1,000 requests/s
through the gateway". Measured, not gated.

What runs (all on this machine, each server in its own process so the load
generator does not share their event loop):

* tenantry — the moderation gRPC servicers (users/chats + subscriptions) on a
  kit Runtime, behind the real gateway (uvicorn): REST → JWT check → rate
  limits → gRPC → Redis cache / PostgreSQL;
* baseline — ``bench/baseline_fastapi.py``: FastAPI + SQLAlchemy on one table,
  the seed's endpoint querying PostgreSQL per request.

Both serve ``GET …/api/v1/subscriptions/admin/{admin_id}?admin_chat_id=…`` for
random admins of the same seeded data. The load is open-loop: request *i* is
sent at ``t0 + i/rate`` whether or not earlier ones finished, and its latency
counts from that scheduled time (no coordinated omission).

Run: ``DATABASE_URL=... REDIS_URL=... python bench/subscriptions_read.py
[--rate 1000] [--seconds 10]``; prints a markdown section (``--write`` also
puts it into docs/benchmarks.md under "Subscription reads").
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.kit.service import run_async  # noqa: E402

ADMINS = 1000
SUBS_PER_ADMIN = 5
CHAT_OF = -1_000_000  # admin a's chat is CHAT_OF - a
SECTION = "## Subscription reads"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rows() -> list[tuple[int, int, int]]:
    """The seeded subscriptions: (admin, chat, tracked)."""
    return [(a, CHAT_OF - a, 10_000_000 + a * 10 + k)
            for a in range(1, ADMINS + 1) for k in range(SUBS_PER_ADMIN)]


# -- child processes ------------------------------------------------------------------------
def serve_grpc(port: int) -> None:
    """Child: the whole moderation service as ``tenantry serve moderation`` builds it
    (every area, its outbox relay, INFO logs), minus the metrics HTTP listener."""
    from services.kit.logs import configure_logging
    from services.kit.service import Runtime
    from services.moderation.main import build

    configure_logging("moderation", "INFO", True)

    async def run() -> None:
        rt = Runtime("moderation", port=port, metrics=False)
        build(rt)
        await rt.run()

    run_async(run())


def gateway_app() -> object:
    """The gateway app routing every backend to ``BENCH_GRPC_ADDR`` (a uvicorn factory)."""
    from services.gateway.app import create_app
    from services.kit.logs import configure_logging
    from services.kit.settings import Settings

    configure_logging("gateway", "INFO", True)
    addr = os.environ["BENCH_GRPC_ADDR"]
    return create_app(Settings(moderation_addr=addr, identity_addr=addr, notification_addr=addr,
                               analytics_addr=addr))


def serve_gateway(port: int, grpc_port: int, workers: int = 1) -> None:
    """Child: the gateway (uvicorn: uvloop + httptools when installed, no access log),
    ``workers`` processes sharing the port, routing moderation to the child above."""
    import uvicorn

    os.environ["BENCH_GRPC_ADDR"] = f"127.0.0.1:{grpc_port}"
    uvicorn.run("bench.subscriptions_read:gateway_app", factory=True, host="127.0.0.1", port=port,
                workers=workers, log_level="warning", access_log=False)


# -- setup ----------------------------------------------------------------------------------
async def prepare(tenant: str, baseline_schema: str) -> None:
    """Migrate and seed the tenant, register it (generous gateway limits), seed the baseline."""
    from sqlalchemy import text

    from bench.baseline_fastapi import prepare as prepare_baseline
    from services.identity.registry import ensure_identity_schema, register_tenant
    from services.kit.db import make_engine
    from services.kit.migrations import migrate
    from services.kit.naming import schema_name

    engine = make_engine()
    await ensure_identity_schema(engine)
    await register_tenant(engine, name=tenant, display_name="bench", apps=["moderation"],
                          limits={"requestsPerMinute": 10_000_000}, retention_days=1)
    await migrate(engine, "moderation", tenant)
    data = rows()
    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "{schema_name("moderation", tenant)}".subscriptions '
            "(admin_user_id, admin_chat_id, tracked_user_id) "
            "SELECT * FROM unnest(CAST(:a AS bigint[]), CAST(:c AS bigint[]), CAST(:t AS bigint[]))"),
            {"a": [r[0] for r in data], "c": [r[1] for r in data], "t": [r[2] for r in data]})
    await engine.dispose()
    from services.kit.settings import get_settings
    await prepare_baseline(get_settings().plain_database_url, baseline_schema, data)


async def cleanup(tenant: str, baseline_schema: str) -> None:
    """Drop the bench's schemas and registry entry."""
    from sqlalchemy import text

    from services.identity.registry import unregister_tenant
    from services.kit.db import make_engine
    from services.kit.migrations import drop_schema

    engine = make_engine()
    await drop_schema(engine, "moderation", tenant)
    await unregister_tenant(engine, tenant)
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP SCHEMA IF EXISTS "{baseline_schema}" CASCADE'))
    await engine.dispose()


async def wait_http(url: str, timeout: float = 30.0) -> None:
    """Until ``url`` answers at all (any status)."""
    import aiohttp

    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(url) as r:
                    await r.read()
                    return
            except aiohttp.ClientError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up within {timeout} s")


# -- load -----------------------------------------------------------------------------------
class _Conn(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection of :class:`LeanClient`, one request in flight."""

    def __init__(self, client: LeanClient) -> None:
        self.client = client
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.scheduled = 0.0  # of the request in flight; 0 when idle
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.client.ready(self)

    def send(self, path: str, scheduled: float) -> None:
        self.scheduled = scheduled
        assert self.transport is not None
        self.transport.write(f"GET {path} HTTP/1.1\r\nhost: bench\r\n{self.client.extra}\r\n".encode())

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        length = 0
        at = head.find(b"content-length:")
        if at >= 0:
            stop = head.find(b"\r\n", at)
            length = int(head[at + 15:stop if stop >= 0 else len(head)])
        if len(self.buf) < end + 4 + length:
            return
        del self.buf[:end + 4 + length]
        scheduled, self.scheduled = self.scheduled, 0.0
        self.client.done(self, int(head[9:12]), scheduled)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.scheduled:
            scheduled, self.scheduled = self.scheduled, 0.0
            self.client.failed("ConnectionClosed", scheduled)
        self.client.lost(self)


class LeanClient:
    """Open-loop HTTP GETs over a bounded pool of keep-alive connections, callback-driven
    (no task or coroutine per request): the load generator shares the machine's cores
    with the servers, so it must cost as little as possible. A request that finds every
    connection busy waits in a queue; its latency still counts from its scheduled time."""

    def __init__(self, host: str, port: int, headers: dict[str, str], max_connections: int = 256,
                 timeout: float = 10.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self.max_connections = max_connections
        self.conns: list[_Conn] = []
        self.idle: list[_Conn] = []
        self.queue: collections.deque[tuple[str, float]] = collections.deque()
        self.connecting = 0
        self.opened = 0
        self.latencies: list[float] = []
        self.statuses: dict[str, int] = {}
        self.errors = 0
        self.outstanding = 0
        self.all_done = asyncio.Event()
        self.settled = asyncio.Event()  # no connection attempt pending

    # -- connections --------------------------------------------------------------------------
    def _open(self) -> None:
        self.connecting += 1
        self.opened += 1
        task = asyncio.ensure_future(asyncio.get_running_loop().create_connection(
            lambda: _Conn(self), self.host, self.port))
        task.add_done_callback(self._opened)

    def _opened(self, task: asyncio.Future[Any]) -> None:
        self.connecting -= 1
        if not self.connecting:
            self.settled.set()
        if task.exception() is not None:
            self.errors += 1
            self.statuses["ConnectError"] = self.statuses.get("ConnectError", 0) + 1
            if self.queue:
                self.queue.popleft()
                self._finished()

    def ready(self, conn: _Conn) -> None:
        self.conns.append(conn)
        self._next(conn)

    def lost(self, conn: _Conn) -> None:
        if conn in self.conns:
            self.conns.remove(conn)
        if conn in self.idle:
            self.idle.remove(conn)
        if self.queue and len(self.conns) + self.connecting < self.max_connections:
            self._open()

    async def open(self, n: int) -> None:
        """Pre-open ``n`` connections (before the measured window)."""
        self.settled.clear()
        for _ in range(n):
            self._open()
        await self.settled.wait()

    # -- requests -----------------------------------------------------------------------------
    def get(self, path: str, scheduled: float) -> None:
        """Send now on an idle connection, or queue until one is free."""
        self.outstanding += 1
        self.all_done.clear()
        while self.idle:
            conn = self.idle.pop()
            if not conn.closed:
                conn.send(path, scheduled)
                return
        self.queue.append((path, scheduled))
        if len(self.conns) + self.connecting < self.max_connections:
            self._open()

    def _next(self, conn: _Conn) -> None:
        if self.queue:
            conn.send(*self.queue.popleft())
        else:
            self.idle.append(conn)

    def _finished(self) -> None:
        self.outstanding -= 1
        if self.outstanding == 0:
            self.all_done.set()

    def done(self, conn: _Conn, status: int, scheduled: float) -> None:
        if status == 200:
            self.latencies.append(time.perf_counter() - scheduled)
        else:
            self.errors += 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
        self._finished()
        self._next(conn)

    def failed(self, reason: str, scheduled: float) -> None:
        self.errors += 1
        self.statuses[reason] = self.statuses.get(reason, 0) + 1
        self._finished()

    def sweep(self) -> None:
        """Fail requests in flight for longer than the timeout (closing their connection)."""
        limit = time.perf_counter() - self.timeout
        for conn in list(self.conns):
            if conn.scheduled and conn.scheduled < limit and conn.transport is not None:
                conn.transport.close()
        while self.queue and self.queue[0][1] < limit:
            self.queue.popleft()
            self.failed("TimeoutError", 0.0)

    def reset(self) -> None:
        self.latencies, self.statuses, self.errors = [], {}, 0

    def close(self) -> None:
        for conn in self.conns:
            if conn.transport is not None:
                conn.transport.close()


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds used so far by ``pids`` and all their descendants."""
    import psutil

    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            for p in [proc, *proc.children(recursive=True)]:
                times = p.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


async def drive(base: str, path_of: str, rate: int, seconds: float, headers: dict[str, str],
                server_pids: list[int] | None = None) -> dict[str, float]:
    """Open-loop load at ``rate``/s for ``seconds``; latency percentiles (ms), rates, and
    the servers' CPU time per served request during the measured window."""
    host, port = base.removeprefix("http://").split(":")
    client = LeanClient(host, int(port), headers)
    total = int(rate * seconds)
    rnd = random.Random(7)
    await client.open(64)
    # Warm up caches and connection pools (not measured).
    for a in range(1, ADMINS + 1):
        client.get(path_of.format(a=a, c=CHAT_OF - a), time.perf_counter())
        if a % 100 == 0:
            await client.all_done.wait()
    await client.all_done.wait()
    client.reset()
    pids = server_pids or []
    cpu0 = [cpu_seconds([pid]) for pid in pids]
    t0 = time.perf_counter()
    sent = 0
    next_sweep = t0 + 0.5
    while sent < total:
        now = time.perf_counter()
        due = min(total, int((now - t0) * rate) + 1)
        while sent < due:
            a = rnd.randint(1, ADMINS)
            client.get(path_of.format(a=a, c=CHAT_OF - a), t0 + sent / rate)
            sent += 1
        if now > next_sweep:
            client.sweep()
            next_sweep = now + 0.5
        await asyncio.sleep(max(0.0, t0 + sent / rate - time.perf_counter()))
    sent_in = time.perf_counter() - t0
    while client.outstanding:
        client.sweep()
        try:
            await asyncio.wait_for(client.all_done.wait(), 0.5)
        except TimeoutError:
            pass
    elapsed = time.perf_counter() - t0
    cpu = [cpu_seconds([pid]) - before for pid, before in zip(pids, cpu0, strict=True)]
    client.close()
    ok = sorted(client.latencies)
    if client.statuses:
        print(f"{base}: failures {client.statuses}", file=sys.stderr)

    def pct(p: float) -> float:
        return ok[min(len(ok) - 1, int(p * len(ok)))] * 1000 if ok else float("nan")

    return {"p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
            "mean": statistics.fmean(ok) * 1000 if ok else float("nan"),
            "offered": total / sent_in, "achieved": len(ok) / elapsed, "ok": len(ok), "errors": client.errors,
            "connections": client.opened,
            "cpu_us": sum(cpu) / len(ok) * 1e6 if ok and pids else float("nan"),
            # Per server process (Tenantry: moderation, gateway), same unit.
            **{f"cpu_us_{i}": c / len(ok) * 1e6 if ok else float("nan") for i, c in enumerate(cpu)}}


def median_of(runs: list[dict[str, float]]) -> dict[str, float]:
    """Each metric's median over the runs, plus every run's p99 (to show the spread)."""
    out = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    out["p99_runs"] = [r["p99"] for r in runs]  # type: ignore[assignment]
    return out


def versions() -> str:
    """RAM and the PostgreSQL / Redis server versions."""
    parts = []
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        parts.append(f"{kb / 1024 / 1024:.0f} GiB RAM")
    except (OSError, ValueError, IndexError):
        pass
    try:
        out = subprocess.run(["psql", os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
                              "-Atc", "SHOW server_version"], capture_output=True, text=True, timeout=5)
        parts.append(f"PostgreSQL {out.stdout.strip().split()[0]}")
    except (OSError, IndexError, subprocess.SubprocessError):
        pass
    try:
        import redis

        info = redis.Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")).info("server")
        parts.append(f"Redis {info['redis_version']}")
    except Exception:
        pass
    return ", ".join(parts)


def machine() -> str:
    """nproc, CPU model and Python version."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}, {platform.system()}"


def report(results: dict[str, dict[str, float]], rate: str, seconds: float, via: str,
           runs: int = 1, workers: int = 1) -> str:
    """The markdown section."""
    lines = [SECTION, "",
             f"`python bench/subscriptions_read.py --rate {rate} --seconds {seconds:g} --runs {runs} "
             f"--gateway-workers {workers}` — {time.strftime('%Y-%m-%d')}, {machine()}, {versions()}. "
             "Load generator, servers, PostgreSQL and Redis all share this machine. "
             f"Median of {runs} runs (each run: every rate, Tenantry then baseline).", "",
             "Request: `GET …/api/v1/subscriptions/admin/{admin_id}?admin_chat_id=…` for a random one of "
             f"{ADMINS} admins ({SUBS_PER_ADMIN} subscriptions each); open-loop at a fixed rate, latency "
             "from each request's scheduled send time.", "",
             "| target | offered req/s | achieved req/s | p50 ms | p95 ms | p99 ms | p99 of each run | errors "
             "| server CPU per request |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, r in results.items():
        each = " / ".join(f"{p:.0f}" for p in r.get("p99_runs", [r["p99"]]))  # type: ignore[union-attr]
        lines.append(f"| {name} | {r['offered']:.0f} | {r['achieved']:.0f} | {r['p50']:.1f} | "
                     f"{r['p95']:.1f} | {r['p99']:.1f} | {each} | {int(r['errors'])} | "
                     f"{_cpu_cell(r)} |")
    lines += ["", f"Tenantry path: {via}. Baseline: `bench/baseline_fastapi.py` (FastAPI + SQLAlchemy, "
              "one table, a query per request, no auth/tenancy/cache). Server CPU per request: user + "
              "system time of the server processes (Tenantry: gateway + moderation; baseline: its one "
              "process) during the measured window over the requests served; Redis and PostgreSQL "
              "not counted.", ""]
    return "\n".join(lines)


def _cpu_cell(r: dict[str, float]) -> str:
    """Total server CPU per request, with the moderation + gateway split when there are two."""
    cell = f"{r['cpu_us'] / 1000:.2f} ms"
    if "cpu_us_1" in r:
        cell += f" ({r['cpu_us_0'] / 1000:.2f} moderation + {r['cpu_us_1'] / 1000:.2f} gateway)"
    return cell


def write_section(markdown: str) -> None:
    """Replace (or append) this section of docs/benchmarks.md, leaving other sections alone."""
    path = ROOT / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    start = text.find(SECTION)
    if start == -1:
        text = text.rstrip("\n") + "\n\n" + markdown
    else:
        end = text.find("\n## ", start + len(SECTION))
        text = text[:start] + markdown + ("" if end == -1 else "\n" + text[end + 1:])
    path.write_text(text)


def main() -> None:
    """Parent: set up, start the servers, drive both, report, clean up."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rate", default="1000", help="requests/s; several comma-separated")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--write", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--runs", type=int, default=1, help="repeat every rate; report medians")
    parser.add_argument("--gateway-workers", type=int, default=1,
                        help="gateway processes (uvicorn workers); the chart scales replicas")
    parser.add_argument("--role", choices=["grpc", "gateway"], help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--grpc-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    rates = [int(r) for r in str(args.rate).split(",")]
    if args.role == "grpc":
        return serve_grpc(args.port)
    if args.role == "gateway":
        return serve_gateway(args.port, args.grpc_port, args.gateway_workers)

    os.environ.setdefault("JWT_SECRET", "bench-secret-" + "x" * 32)
    os.environ["LOG_LEVEL"] = "INFO"
    os.environ["RATE_LIMIT_USER_PER_MINUTE"] = "10000000"
    from services.kit.auth import issue_token
    from services.kit.settings import get_settings

    tenant = f"bench{uuid.uuid4().hex[:8]}"
    baseline_schema = f"bench_baseline_{uuid.uuid4().hex[:8]}"
    asyncio.run(prepare(tenant, baseline_schema))
    grpc_port, gw_port, base_port = free_port(), free_port(), free_port()
    me = [sys.executable, str(Path(__file__).resolve())]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen([*me, "--role", "grpc", "--port", str(grpc_port)], env=env),
        subprocess.Popen([*me, "--role", "gateway", "--port", str(gw_port), "--grpc-port", str(grpc_port),
                          "--gateway-workers", str(args.gateway_workers)], env=env),
        subprocess.Popen([sys.executable, str(ROOT / "bench" / "baseline_fastapi.py"), "--port", str(base_port),
                          "--database-url", get_settings().plain_database_url, "--schema", baseline_schema],
                         env=env),
    ]
    try:
        token, _ = issue_token("bench", typ="access", tenant=tenant, role="member", ttl=3600)
        auth = {"authorization": f"Bearer {token}"}

        async def run_all() -> dict[str, dict[str, float]]:
            await wait_http(f"http://127.0.0.1:{gw_port}/health/live")
            await wait_http(f"http://127.0.0.1:{base_port}/docs")
            runs: dict[str, list[dict[str, float]]] = {}
            # Runs interleave the two targets, so both see the same background load.
            for _ in range(args.runs):
                for rate in rates:
                    runs.setdefault(f"tenantry @ {rate}/s", []).append(await drive(
                        f"http://127.0.0.1:{gw_port}",
                        "/moderation/api/v1/subscriptions/admin/{a}?admin_chat_id={c}",
                        rate, args.seconds, auth, [procs[0].pid, procs[1].pid]))
                    runs.setdefault(f"baseline @ {rate}/s", []).append(await drive(
                        f"http://127.0.0.1:{base_port}", "/api/v1/subscriptions/admin/{a}?admin_chat_id={c}",
                        rate, args.seconds, {}, [procs[2].pid]))
            return {name: median_of(rs) for name, rs in runs.items()}

        results = run_async(run_all())
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        asyncio.run(cleanup(tenant, baseline_schema))
    markdown = report(results, args.rate, args.seconds,
                      f"uvicorn gateway ({args.gateway_workers} worker process(es), uvloop + httptools) → "
                      "gRPC (the whole moderation service in one process, uvloop) → Redis cache", args.runs,
                      args.gateway_workers)
    print(markdown)
    if args.write:
        write_section(markdown)


if __name__ == "__main__":
    main()
