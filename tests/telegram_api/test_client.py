"""The Bot API client against the fake Bot API server: methods, errors, retries, limits."""

from __future__ import annotations

import asyncio
import time

import pytest
from structlog.testing import capture_logs

from services.telegram_api import (
    BotApiClient,
    BotClientFactory,
    BotRateLimiter,
    CircuitBreaker,
    SharedBotRateLimiter,
    TelegramBadRequest,
    TelegramCircuitOpen,
    TelegramError,
    TelegramForbidden,
    TelegramRetryAfter,
    TelegramUnavailable,
)
from services.telegram_api.limits import shared_limiter
from tests.fakes.telegram_bot_api import FakeBotApi

TOKEN = "123456:TEST-secret-token"
CHAT = -1001000000001
USER = 5_000_000_001  # above 2**32: ids are 64-bit


@pytest.fixture
async def fake():
    async with FakeBotApi(token=TOKEN) as server:
        server.add_chat(CHAT, members={USER: "member"}, admins=[900])
        yield server


def make_client(fake: FakeBotApi, **options) -> BotApiClient:
    options.setdefault("backoff_base", 0.01)
    return BotApiClient(TOKEN, base_url=fake.base_url, **options)


async def test_ban_get_member_and_unban_round_trip(fake):
    client = make_client(fake)
    try:
        me = await client.get_me()
        assert me["is_bot"] and me["username"] == "tenantry_test_bot"
        assert (await client.get_chat_member(CHAT, USER)).status == "member"
        assert await client.ban_chat_member(CHAT, USER, duration_seconds=3600)
        member = await client.get_chat_member(CHAT, USER)
        assert member.is_banned and member.user_id == USER
        ban = fake.calls_of("banChatMember")[0]
        assert abs(ban.params["until_date"] - (time.time() + 3600)) < 5
        assert await client.unban_chat_member(CHAT, USER)
        assert fake.status_of(CHAT, USER) == "left"
        admins = await client.get_chat_administrators(CHAT)
        assert {a.user_id for a in admins} >= {900} and any(a.can_restrict_members for a in admins)
    finally:
        await client.aclose()


async def test_unban_with_only_if_banned_never_kicks_a_present_member(fake):
    client = make_client(fake)
    try:
        assert await client.unban_chat_member(CHAT, USER)  # default only_if_banned=True
        assert fake.status_of(CHAT, USER) == "member"
        assert fake.calls_of("unbanChatMember")[0].params["only_if_banned"] is True
        # Why the default matters: without it Telegram removes a present member.
        await client.unban_chat_member(CHAT, USER, only_if_banned=False)
        assert fake.status_of(CHAT, USER) == "left"
    finally:
        await client.aclose()


async def test_restrict_mutes_and_send_message_posts(fake):
    client = make_client(fake)
    try:
        assert await client.restrict_chat_member(CHAT, USER, duration_seconds=600)
        member = await client.get_chat_member(CHAT, USER)
        assert member.status == "restricted" and member.raw["can_send_messages"] is False
        message = await client.send_message(CHAT, "hello")
        assert message["chat"]["id"] == CHAT and fake.chats[CHAT].messages[0]["text"] == "hello"
    finally:
        await client.aclose()


async def test_typed_errors_for_403_and_400(fake):
    fake.add_chat(-1002, bot_status="left")
    fake.add_chat(-1003, bot_status="member")  # in the chat but not an admin
    fake.unknown_users.add(13)
    client = make_client(fake)
    try:
        with pytest.raises(TelegramForbidden) as forbidden:
            await client.ban_chat_member(-1002, USER)
        assert "not a member" in forbidden.value.description
        with pytest.raises(TelegramBadRequest) as missing:
            await client.ban_chat_member(-999, USER)
        assert missing.value.chat_not_found and not missing.value.rights_missing
        with pytest.raises(TelegramBadRequest) as rights:
            await client.ban_chat_member(-1003, USER)
        assert rights.value.rights_missing
        with pytest.raises(TelegramBadRequest) as unknown:
            await client.get_chat_member(CHAT, 13)
        assert unknown.value.user_not_found
    finally:
        await client.aclose()


async def test_429_retry_after_is_honoured_for_the_whole_bot(fake):
    client = make_client(fake)
    fake.fail_next(1, code=429, retry_after=1, method="banChatMember")
    try:
        started = time.monotonic()
        assert await client.ban_chat_member(CHAT, USER)
        elapsed = time.monotonic() - started
        assert elapsed >= 0.95, elapsed
        assert [c.status for c in fake.calls_of("banChatMember")] == [429, 200]
        assert client.stats["waits_429"] == 1
        # A retry_after longer than the client may wait is raised, with the wait.
        fake.fail_next(1, code=429, retry_after=120)
        with pytest.raises(TelegramRetryAfter) as err:
            await client.get_me()
        assert err.value.retry_after == 120
    finally:
        await client.aclose()


async def test_5xx_and_timeouts_are_retried_three_times_then_unavailable(fake):
    client = make_client(fake, timeout=0.3)
    try:
        fake.fail_next(2, code=502)
        assert await client.get_me()
        assert [c.status for c in fake.calls_of("getMe")] == [502, 502, 200]
        fake.delay_next(1, 0.8, method="getChatMember")
        assert (await client.get_chat_member(CHAT, USER)).status == "member"
        fake.fail_next(3, code=500, method="sendMessage")
        with pytest.raises(TelegramUnavailable):
            await client.send_message(CHAT, "x")
        assert len(fake.calls_of("sendMessage")) == 3
        fake.fail_next(1, code=502, html=True)  # a proxy's HTML error page is transient too
        assert await client.get_me()
    finally:
        await client.aclose()


async def test_breaker_opens_on_a_5xx_storm_and_closes_after_cooldown(fake):
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=0.3)
    client = make_client(fake, max_attempts=1, breaker=breaker)
    fake.fail_next(3, code=503)
    try:
        for _ in range(3):
            with pytest.raises(TelegramUnavailable):
                await client.get_me()
        assert breaker.state == "open"
        calls_before = len(fake.calls)
        with pytest.raises(TelegramCircuitOpen) as fast:
            await client.get_me()
        assert len(fake.calls) == calls_before  # failed fast, no request
        assert 0 < fast.value.retry_in <= 0.3
        await asyncio.sleep(0.35)
        assert await client.get_me()  # the half-open probe succeeds
        assert breaker.state == "closed"
        assert breaker.transitions == ["open", "half_open", "closed"]
    finally:
        await client.aclose()


async def test_failed_probe_reopens_the_circuit(fake):
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=0.2)
    client = make_client(fake, max_attempts=1, breaker=breaker)
    fake.fail_next(2, code=500)
    try:
        with pytest.raises(TelegramUnavailable):
            await client.get_me()
        await asyncio.sleep(0.25)
        with pytest.raises(TelegramUnavailable):
            await client.get_me()  # the probe fails
        assert breaker.state == "open"
        await asyncio.sleep(0.25)
        assert await client.get_me()
        assert breaker.transitions == ["open", "half_open", "open", "half_open", "closed"]
    finally:
        await client.aclose()


async def test_bot_rate_limiter_stays_under_the_servers_limit(fake):
    fake.rate_limit_per_second = 20
    client = make_client(fake, limiter=BotRateLimiter(per_second=19))
    try:
        started = time.monotonic()
        await asyncio.gather(*(client.get_chat_member(CHAT, USER) for _ in range(30)))
        elapsed = time.monotonic() - started
        assert not fake.calls_of(ok=False), "the client exceeded the server's rate"
        assert elapsed >= 29 / 19 - 0.1
    finally:
        await client.aclose()


async def test_per_group_message_limit_paces_one_chat_not_others(fake):
    for i in range(6):
        fake.add_chat(-2000 - i)
    client = make_client(fake, limiter=BotRateLimiter(per_second=1000, burst=10,
                                                      chat_messages_per_minute=600))
    try:
        started = time.monotonic()
        await asyncio.gather(*(client.send_message(-2000 - i, "x") for i in range(6)))
        spread = time.monotonic() - started
        started = time.monotonic()
        await asyncio.gather(*(client.send_message(-2000, "y") for _ in range(6)))
        same_chat = time.monotonic() - started
        assert spread < 0.2 and same_chat >= 0.25  # capacity 3, then 10/s
    finally:
        await client.aclose()


async def test_the_token_never_reaches_logs_or_errors(fake):
    client = make_client(fake, max_attempts=2)
    fake.fail_next(2, code=500, description=f"boom {TOKEN}")
    try:
        with capture_logs() as logs, pytest.raises(TelegramUnavailable) as err:
            await client.get_me()
        fake.fail_next(1, code=400, description=f"Bad Request: {TOKEN}")
        with pytest.raises(TelegramBadRequest) as bad:
            await client.get_me()
        assert TOKEN not in str(err.value) and TOKEN not in str(bad.value)
        assert logs and TOKEN not in repr(logs)
    finally:
        await client.aclose()


async def test_factory_gives_one_client_per_bot_token(fake, monkeypatch):
    tokens = {"acme": TOKEN, "globex": TOKEN, "initech": "999:other"}

    async def token_for(tenant: str) -> str:
        return tokens[tenant]

    factory = BotClientFactory(token_for, base_url=fake.base_url)
    try:
        a, b, c = [await factory.for_tenant(t) for t in ("acme", "globex", "initech")]
        assert a is b and a is not c  # a shared bot shares its limits and breaker
        assert await a.get_me()
        with pytest.raises(TelegramError) as denied:
            await c.get_me()
        assert denied.value.error_code == 401 and "Unauthorized" in str(denied.value)
    finally:
        await factory.aclose()
    from services.telegram_api import BotTokenMissing, bot_token_for

    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    with pytest.raises(BotTokenMissing):
        await bot_token_for("acme")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    assert await bot_token_for("acme") == TOKEN


async def test_shared_limiter_keeps_two_processes_under_one_rate(fake, redis, tenant_name):
    # Two clients of one bot stand for two replicas: each alone would allow 10/s.
    fake.rate_limit_per_second = 12
    a = make_client(fake, limiter=shared_limiter(redis, tenant_name, TOKEN, per_second=10))
    b = make_client(fake, limiter=shared_limiter(redis, tenant_name, TOKEN, per_second=10))
    try:
        started = time.monotonic()
        await asyncio.gather(*(c.get_chat_member(CHAT, USER) for c in (a, b) for _ in range(10)))
        elapsed = time.monotonic() - started
        assert not fake.calls_of(ok=False), "together the replicas exceeded the bot's rate"
        assert elapsed >= 19 / 10 - 0.1
    finally:
        await a.aclose()
        await b.aclose()


async def test_a_429_in_one_process_pauses_the_bot_in_the_other(fake, redis, tenant_name):
    # a gives up at once on a 429 (after pausing the bot), so the pause is still on.
    a = make_client(fake, max_429_waits=0,
                    limiter=shared_limiter(redis, tenant_name, TOKEN, per_second=100))
    b = make_client(fake, limiter=shared_limiter(redis, tenant_name, TOKEN, per_second=100))
    try:
        fake.fail_next(1, code=429, retry_after=1)
        with pytest.raises(TelegramRetryAfter):
            await a.get_me()
        remaining = await b.limiter.paused_for()
        assert 0.5 < remaining <= 1.0
        started = time.monotonic()
        assert await b.get_me()  # b never saw the 429 itself, yet waits out the pause
        assert time.monotonic() - started >= remaining - 0.05
        assert b.stats["waits_429"] == 0
        assert len(fake.calls_of("getMe", ok=False)) == 1
    finally:
        await a.aclose()
        await b.aclose()


async def test_factory_with_redis_shares_limits_without_naming_the_token(fake, redis, tenant_name):
    async def token_for(tenant: str) -> str:
        return TOKEN

    factory = BotClientFactory(token_for, base_url=fake.base_url, redis=redis, per_second=50)
    try:
        client = await factory.for_tenant(tenant_name)
        assert isinstance(client.limiter, SharedBotRateLimiter)
        assert await client.get_me()
        keys = [k.decode() for k in await redis.keys(f"t:{tenant_name}:bot:*")]
        assert keys and all(TOKEN not in k and TOKEN.split(":")[1] not in k for k in keys)
    finally:
        await factory.aclose()
