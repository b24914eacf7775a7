"""The Telegram adapter process in its two modes, and its shutdown: the service built as
``tenantry serve telegram`` builds it, on an in-process Runtime, against the fake Bot API."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from services.kit.naming import tenant_key
from services.kit.service import Runtime
from services.kit.settings import reset_settings_cache
from services.telegram import main as telegram_main
from services.telegram.webhook import SECRET_HEADER, WebhookServer
from services.telegram_api.fake import FakeBotApi

TOKEN = "654321:modes-test-token"
PUBLIC_URL = "https://bot.example.test/"
USER = 5550001
_ids = itertools.count(9000)


class SlowReplies(FakeBotApi):
    """The fake, with an event set as each sendMessage (deleteWebhook) arrives and an
    optional delay before it is answered (the message is sent, as on the real server,
    after the delay)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.reply_delay = 0.0
        self.reply_arrived = asyncio.Event()
        self.delete_webhook_delay = 0.0
        self.delete_webhook_arrived = asyncio.Event()

    async def _m_deleteWebhook(self, params: dict[str, Any]) -> bool:
        self.delete_webhook_arrived.set()
        await asyncio.sleep(self.delete_webhook_delay)
        return await super()._m_deleteWebhook(params)

    async def _m_sendMessage(self, params: dict[str, Any]) -> dict[str, Any]:
        self.reply_arrived.set()
        if self.reply_delay:
            await asyncio.sleep(self.reply_delay)
        return await super()._m_sendMessage(params)


async def until(check: Callable[[], bool | Awaitable[bool]], timeout: float = 10.0,
                what: str = "condition") -> None:
    """Wait (bounded) until ``check()`` holds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if isinstance(result, Awaitable):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.02)


def start_update(text: str = "/start", user: int = USER) -> dict[str, Any]:
    """An Update with a private-chat command message, in the Bot API's JSON shape."""
    return {"update_id": next(_ids), "message": {
        "message_id": next(_ids), "date": int(time.time()),
        "chat": {"id": user, "type": "private", "first_name": "Ann"},
        "from": {"id": user, "is_bot": False, "first_name": "Ann", "language_code": "en"},
        "text": text, "entities": [{"type": "bot_command", "offset": 0,
                                    "length": len(text.split()[0])}]}}


def _form_list(value: Any) -> list[str]:
    """allowed_updates as sent: a JSON array in form data (aiogram) or a list (JSON body)."""
    return json.loads(value) if isinstance(value, str) else list(value)


@pytest.fixture
async def fake() -> AsyncIterator[SlowReplies]:
    server = SlowReplies(token=TOKEN)
    await server.start()
    yield server
    server.push_update({"update_id": next(_ids)})  # wakes a getUpdates long poll left behind
    await server.stop()


@pytest.fixture
def configure(fake: SlowReplies, redis_url: str, tenant_name: str,
              monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Set the adapter's environment: one bot for the test's tenant, on the fake."""
    def apply(mode: str, webhook_url: str = "") -> None:
        for name in ("TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("TELEGRAM_BOT_TOKENS", f"{tenant_name}={TOKEN}")
        monkeypatch.setenv("TELEGRAM_MODE", mode)
        monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", webhook_url)
        monkeypatch.setenv("TELEGRAM_WEBHOOK_HOST", "127.0.0.1")
        monkeypatch.setenv("TELEGRAM_WEBHOOK_PORT", "0")
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("SHUTDOWN_GRACE_SECONDS", "8")
        reset_settings_cache()
    return apply


@asynccontextmanager
async def adapter() -> AsyncIterator[Runtime]:
    """The adapter on a Runtime (free gRPC port); stopped on exit unless the test did."""
    rt = Runtime("telegram", port=0, metrics=False)
    telegram_main.build(rt)
    await rt.start()
    try:
        yield rt
    finally:
        if not rt.stop_event.is_set():
            await asyncio.wait_for(rt.stop(), 20)


async def webhook_server(rt: Runtime) -> WebhookServer:
    """The runtime's WebhookServer, once it listens (port 0 → its real port)."""
    (server,) = [work.__self__ for name, work in rt._background  # type: ignore[attr-defined]
                 if name == "telegram:webhook"]
    assert isinstance(server, WebhookServer)
    await until(lambda: server.port != 0, what="the webhook server to listen")
    return server


def replies(fake: FakeBotApi, chat: int = USER) -> list[str]:
    return [c.params["text"] for c in fake.calls_of("sendMessage", chat_id=chat, ok=True)]


# -- webhook mode -----------------------------------------------------------------------------

async def test_webhook_mode_registers_the_webhook_with_secret_and_chat_member(  # type: ignore[no-untyped-def]
        fake, configure, tenant_name):
    configure("webhook", PUBLIC_URL)
    async with adapter() as rt:
        await until(lambda: fake.calls_of("setWebhook"), what="setWebhook")
        (call,) = fake.calls_of("setWebhook")
        assert call.ok
        assert call.params["url"] == f"https://bot.example.test/telegram/{tenant_name}/webhook"
        assert fake.webhook_url == call.params["url"]
        # TELEGRAM_WEBHOOK_SECRET unset: the per-bot secret derived from the token.
        secret = hmac.new(TOKEN.encode(), f"webhook:{tenant_name}".encode(),
                          hashlib.sha256).hexdigest()
        assert call.params["secret_token"] == secret
        allowed = _form_list(call.params["allowed_updates"])
        assert "chat_member" in allowed  # Telegram only sends chat_member when asked
        assert set(allowed) == {"message", "callback_query", "chat_member", "my_chat_member"}

        # The webhook the service serves accepts exactly that secret.
        server = await webhook_server(rt)
        url = f"http://127.0.0.1:{server.port}/telegram/{tenant_name}/webhook"
        async with aiohttp.ClientSession() as http:
            async with http.post(url, json=start_update(), headers={SECRET_HEADER: "x"}) as r:
                assert r.status == 401
            async with http.post(url, json=start_update(), headers={SECRET_HEADER: secret}) as r:
                assert r.status == 200
        assert replies(fake)[0].startswith("👋 I sync bans")
        assert fake.calls_of("getUpdates") == []


async def test_webhook_mode_without_public_url_does_not_touch_the_webhook(  # type: ignore[no-untyped-def]
        fake, configure):
    configure("webhook")
    async with adapter() as rt:
        await webhook_server(rt)
        await asyncio.sleep(0.2)
    assert fake.calls_of("setWebhook") == [] and fake.calls_of("getUpdates") == []


# -- polling mode -----------------------------------------------------------------------------

async def test_polling_mode_answers_start_from_get_updates(fake, configure):  # type: ignore[no-untyped-def]
    configure("polling")
    async with adapter():
        update_id = fake.push_update(start_update())
        await until(lambda: replies(fake), what="the reply to /start")
        assert replies(fake)[0].startswith("👋 I sync bans")
        # The next poll confirms the update (offset past it); the next update is answered.
        fake.push_update(start_update("/help"))
        await until(lambda: len(replies(fake)) == 2, what="the reply to /help")
    assert replies(fake)[1].startswith("Commands:")  # /start was not handled twice
    assert any(int(c.params.get("offset") or 0) > update_id for c in fake.calls_of("getUpdates"))
    calls = [c.method for c in fake.calls]
    assert calls.index("deleteWebhook") < calls.index("getUpdates")  # no webhook competes
    polls = fake.calls_of("getUpdates", ok=True)
    assert polls and all("chat_member" in _form_list(c.params["allowed_updates"]) for c in polls)
    assert fake.calls_of("setWebhook") == []


# -- graceful shutdown ------------------------------------------------------------------------

async def _assert_finished_cleanly(rt: Runtime, fake: SlowReplies, redis: Any, tenant: str,
                                   stop_returned_at: float) -> None:
    (reply,) = fake.calls_of("sendMessage", chat_id=USER)
    assert reply.ok and reply.params["text"].startswith("👋 I sync bans")
    assert reply.at <= stop_returned_at  # sent before stop() returned, not after
    # The handler ran to its end: its last step saves the user's state.
    state = json.loads(await redis.get(tenant_key(tenant, "user_state", USER)))
    assert state["last_command"] == "start"
    assert all(task.done() and not task.cancelled()
               for task in rt._tasks)  # type: ignore[attr-defined]


async def test_polling_shutdown_lets_the_update_being_handled_finish(  # type: ignore[no-untyped-def]
        fake, configure, redis, tenant_name):
    configure("polling")
    fake.reply_delay = 1.5
    async with adapter() as rt:
        fake.push_update(start_update())
        await asyncio.wait_for(fake.reply_arrived.wait(), 10)  # the reply is under way
        assert fake.calls_of("sendMessage") == []
        started = time.monotonic()
        await asyncio.wait_for(rt.stop(), 15)
        stopped = time.monotonic()
    assert stopped - started < 8  # well inside the grace, no cancellation needed
    await _assert_finished_cleanly(rt, fake, redis, tenant_name, stopped)


async def test_polling_stopped_before_it_began_stops_at_once(fake, configure):  # type: ignore[no-untyped-def]
    configure("polling")
    fake.delete_webhook_delay = 0.5  # still starting when told to stop
    async with adapter() as rt:
        await asyncio.wait_for(fake.delete_webhook_arrived.wait(), 10)
        started = time.monotonic()
        await asyncio.wait_for(rt.stop(), 15)
        elapsed = time.monotonic() - started
    assert elapsed < 4  # not the whole grace (8 s) and a cancellation
    assert [c.method for c in fake.calls] == ["deleteWebhook"]  # polling never started
    assert all(task.done() for task in rt._tasks)  # type: ignore[attr-defined]


async def test_webhook_shutdown_finishes_in_flight_updates_and_refuses_new_ones(  # type: ignore[no-untyped-def]
        fake, configure, redis, tenant_name):
    configure("webhook")
    fake.reply_delay = 1.5
    async with adapter() as rt, aiohttp.ClientSession() as http:
        server = await webhook_server(rt)
        url = f"http://127.0.0.1:{server.port}/telegram/{tenant_name}/webhook"

        async def post(update: dict[str, Any], secret: str | None) -> int:
            headers = {SECRET_HEADER: secret} if secret else {}
            async with http.post(url, json=update, headers=headers,
                                 timeout=aiohttp.ClientTimeout(total=15)) as response:
                return response.status

        in_flight = asyncio.create_task(post(start_update(), server.bots[tenant_name].secret))
        await asyncio.wait_for(fake.reply_arrived.wait(), 10)
        stopping = asyncio.create_task(rt.stop())
        # While the update finishes, new deliveries get 503 (Telegram will redeliver them).
        refused = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            refused = await post(start_update(), None)  # no secret: 401 until closing, then 503
            if refused == 503:
                break
            await asyncio.sleep(0.02)
        assert refused == 503
        assert not in_flight.done()
        assert await asyncio.wait_for(in_flight, 10) == 200
        await asyncio.wait_for(stopping, 15)
        stopped = time.monotonic()
    await _assert_finished_cleanly(rt, fake, redis, tenant_name, stopped)


async def test_a_polling_start_failure_surfaces_at_once_and_is_retried(fake, configure):  # type: ignore[no-untyped-def]
    configure("polling")
    # aiogram's start_polling asks getMe first; a refused token fails it at once.
    fake.fail_next(1, code=401, description="Unauthorized", method="getMe")
    with capture_logs() as logs:
        async with adapter():
            await until(lambda: any(e["event"] == "background_failed" for e in logs),
                        what="the polling failure to be logged")
            # The supervisor starts polling again (with backoff), and it runs this time.
            fake.push_update(start_update())
            await until(lambda: replies(fake), what="the reply after polling restarted", timeout=15)
    failed = [e for e in logs if e["event"] == "background_failed"]
    assert failed[0]["task"].startswith("telegram:poll:")
    assert replies(fake)[0].startswith("👋 I sync bans")
