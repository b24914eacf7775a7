"""Fixtures of the notification tests: a migrated tenant, a clock, channels, servers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from tenantry.notification.v1 import notification_pb2, notification_pb2_grpc
from tenantry.telegram.v1 import telegram_pb2, telegram_pb2_grpc

from services.kit.auth import issue_token
from services.kit.db import Database
from services.kit.grpc_server import ServiceServer
from services.kit.migrations import migrate
from services.notification.channels import DeliveryError, OutgoingMessage, TelegramChannel
from services.notification.dispatcher import Notifier
from services.notification.ratelimit import UserRateLimiter
from services.notification.servicer import NotificationServicer
from services.telegram.servicer import TelegramServicer
from services.telegram_api import BotClientFactory
from tests.fakes.telegram_bot_api import FakeBotApi


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class Recorder:
    """A channel that records what it is given and fails when told to."""

    name = "telegram"

    def __init__(self) -> None:
        self.sent: list[OutgoingMessage] = []
        self.failures: list[DeliveryError] = []

    async def deliver(self, message: OutgoingMessage) -> None:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)


@pytest.fixture
def clock() -> Clock:
    # A fixed, arbitrary instant: 2026-03-10 12:00 UTC (a Tuesday).
    return Clock(datetime(2026, 3, 10, 12, 0, tzinfo=UTC))


@pytest.fixture
async def db(engine: Any, tenant_name: str) -> Database:
    await migrate(engine, "notification", tenant_name)
    return Database(engine)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def notifier(db: Database, redis: Any, clock: Clock, recorder: Recorder) -> Notifier:
    return Notifier(db, redis, {"telegram": recorder}, clock=clock,
                    limiter=UserRateLimiter(redis), retry_base_seconds=2.0)


def bearer(tenant: str, role: str = "admin") -> tuple[tuple[str, str], ...]:
    token = issue_token("user-1", typ="access", tenant=tenant, role=role)[0]
    return (("authorization", f"Bearer {token}"),)


@pytest.fixture
async def fake_telegram() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as fake:
        yield fake


@pytest.fixture
async def telegram_channel(fake_telegram: FakeBotApi) -> AsyncIterator[TelegramChannel]:
    """The notification Telegram channel → a real in-process TelegramService → the fake."""
    async def token_for(_tenant: str) -> str:
        return "123:secret-token"

    factory = BotClientFactory(token_for, base_url=fake_telegram.base_url, backoff_base=0.01)
    server = ServiceServer("telegram", port=0, host="127.0.0.1")
    server.add(telegram_pb2_grpc.add_TelegramServiceServicer_to_server, TelegramServicer(factory),
               telegram_pb2.DESCRIPTOR.services_by_name["TelegramService"].full_name)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    yield TelegramChannel(channel)
    await channel.close()
    await server.stop()
    await factory.aclose()


@pytest.fixture
async def api(notifier: Notifier) -> AsyncIterator[notification_pb2_grpc.NotificationServiceStub]:
    """NotificationService over a real gRPC server in-process."""
    server = ServiceServer("notification", port=0, host="127.0.0.1")
    server.add(notification_pb2_grpc.add_NotificationServiceServicer_to_server,
               NotificationServicer(notifier),
               notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name)
    await server.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{server.port}")
    yield notification_pb2_grpc.NotificationServiceStub(channel)
    await channel.close()
    await server.stop()
