"""A chat_member ban reaches the Ban Event Service with a reason (which it requires)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from aiogram.types import ChatMemberUpdated

from services.telegram.chat_members import to_report
from services.telegram.moderation import BanReport, GrpcModerationClient


def _update(old: str, new: str) -> ChatMemberUpdated:
    def member(status: str) -> dict[str, Any]:
        body: dict[str, Any] = {"status": status,
                                "user": {"id": 30, "is_bot": False, "first_name": "S", "username": "sp"}}
        if status == "kicked":
            body["until_date"] = 0
        return body
    return ChatMemberUpdated.model_validate({
        "chat": {"id": -1001, "type": "supergroup", "title": "Cats"},
        "from": {"id": 10, "is_bot": False, "first_name": "A"}, "date": int(time.time()),
        "old_chat_member": member(old), "new_chat_member": member(new)})


def test_chat_member_ban_report_has_a_reason() -> None:
    report = to_report("t", _update("member", "kicked"), 5)
    assert report is not None and report.event_type == "ban"
    assert report.reason == "banned in Cats (seen by the bot in Telegram)"


async def test_report_ban_always_sends_a_reason(monkeypatch: Any) -> None:
    sent: list[Any] = []

    class Bans:
        async def RegisterBanEvent(self, request: Any, metadata: Any = None) -> Any:
            sent.append(request)
            return type("Reply", (), {"created": True})()

    client = GrpcModerationClient.__new__(GrpcModerationClient)
    client.bans = Bans()  # type: ignore[assignment]
    monkeypatch.setattr(GrpcModerationClient, "_meta", staticmethod(lambda tenant: ()))
    report = BanReport(event_id="e1", user_id=30, chat_id=-1001, event_type="kick", ban_duration=None,
                       initiator_user_id=10, at=datetime.now(UTC))  # no reason given
    assert await client.report_ban("t", report) is True
    assert sent[0].reason == "removed (seen by the bot in Telegram)"
