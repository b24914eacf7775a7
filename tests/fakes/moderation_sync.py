"""Helpers for sync tests: seed moderation rows, build ban events, read what the engine did."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from tenantry.moderation.v1 import events_pb2

from services.kit.bus.events import EventEnvelope, new_event
from services.kit.db import Database
from services.kit.naming import schema_name
from services.moderation.sync.engine import SyncConfig, SyncEngine
from services.telegram_api import BotClientFactory, BotRateLimiter, CircuitBreaker
from tests.fakes.telegram_bot_api import FakeBotApi

TOKEN = "4242:sync-test-token"
SOURCE_CHAT = -1009000000001
BANNED_USER = 7_000_000_001  # above 2**32


def _schema(tenant: str) -> str:
    return schema_name("moderation", tenant)


async def add_subscription(engine: AsyncEngine, tenant: str, *, admin_user_id: int,
                           admin_chat_id: int, tracked_user_id: int = BANNED_USER) -> int:
    """Insert an active subscription; return its id."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            f'INSERT INTO "{_schema(tenant)}".subscriptions '
            "(admin_user_id, admin_chat_id, tracked_user_id) VALUES (:a, :c, :u) RETURNING id"),
            {"a": admin_user_id, "c": admin_chat_id, "u": tracked_user_id})).scalar_one())


async def store_ban_event(engine: AsyncEngine, tenant: str, *, chat_id: int, event_type: str,
                          at: datetime | None = None, event_id: str | None = None,
                          user_id: int = BANNED_USER) -> int:
    """A ban_events row as the ban events service stores it (``at``: now); its id."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            f'INSERT INTO "{_schema(tenant)}".ban_events (event_id, user_id, chat_id, event_type, '
            " reason, event_timestamp) VALUES (:e, :u, :c, :t, 'x', coalesce(:at, now())) "
            "RETURNING id"),
            {"e": event_id or f"stored-{uuid.uuid4()}", "u": user_id, "c": chat_id,
             "t": event_type, "at": at})).scalar_one())


async def set_chat_settings(engine: AsyncEngine, tenant: str, chat_id: int, **columns: Any) -> None:
    """Upsert a chat_settings row with ``columns``."""
    cols = ["chat_id", *columns]
    params = {"chat_id": chat_id, **columns}
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns) or "chat_id = EXCLUDED.chat_id"
    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "{_schema(tenant)}".chat_settings ({", ".join(cols)}) '
            f"VALUES ({', '.join(':' + c for c in cols)}) "
            f"ON CONFLICT (chat_id) DO UPDATE SET {updates}"), params)


async def add_policy(engine: AsyncEngine, tenant: str, name: str, spec: dict[str, Any], *,
                     suspended: bool = False) -> None:
    """Write a SyncPolicy row the way the operator does."""
    async with engine.begin() as conn:
        await conn.execute(text(
            f'INSERT INTO "{_schema(tenant)}".sync_policies (name, spec, generation, suspended) '
            "VALUES (:n, CAST(:s AS jsonb), 1, :x) ON CONFLICT (name) DO UPDATE SET "
            "spec = EXCLUDED.spec, suspended = EXCLUDED.suspended"),
            {"n": name, "s": json.dumps(spec), "x": suspended})


def ban_envelope(tenant: str, *, ban_event_id: int = 1, user_id: int = BANNED_USER,
                 chat_id: int = SOURCE_CHAT, event_type: str = "ban",
                 ban_duration: int | None = None, event_id: str | None = None) -> EventEnvelope:
    """A ``ban.detected`` envelope as the ban events service publishes it."""
    payload = events_pb2.BanDetected(ban_event_id=ban_event_id,
                                     event_id=event_id or f"evt-{ban_event_id}",
                                     user_id=user_id, chat_id=chat_id, event_type=event_type,
                                     reason="spam", username="spammer")
    if ban_duration is not None:
        payload.ban_duration = ban_duration
    payload.event_timestamp.GetCurrentTime()
    return new_event("ban.detected", tenant, payload)


async def outbox(engine: AsyncEngine, tenant: str, topic: str | None = None) -> list[EventEnvelope]:
    """Envelopes in the tenant's moderation outbox (optionally of one topic), in order."""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            f'SELECT topic, envelope FROM "{_schema(tenant)}".outbox ORDER BY id'))).all()
    out = []
    for row in rows:
        if topic is None or row.topic == topic:
            env = EventEnvelope()
            env.ParseFromString(bytes(row.envelope))
            out.append(env)
    return out


async def logs(engine: AsyncEngine, tenant: str) -> list[Any]:
    """Every sync_logs row, by target chat."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            f'SELECT * FROM "{_schema(tenant)}".sync_logs ORDER BY target_chat_id, id'))).all())


async def runs(engine: AsyncEngine, tenant: str) -> list[Any]:
    """Every sync_runs row, oldest first."""
    async with engine.connect() as conn:
        return list((await conn.execute(text(
            f'SELECT * FROM "{_schema(tenant)}".sync_runs ORDER BY created_at'))).all())


@dataclass
class SyncWorld:
    """A fake Bot API, a bot client factory pointed at it, and an engine."""

    fake: FakeBotApi
    bots: BotClientFactory
    engine: SyncEngine
    breaker: CircuitBreaker


@asynccontextmanager
async def sync_world(db_engine: AsyncEngine, *, redis: Any = None,
                     rate_limit_per_second: int | None = None, bot_rate: float = 1000.0,
                     breaker: CircuitBreaker | None = None, client_options: dict | None = None,
                     shared_limits: bool = False, **config: Any) -> AsyncIterator[SyncWorld]:
    """Start the fake and build an engine on ``db_engine`` whose bot talks to it.

    ``shared_limits``: the bot's limits live in ``redis`` (as in the sync worker) instead
    of in this process."""
    config.setdefault("backoff_initial", 0.05)
    config.setdefault("lease_seconds", 1.0)
    breaker = breaker or CircuitBreaker(failure_threshold=50, reset_timeout=0.3)
    options = {"backoff_base": 0.01, "timeout": 1.0, **(client_options or {})}
    async with FakeBotApi(token=TOKEN, rate_limit_per_second=rate_limit_per_second) as fake:
        async def token_for(_: str) -> str:
            return TOKEN

        limits: dict[str, Any] = (
            {"redis": redis, "per_second": bot_rate} if shared_limits
            else {"limiter_factory": lambda: BotRateLimiter(per_second=bot_rate)})
        bots = BotClientFactory(token_for, base_url=fake.base_url,
                                breaker_factory=lambda: breaker, **limits, **options)
        engine = SyncEngine(Database(db_engine), bots, redis=redis, config=SyncConfig(**config))
        try:
            yield SyncWorld(fake, bots, engine, breaker)
        finally:
            await engine.drain()
            await bots.aclose()


def chat_ids(n: int, base: int = -1008000000000) -> list[int]:
    """``n`` distinct supergroup ids."""
    return [base - i for i in range(n)]


def new_event_id() -> str:
    """A fresh event id."""
    return uuid.uuid4().hex
