"""The seed's REST paths of users and subscriptions, through the real gateway (JSON as the seed shows)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.moderation.conftest import gateway_client


@pytest.fixture
async def rest(moderation_server: Any, moderation_tenant: str, engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    async with gateway_client(engine, moderation_tenant, moderation_server[0],
                              limits={"subscriptionsPerAdmin": 2}) as client:
        yield client


async def test_subscription_endpoints_speak_the_seeds_json(rest: httpx.AsyncClient) -> None:
    base = "/moderation/api/v1/subscriptions"
    body = {"admin_user_id": 111222333, "admin_chat_id": -123456789, "tracked_user_id": 987654321,
            "settings": {"notify": True}}
    r = await rest.post(base, json=body)
    assert r.status_code == 201, r.text
    sub = r.json()["subscription"]
    assert sub["admin_user_id"] == 111222333 and sub["tracked_user_id"] == 987654321
    assert sub["settings"] == {"notify": True} and isinstance(sub["id"], int)

    r = await rest.post(base, json=body)
    assert r.status_code == 409 and r.json()["error"]["code"] == "subscription_exists"
    r = await rest.post(base, json={**body, "tracked_user_id": 111222333})
    assert r.status_code == 422 and r.json()["error"]["code"] == "self_subscription"
    assert r.json()["error"]["fields"][0]["field"] == "tracked_user_id"
    assert (await rest.post(base, json={**body, "tracked_user_id": 5})).status_code == 201
    r = await rest.post(base, json={**body, "tracked_user_id": 6})
    assert r.status_code == 429 and r.json()["error"]["code"] == "subscription_limit_reached"

    r = await rest.get(f"{base}/check", params={"admin_user_id": 111222333, "admin_chat_id": -123456789,
                                                "tracked_user_id": 987654321})
    assert r.status_code == 200 and r.json()["exists"] is True
    r = await rest.get(f"{base}/admin/111222333", params={"admin_chat_id": -123456789, "page_size": 1})
    first = r.json()
    assert r.status_code == 200 and len(first["subscriptions"]) == 1 and first["page"]["next_page_token"]
    r = await rest.get(f"{base}/admin/111222333", params={"page_size": 1,
                                                          "page_token": first["page"]["next_page_token"]})
    assert [s["tracked_user_id"] for s in r.json()["subscriptions"]] == [5]
    r = await rest.get(f"{base}/user/987654321")
    assert [s["admin_user_id"] for s in r.json()["subscriptions"]] == [111222333]
    r = await rest.get(f"{base}/stats", params={"admin_user_id": 111222333})
    assert r.json()["total_active"] == 2 and r.json()["limit_per_admin"] == 2
    assert (await rest.delete(f"{base}/{sub['id']}")).status_code == 200
    assert (await rest.delete(f"{base}/{sub['id']}")).status_code == 404


async def test_user_and_chat_endpoints(rest: httpx.AsyncClient) -> None:
    api = "/moderation/api/v1"
    r = await rest.post(f"{api}/users", json={"user_id": 987654321, "username": "spammer"})
    assert r.status_code == 201 and r.json()["user"]["user_id"] == 987654321
    r = await rest.put(f"{api}/users/987654321", json={"username": "renamed"})
    assert r.json()["user"]["username"] == "renamed"
    r = await rest.put(f"{api}/users/987654321/settings", json={"language": "en", "timezone": "Europe/Berlin"})
    assert r.status_code == 200 and r.json()["settings"]["timezone"] == "Europe/Berlin"
    r = await rest.post(f"{api}/chats", json={"chat_id": -100777, "chat_title": "Flat"})
    assert r.status_code == 201 and r.json()["chat"]["sync_ban_type"] == "same"
    r = await rest.put(f"{api}/chats/-100777/settings", json={"sync_delay_seconds": 100000})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "sync_delay_seconds"
    r = await rest.post(f"{api}/chats/-100777/admins", json={"user_id": 987654321, "role": "owner"})
    assert r.status_code == 200 and r.json()["created"] is True
    r = await rest.get(f"{api}/admins/verify", params={"user_id": 987654321, "chat_id": -100777})
    assert r.json() == {"is_admin": True, "role": "owner", "can_ban": True}
    r = await rest.get(f"{api}/admins/verify", params={"user_id": 1, "chat_id": -100777})
    assert r.json()["is_admin"] is False
    r = await rest.post(f"{api}/chats/-100777/bot-removed", json={"status": "gone"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "status"
    r = await rest.post(f"{api}/chats/-100777/bot-removed", json={"status": "kicked"})
    assert r.status_code == 200 and r.json() == {"subscriptions_deactivated": 0}
    r = await rest.post(f"{api}/users/batch", json={"users": [{"user_id": 1}, {"user_id": -1}]})
    assert [x["status"] for x in r.json()["results"]] == ["created", "invalid"]
    assert (await rest.delete(f"{api}/users/987654321")).json()["user"]["is_active"] is False
