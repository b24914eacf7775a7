"""The sync API as REST/JSON through the real gateway (/moderation/api/v1/sync/...), against a
real moderation gRPC server, PostgreSQL, Redis and the fake Bot API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.kit.naming import schema_name
from services.kit.settings import reset_settings_cache
from services.moderation.sync.engine import SyncEngine
from services.moderation.sync.grpc import register
from tests.fakes.moderation_sync import (
    BANNED_USER,
    SOURCE_CHAT,
    TOKEN,
    add_subscription,
    chat_ids,
)
from tests.fakes.telegram_bot_api import FakeBotApi
from tests.moderation.conftest import gateway_client, serve

API = "/moderation/api/v1/sync"
UNKNOWN_SYNC = "00000000-0000-4000-8000-000000000000"
RUN_FIELDS = {"sync_id", "ban_event_id", "user_id", "source_chat_id", "event_type", "status",
              "trigger", "total_chats", "successful", "failed", "skipped", "pending",
              "awaiting_confirmation", "policy", "created_at"}
LOG_FIELDS = {"id", "sync_id", "ban_event_id", "source_chat_id", "target_chat_id", "user_id",
              "action", "status", "error_message", "retry_count", "started_at", "completed_at",
              "created_at", "awaiting_confirmation"}


async def add_ban_event(engine: Any, tenant: str, event_id: str) -> int:
    """A stored permanent ban of BANNED_USER in SOURCE_CHAT; its id."""
    async with engine.begin() as conn:
        return int((await conn.execute(text(
            f'INSERT INTO "{schema_name("moderation", tenant)}".ban_events (event_id, user_id, '
            " chat_id, event_type, reason, event_timestamp) VALUES (:e, :u, :c, 'ban', 'spam', :t)"
            " RETURNING id"), {"e": event_id, "u": BANNED_USER, "c": SOURCE_CHAT,
                                "t": datetime.now(UTC)})).scalar_one())


async def written(engine: Any, tenant: str) -> tuple[int, int, int]:
    """Rows in sync_runs, sync_logs and the outbox."""
    s = schema_name("moderation", tenant)
    async with engine.connect() as conn:
        return tuple([int((await conn.execute(text(f'SELECT count(*) FROM "{s}".{t}'))
                          ).scalar_one()) for t in ("sync_runs", "sync_logs", "outbox")])


@pytest.fixture
async def world(moderation_tenant: str, engine: Any, monkeypatch: pytest.MonkeyPatch,
                database_url: str, redis_url: str
                ) -> AsyncIterator[tuple[httpx.AsyncClient, SyncEngine, FakeBotApi]]:
    """(gateway client of a moderator, the served sync engine, the fake Bot API)."""
    async with FakeBotApi(token=TOKEN) as fake:
        monkeypatch.setenv("TELEGRAM_API_BASE", fake.base_url)
        monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
        reset_settings_cache()
        engines: list[SyncEngine] = []
        async with serve(lambda rt: engines.append(register(rt))) as (rt, _):
            async with gateway_client(engine, moderation_tenant, rt, role="moderator") as client:
                yield client, engines[0], fake
            await engines[0].drain()


async def test_trigger_status_logs_and_retry_over_rest(world, engine, moderation_tenant):
    rest, sync_engine, fake = world
    tenant = moderation_tenant
    ok, forbidden, gone = chat_ids(3, base=-1007300000000)
    for i, chat in enumerate((ok, forbidden, gone)):
        await add_subscription(engine, tenant, admin_user_id=730 + i, admin_chat_id=chat)
        fake.add_chat(chat, members={BANNED_USER: "member"})
    fake.chats[forbidden].bot_status = "left"  # 403: final, never retried on its own
    fake.remove_chat(gone)  # 400 chat not found: final too
    ban_event_id = await add_ban_event(engine, tenant, "rest-1")

    r = await rest.post(f"{API}/trigger", json={"ban_event_id": ban_event_id})
    assert r.status_code == 200, r.text
    started = r.json()
    assert set(started) == {"sync_id", "total_chats"} and started["total_chats"] == 3
    sync_id = started["sync_id"]
    await sync_engine.drain()

    r = await rest.get(f"{API}/status/{sync_id}")
    assert r.status_code == 200, r.text
    run = r.json()["sync"]
    assert RUN_FIELDS <= set(run) and "finished_at" in run
    assert (run["sync_id"], run["ban_event_id"], run["user_id"], run["source_chat_id"]) == (
        sync_id, ban_event_id, BANNED_USER, SOURCE_CHAT)
    assert isinstance(run["user_id"], int)  # int64 as a JSON number, not a string
    assert (run["status"], run["trigger"], run["event_type"]) == ("partial", "manual", "ban")
    assert (run["total_chats"], run["successful"], run["failed"], run["skipped"],
            run["pending"]) == (3, 1, 2, 0, 0)

    r = await rest.get(f"{API}/logs", params={"ban_event_id": ban_event_id})
    assert r.status_code == 200, r.text
    rows = r.json()["logs"]
    r = await rest.get(f"{API}/logs", params={"sync_id": sync_id})  # the same run, by its id
    assert [row["id"] for row in r.json()["logs"]] == [row["id"] for row in rows]
    r = await rest.get(f"{API}/logs", params={"sync_id": "not-a-uuid"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "sync_id"
    assert len(rows) == 3 and all(LOG_FIELDS <= set(row) for row in rows)
    assert all(row["sync_id"] == sync_id and row["user_id"] == BANNED_USER
               and row["action"] == "ban" and row["awaiting_confirmation"] is False
               for row in rows)
    by_chat = {row["target_chat_id"]: row for row in rows}
    assert set(by_chat) == {ok, forbidden, gone}
    assert (by_chat[ok]["status"], by_chat[ok]["until_date"]) == ("success", 0)
    assert by_chat[forbidden]["status"] == by_chat[gone]["status"] == "failed"
    assert "not a member" in by_chat[forbidden]["error_message"]
    assert "chat not found" in by_chat[gone]["error_message"]
    # until_date is what was sent to Telegram (0 = forever), absent where nothing was.
    assert "until_date" not in by_chat[forbidden] and "until_date" not in by_chat[gone]
    assert [row["id"] for row in rows] == sorted((row["id"] for row in rows), reverse=True)
    r = await rest.get(f"{API}/logs", params={"status": "failed", "ban_event_id": ban_event_id})
    assert r.status_code == 200
    assert sorted(row["target_chat_id"] for row in r.json()["logs"]) == sorted([forbidden, gone])

    # The admin adds the bot back, the chat exists again: a retry lands everywhere.
    fake.chats[forbidden].bot_status = "administrator"
    fake.add_chat(gone, members={BANNED_USER: "member"})
    r = await rest.post(f"{API}/retry/{sync_id}", json={})
    assert r.status_code == 200, r.text
    assert r.json() == {"sync_id": sync_id, "retried": 2}
    await sync_engine.drain()

    r = await rest.get(f"{API}/status/{sync_id}")
    run = r.json()["sync"]
    assert (run["status"], run["successful"], run["failed"], run["pending"]) == (
        "completed", 3, 0, 0)
    r = await rest.get(f"{API}/logs", params={"ban_event_id": ban_event_id})
    rows = r.json()["logs"]
    assert {row["target_chat_id"]: row["status"] for row in rows} == {
        ok: "success", forbidden: "success", gone: "success"}
    assert all(row["until_date"] == 0 for row in rows)
    for chat in (ok, forbidden, gone):
        assert fake.status_of(chat, BANNED_USER) == "kicked"
        assert len(fake.calls_of("banChatMember", chat_id=chat, ok=True)) == 1

    r = await rest.post(f"{API}/retry/{sync_id}", json={})
    assert r.status_code == 412 and r.json()["error"]["code"] == "nothing_to_retry"


async def test_bad_input_is_422_with_its_fields_and_writes_nothing(world, engine,
                                                                   moderation_tenant):
    rest, sync_engine, fake = world
    tenant = moderation_tenant
    (chat,) = chat_ids(1, base=-1007400000000)
    await add_subscription(engine, tenant, admin_user_id=740, admin_chat_id=chat)
    fake.add_chat(chat, members={BANNED_USER: "member"})
    ban_event_id = await add_ban_event(engine, tenant, "rest-2")
    nothing = await written(engine, tenant)

    def fields(response: httpx.Response) -> set[str]:
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["status"] == "INVALID_ARGUMENT"
        return {f["field"] for f in error["fields"]}

    assert fields(await rest.post(f"{API}/trigger", json={"ban_event_id": "abc"})) == {
        "ban_event_id"}
    assert fields(await rest.post(f"{API}/trigger", json={
        "ban_event_id": 0, "target_chat_ids": [0]})) == {"ban_event_id", "target_chat_ids"}
    assert fields(await rest.post(f"{API}/trigger", json={
        "ban_event_id": ban_event_id, "target_chat_ids": list(range(1, 1002))})) == {
        "target_chat_ids"}
    assert fields(await rest.post(f"{API}/trigger", json={
        "ban_event_id": ban_event_id, "chat": chat})) == {"chat"}
    assert fields(await rest.get(f"{API}/status/not-a-uuid")) == {"sync_id"}
    assert fields(await rest.post(f"{API}/retry/not-a-uuid", json={})) == {"sync_id"}
    assert fields(await rest.get(f"{API}/logs", params={
        "status": "weird", "target_chat_id": 0})) == {"status", "target_chat_id"}
    assert fields(await rest.get(f"{API}/logs", params={"ban_event_id": "x"})) == {
        "ban_event_id"}
    assert fields(await rest.get(f"{API}/logs", params={"page_size": 501})) == {"page_size"}

    # Unknown ids are 404 with their codes.
    r = await rest.post(f"{API}/trigger", json={"ban_event_id": ban_event_id + 1000})
    assert r.status_code == 404 and r.json()["error"]["code"] == "ban_event_not_found"
    r = await rest.get(f"{API}/status/{UNKNOWN_SYNC}")
    assert r.status_code == 404 and r.json()["error"]["code"] == "sync_not_found"
    r = await rest.post(f"{API}/retry/{UNKNOWN_SYNC}", json={})
    assert r.status_code == 404 and r.json()["error"]["code"] == "sync_not_found"

    await sync_engine.drain()
    assert await written(engine, tenant) == nothing == (0, 0, 0)
    assert not fake.calls
    assert fake.status_of(chat, BANNED_USER) == "member"

    # The same event, asked for properly, is synced: the refusals were about the input.
    r = await rest.post(f"{API}/trigger", json={"ban_event_id": ban_event_id})
    assert r.status_code == 200 and r.json()["total_chats"] == 1
    await sync_engine.drain()
    assert fake.status_of(chat, BANNED_USER) == "kicked"
