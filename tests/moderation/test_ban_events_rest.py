"""Seed 001 §4 through the real gateway: the six ban event endpoints as REST/JSON, against a real
moderation gRPC server (ban events + users/chats), PostgreSQL and Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from services.identity.registry import register_tenant
from services.kit.auth import issue_token
from services.kit.migrations import migrate
from services.kit.naming import schema_name
from services.kit.service import Runtime
from services.moderation.ban_events.grpc import register as register_ban_events
from services.moderation.ban_events.retention import archive_expired
from services.moderation.users.grpc import register as register_users
from tests.moderation.conftest import gateway_client, serve

API = "/moderation/api/v1"
#: The seed's ban_events columns a client sends and reads back under the same JSON names.
SEED_FIELDS = ("event_id", "user_id", "chat_id", "event_type", "ban_duration", "reason", "initiator_user_id",
               "event_timestamp")


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def event(event_id: str, **kw: Any) -> dict[str, Any]:
    """A valid request body (fields as the seed names them), overridden by ``kw``."""
    body: dict[str, Any] = {"event_id": event_id, "user_id": 987654321, "chat_id": -1001234567890,
                            "event_type": "ban", "reason": "spam links"}
    body.update(kw)
    return body


async def counts(engine: Any, tenant: str) -> tuple[int, int, int]:
    """Live ban_events rows, and ban.detected / ban.registered rows in the outbox."""
    s = schema_name("moderation", tenant)
    async with engine.connect() as conn:
        rows = (await conn.execute(text(f'SELECT count(*) FROM "{s}".ban_events'))).scalar_one()
        topics = dict((await conn.execute(text(
            f'SELECT topic, count(*) FROM "{s}".outbox GROUP BY topic'))).all())
    return rows, topics.get("ban.detected", 0), topics.get("ban.registered", 0)


@pytest.fixture
async def served(database_url: str, redis_url: str) -> AsyncIterator[tuple[Runtime, Any]]:
    """Ban events and users/chats (for RegisterChat) in one in-process moderation server."""
    async with serve(register_users, register_ban_events) as pair:
        yield pair


@pytest.fixture
async def rest(served: tuple[Runtime, Any], moderation_tenant: str, engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(engine, moderation_tenant, served[0]) as client:
        yield client


async def other_tenant(engine: Any, tenant: str) -> dict[str, str]:
    """A second tenant with the app, and the headers of its admin."""
    await migrate(engine, "moderation", tenant)
    await register_tenant(engine, name=tenant, display_name="B", apps=["moderation"], limits={},
                          retention_days=365)
    token, _ = issue_token("user-2", typ="access", tenant=tenant, role="admin")
    return {"authorization": f"Bearer {token}"}


async def test_the_six_endpoints_speak_the_seeds_json(rest: httpx.AsyncClient, engine: Any,
                                                      moderation_tenant: str) -> None:
    at = _iso(datetime.now(UTC) - timedelta(hours=2))
    body = event("tg:-1001234567890:42", ban_duration=3600, initiator_user_id=111222333, event_timestamp=at,
                 metadata={"source": "bot"}, username="spammer", chat_title="Main")
    r = await rest.post(f"{API}/events/ban", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["created"] is True
    stored = r.json()["event"]
    assert {k: stored[k] for k in SEED_FIELDS} == {k: body[k] for k in SEED_FIELDS}
    assert isinstance(stored["id"], int) and stored["id"] > 0 and stored["created_at"]
    assert stored["metadata"] == {"source": "bot", "username": "spammer", "chat_title": "Main"}
    assert "archived_at" not in stored

    # A repeat is the original, 200 not 201, and writes nothing.
    again = await rest.post(f"{API}/events/ban", json={**body, "reason": "something else"})
    assert again.status_code == 200, again.text
    assert again.json() == {"event": stored, "created": False}
    assert await counts(engine, moderation_tenant) == (1, 1, 1)

    r = await rest.get(f"{API}/events/ban/{body['event_id']}")
    assert r.status_code == 200 and r.json() == {"event": stored}
    # By the row id, the ban_event_id that ban.detected and the sync API carry.
    r = await rest.get(f"{API}/events/ban/id/{stored['id']}")
    assert r.status_code == 200 and r.json() == {"event": stored}

    r = await rest.get(f"{API}/events/user/987654321")
    assert r.status_code == 200 and r.json() == {"events": [stored], "page": {"next_page_token": ""}}
    r = await rest.get(f"{API}/events/chat/-1001234567890")
    assert r.status_code == 200 and [e["id"] for e in r.json()["events"]] == [stored["id"]]
    r = await rest.get(f"{API}/events/search", params={"user_id": 987654321, "reason": "SPAM"})
    assert r.status_code == 200 and r.json()["events"] == [stored]

    # A permanent ban has no ban_duration at all (not 0).
    r = await rest.post(f"{API}/events/bulk", json={"events": [event("bulk-1"), event("bulk-2", event_type="kick")]})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert (reply["created"], reply["duplicates"], reply["invalid"]) == (2, 0, 0)
    assert [(x["index"], x["event_id"], x["status"]) for x in reply["results"]] == [
        (0, "bulk-1", "created"), (1, "bulk-2", "created")]
    bulk_one = (await rest.get(f"{API}/events/ban/bulk-1")).json()["event"]
    assert bulk_one["id"] == reply["results"][0]["id"] and "ban_duration" not in bulk_one
    assert await counts(engine, moderation_tenant) == (3, 3, 3)


async def test_a_registered_chat_without_events_is_an_empty_page_not_404(rest: httpx.AsyncClient) -> None:
    r = await rest.post(f"{API}/chats", json={"chat_id": -100777, "chat_title": "Flat"})
    assert r.status_code == 201, r.text
    r = await rest.get(f"{API}/events/chat/-100777")
    assert r.status_code == 200, r.text
    assert r.json() == {"events": [], "page": {"next_page_token": ""}}
    r = await rest.get(f"{API}/events/chat/-100778")
    assert r.status_code == 404 and r.json()["error"]["code"] == "chat_not_found"


async def test_history_pages_follow_next_page_token(rest: httpx.AsyncClient) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
    # Two events share a timestamp: the id breaks the tie, so no page repeats or skips one.
    for i, hours in enumerate((0, 5, 1, 3, 3, 2, 4)):
        r = await rest.post(f"{API}/events/ban", json=event(f"p-{i}", user_id=42, chat_id=-7,
                                                              event_timestamp=_iso(base + timedelta(hours=hours))))
        assert r.status_code == 201, r.text
    await rest.post(f"{API}/events/ban", json=event("p-other", user_id=43, chat_id=-8))

    for path in (f"{API}/events/user/42", f"{API}/events/chat/-7"):
        seen: list[dict[str, Any]] = []
        sizes, token = [], ""
        while True:
            params = {"page_size": 3, **({"page_token": token} if token else {})}
            r = await rest.get(path, params=params)
            assert r.status_code == 200, r.text
            page = r.json()
            seen += page["events"]
            sizes.append(len(page["events"]))
            token = page["page"]["next_page_token"]
            if not token or len(sizes) > 5:
                break
        assert sizes == [3, 3, 1]
        assert {e["event_id"] for e in seen} == {f"p-{i}" for i in range(7)}
        keys = [(e["event_timestamp"], e["id"]) for e in seen]
        assert keys == sorted(keys, reverse=True)

    r = await rest.get(f"{API}/events/search", params={"chat_id": -7, "page_size": 4})
    first = r.json()
    assert len(first["events"]) == 4 and first["page"]["next_page_token"]
    r = await rest.get(f"{API}/events/search", params={"chat_id": -7, "page_size": 4,
                                                      "page_token": first["page"]["next_page_token"]})
    assert len(r.json()["events"]) == 3 and not r.json()["page"]["next_page_token"]
    assert not {e["id"] for e in first["events"]} & {e["id"] for e in r.json()["events"]}

    r = await rest.get(f"{API}/events/user/42", params={"page_token": "garbage!"})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["page_token"]
    r = await rest.get(f"{API}/events/user/42", params={"page_size": 501})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["page_size"]


async def test_search_filters_by_user_chat_period_type_and_reason(rest: httpx.AsyncClient) -> None:
    day = (datetime.now(UTC) - timedelta(days=20)).replace(hour=12, minute=0, second=0, microsecond=0)
    rows = [
        ("s-1", 1, -10, "ban", "Crypto SPAM in replies", day),
        ("s-2", 1, -20, "kick", "flood", day + timedelta(days=1)),
        ("s-3", 2, -10, "restrict", "spam bot", day + timedelta(days=2)),
        ("s-4", 3, -30, "unban", "appeal accepted", day + timedelta(days=3)),
        ("s-5", 2, -20, "ban", "100% scam_link", day + timedelta(days=4)),
    ]
    for eid, user, chat, kind, reason, at in rows:
        r = await rest.post(f"{API}/events/ban", json=event(eid, user_id=user, chat_id=chat, event_type=kind,
                                                              reason=reason, event_timestamp=_iso(at)))
        assert r.status_code == 201, r.text

    async def ids(**params: Any) -> list[str]:
        r = await rest.get(f"{API}/events/search", params=params)
        assert r.status_code == 200, r.text
        return [e["event_id"] for e in r.json()["events"]]

    def date(offset: int) -> str:
        return (day + timedelta(days=offset)).date().isoformat()

    assert await ids(user_id=1) == ["s-2", "s-1"]
    assert await ids(chat_id=-10) == ["s-3", "s-1"]
    assert await ids(event_type="ban") == ["s-5", "s-1"]
    assert await ids(reason="spam") == ["s-3", "s-1"]  # case-insensitive substring
    assert await ids(reason="0% sc") == ["s-5"]  # % and _ are literal
    # A date range: from = that day's start, to = the end of that day.
    assert await ids(**{"from": date(1), "to": date(2)}) == ["s-3", "s-2"]
    assert await ids(**{"from": _iso(day + timedelta(days=3))}) == ["s-5", "s-4"]
    assert await ids(user_id=2, reason="spam", event_type="restrict") == ["s-3"]
    assert await ids(user_id=2, chat_id=-10, **{"from": date(0), "to": date(4)}) == ["s-3"]
    assert await ids() == ["s-5", "s-4", "s-3", "s-2", "s-1"]

    for params, field in [({"event_type": "mute"}, "event_type"), ({"reason": "ab"}, "reason"),
                          ({"from": "yesterday"}, "from"), ({"from": date(2), "to": date(1)}, "to"),
                          ({"user_id": -1}, "user_id"), ({"user_id": "abc"}, "user_id"),
                          ({"color": "red"}, "color")]:
        r = await rest.get(f"{API}/events/search", params=params)
        assert r.status_code == 422, (params, r.text)
        assert [f["field"] for f in r.json()["error"]["fields"]] == [field], params


async def test_bulk_reports_each_item_and_refuses_an_oversized_batch_whole(
        rest: httpx.AsyncClient, engine: Any, moderation_tenant: str) -> None:
    old = (await rest.post(f"{API}/events/ban", json=event("b-old"))).json()["event"]
    batch = [event("b-1"), event("b-old"), event("b-2", event_type="mute"), event("b-1"),
             event("b-3", ban_duration=-1, reason=""), event("b-4", event_type="unban", user_id=5)]
    r = await rest.post(f"{API}/events/bulk", json={"events": batch})
    assert r.status_code == 200, r.text
    reply = r.json()
    assert [(x["index"], x["event_id"], x["status"]) for x in reply["results"]] == [
        (0, "b-1", "created"), (1, "b-old", "duplicate"), (2, "b-2", "invalid"), (3, "b-1", "duplicate"),
        (4, "b-3", "invalid"), (5, "b-4", "created")]
    assert (reply["created"], reply["duplicates"], reply["invalid"]) == (2, 2, 2)
    assert reply["results"][1]["id"] == old["id"]
    assert reply["results"][3]["id"] == reply["results"][0]["id"] != 0
    assert {v["field"] for v in reply["results"][2]["violations"]} == {"event_type"}
    assert {v["field"] for v in reply["results"][4]["violations"]} == {"ban_duration", "reason"}
    assert reply["results"][2]["id"] == 0
    assert await counts(engine, moderation_tenant) == (3, 3, 3)

    # Over the documented 5,000: 422 for the whole call, nothing written (not even the good items).
    r = await rest.post(f"{API}/events/bulk", json={"events": [event(f"o-{i}") for i in range(5001)]})
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == ["events"]
    r = await rest.post(f"{API}/events/bulk", json={"events": []})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["events"]
    assert await counts(engine, moderation_tenant) == (3, 3, 3)
    assert (await rest.get(f"{API}/events/ban/o-0")).status_code == 404


@pytest.mark.parametrize(("bad", "fields"), [
    ({"event_id": "a$b"}, {"event_id"}),
    ({"event_id": "has space"}, {"event_id"}),
    ({"event_id": ""}, {"event_id"}),
    ({"event_id": "x" * 256}, {"event_id"}),
    ({"user_id": -5, "chat_id": 0}, {"user_id", "chat_id"}),
    ({"event_type": "mute"}, {"event_type"}),
    ({"event_type": "BAN"}, {"event_type"}),
    ({"ban_duration": -60}, {"ban_duration"}),
    ({"ban_duration": 0}, {"ban_duration"}),
    ({"ban_duration": 10 ** 12}, {"ban_duration"}),
    ({"event_type": "kick", "ban_duration": 60}, {"ban_duration"}),
    ({"reason": ""}, {"reason"}),
    ({"reason": "   "}, {"reason"}),
    ({"reason": "r" * 1001}, {"reason"}),
    ({"initiator_user_id": -1}, {"initiator_user_id"}),
    ({"event_timestamp": "2001-01-01T00:00:00Z"}, {"event_timestamp"}),
    ({"event_type": "mute", "ban_duration": -1, "reason": ""}, {"event_type", "ban_duration", "reason"}),
    # Refused by the gateway's binding before the service: a wrong JSON type or an unknown field.
    ({"user_id": "abc"}, {"user_id"}),
    ({"ban_duration": "forever"}, {"ban_duration"}),
    ({"event_timestamp": "yesterday"}, {"event_timestamp"}),
    ({"colour": "red"}, {"colour"}),
])
async def test_bad_input_is_422_with_the_offending_fields_and_writes_nothing(
        rest: httpx.AsyncClient, engine: Any, moderation_tenant: str, bad: dict[str, Any], fields: set[str]) -> None:
    r = await rest.post(f"{API}/events/ban", json={**event("ok-1"), **bad})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["status"] == "INVALID_ARGUMENT"
    assert {f["field"] for f in error["fields"]} == fields
    assert "Traceback" not in error["message"]
    assert await counts(engine, moderation_tenant) == (0, 0, 0)


@pytest.mark.parametrize(("path", "field"), [
    ("/events/ban/a$b", "event_id"),
    ("/events/ban/" + "x" * 256, "event_id"),
    ("/events/ban/id/abc", "id"),
    ("/events/ban/id/0", "id"),
    ("/events/ban/id/-3", "id"),
    ("/events/user/abc", "user_id"),
    ("/events/user/-5", "user_id"),
    ("/events/chat/0", "chat_id"),
    ("/events/chat/xyz", "chat_id"),
])
async def test_malformed_ids_in_the_path_are_422_not_404(rest: httpx.AsyncClient, path: str, field: str) -> None:
    r = await rest.get(API + path)
    assert r.status_code == 422, r.text
    assert [f["field"] for f in r.json()["error"]["fields"]] == [field]


async def test_another_tenants_event_and_chat_are_404(rest: httpx.AsyncClient, engine: Any,
                                                      moderation_tenant: str) -> None:
    mine = (await rest.post(f"{API}/events/ban", json=event("x-1", chat_id=-55))).json()["event"]
    assert (await rest.post(f"{API}/chats", json={"chat_id": -66, "chat_title": "Quiet"})).status_code == 201
    theirs = await other_tenant(engine, moderation_tenant + "b")

    for path in ("/events/ban/x-1", f"/events/ban/id/{mine['id']}", "/events/chat/-55", "/events/chat/-66"):
        r = await rest.get(API + path, headers=theirs)
        assert r.status_code == 404, (path, r.text)
        assert r.json()["error"]["status"] == "NOT_FOUND"
    r = await rest.get(f"{API}/events/user/987654321", headers=theirs)
    assert r.status_code == 200 and r.json()["events"] == []
    r = await rest.get(f"{API}/events/search", params={"reason": "spam"}, headers=theirs)
    assert r.status_code == 200 and r.json()["events"] == []
    # The same event_id in the other tenant is that tenant's own new event, not a repeat.
    r = await rest.post(f"{API}/events/ban", json=event("x-1"), headers=theirs)
    assert r.status_code == 201 and r.json()["created"] is True
    # And it did not touch the first tenant's event.
    assert (await rest.get(f"{API}/events/ban/x-1")).json()["event"] == mine

    member, _ = issue_token("user-3", typ="access", tenant=moderation_tenant, role="member")
    r = await rest.post(f"{API}/events/ban", json=event("x-2"), headers={"authorization": f"Bearer {member}"})
    assert r.status_code == 403
    r = await rest.get(f"{API}/events/ban/x-1", headers={"authorization": f"Bearer {member}"})
    assert r.status_code == 200
    assert (await rest.get(f"{API}/events/ban/x-1", headers={"authorization": ""})).status_code == 401


async def test_a_repeat_of_an_archived_event_is_the_original_in_both_paths(
        rest: httpx.AsyncClient, engine: Any, moderation_tenant: str) -> None:
    old = event("arch-1", chat_id=-900, event_timestamp=_iso(datetime.now(UTC) - timedelta(days=400)))
    r = await rest.post(f"{API}/events/ban", json=old)
    assert r.status_code == 201, r.text
    original = r.json()["event"]
    assert await archive_expired(engine, moderation_tenant, 365) == 1
    assert await counts(engine, moderation_tenant) == (0, 1, 1)

    r = await rest.post(f"{API}/events/ban", json=old)
    assert r.status_code == 200, r.text
    assert r.json()["created"] is False
    again = r.json()["event"]
    assert again["id"] == original["id"] and again["archived_at"]
    assert {k: again.get(k) for k in SEED_FIELDS} == {k: original.get(k) for k in SEED_FIELDS}
    r = await rest.post(f"{API}/events/bulk", json={"events": [old, event("arch-2", chat_id=-900)]})
    repeat, fresh = r.json()["results"]
    assert (repeat["status"], repeat["id"], fresh["status"]) == ("duplicate", original["id"], "created")
    # Only arch-2 was written: one live row, one more ban.detected / ban.registered.
    assert await counts(engine, moderation_tenant) == (1, 2, 2)

    for path in ("/events/ban/arch-1", f"/events/ban/id/{original['id']}"):
        r = await rest.get(API + path)
        assert r.status_code == 200 and r.json()["event"] == again
    # Histories are the live table: the archived event is not in them.
    r = await rest.get(f"{API}/events/chat/-900")
    assert [e["event_id"] for e in r.json()["events"]] == ["arch-2"]


async def test_historical_bulk_import_emits_ban_registered_only(rest: httpx.AsyncClient, engine: Any,
                                                                moderation_tenant: str) -> None:
    past = _iso(datetime.now(UTC) - timedelta(days=30))
    r = await rest.post(f"{API}/events/bulk", json={
        "historical": True, "events": [event(f"h-{i}", event_timestamp=past) for i in range(3)]})
    assert r.status_code == 200 and r.json()["created"] == 3, r.text
    assert await counts(engine, moderation_tenant) == (3, 0, 3)
    # A repeat of a historical import is a duplicate like any other; the default still emits both.
    r = await rest.post(f"{API}/events/bulk", json={"events": [event("h-0"), event("live-1")]})
    assert [x["status"] for x in r.json()["results"]] == ["duplicate", "created"]
    assert await counts(engine, moderation_tenant) == (4, 1, 4)
    r = await rest.post(f"{API}/events/bulk", json={"historical": "yes", "events": [event("h-9")]})
    assert r.status_code == 422 and [f["field"] for f in r.json()["error"]["fields"]] == ["historical"]


async def test_openapi_states_201_and_200_where_the_created_field_decides(rest: httpx.AsyncClient) -> None:
    paths = (await rest.get("/openapi.json")).json()["paths"]
    register = paths[f"{API}/events/ban"]["post"]["responses"]
    assert {"200", "201"} <= set(register)
    # A creating method without a created field is 201 only; a non-creating one 200 only.
    assert "201" in paths[f"{API}/chats"]["post"]["responses"]
    assert "200" not in paths[f"{API}/chats"]["post"]["responses"]
    bulk = paths[f"{API}/events/bulk"]["post"]["responses"]
    assert "200" in bulk and "201" not in bulk
    by_id = paths[f"{API}/events/ban/id/{{id}}"]["get"]
    assert [p["name"] for p in by_id["parameters"] if p["in"] == "path"] == ["id"]
