"""SQL for chat settings and chat admins (the session's tenant schema)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .models import AdminVerdict, ChatAdmin, ChatSettings

_CHAT_COLUMNS = ("chat_id, chat_title, sync_ban_type, sync_delay_seconds, auto_sync_enabled, "
                 "require_confirmation, settings, temporary_ban_seconds, created_at, updated_at")
_ADMIN_COLUMNS = "id, user_id, chat_id, role, can_ban, created_at"

#: Defaults of chat_settings (seed §3), applied when a registration leaves a field unset.
CHAT_DEFAULTS: dict[str, Any] = {
    "sync_ban_type": "same", "sync_delay_seconds": 0, "auto_sync_enabled": True,
    "require_confirmation": False, "settings": {}, "temporary_ban_seconds": None,
}


def _chat(row: Any) -> ChatSettings:
    return ChatSettings(**dict(row._mapping))


def _admin(row: Any) -> ChatAdmin:
    return ChatAdmin(**dict(row._mapping))


async def insert_chat(session: AsyncSession, chat_id: int, title: str | None,
                      fields: dict[str, Any]) -> ChatSettings | None:
    """Register a chat; None when it is already registered."""
    values = {**CHAT_DEFAULTS, **fields}
    values["settings"] = json.dumps(values["settings"])
    row = (await session.execute(text(
        "INSERT INTO chat_settings (chat_id, chat_title, sync_ban_type, sync_delay_seconds, "
        "auto_sync_enabled, require_confirmation, settings, temporary_ban_seconds) "
        "VALUES (:chat_id, :chat_title, :sync_ban_type, :sync_delay_seconds, :auto_sync_enabled, "
        ":require_confirmation, CAST(:settings AS jsonb), :temporary_ban_seconds) "
        f"ON CONFLICT (chat_id) DO NOTHING RETURNING {_CHAT_COLUMNS}"
    ), {**values, "chat_id": chat_id, "chat_title": title or None})).first()
    return _chat(row) if row else None


async def get_chat(session: AsyncSession, chat_id: int, *, for_update: bool = False) -> ChatSettings | None:
    """A registered chat's settings, or None."""
    lock = " FOR UPDATE" if for_update else ""
    row = (await session.execute(
        text(f"SELECT {_CHAT_COLUMNS} FROM chat_settings WHERE chat_id = :c{lock}"), {"c": chat_id}
    )).first()
    return _chat(row) if row else None


async def update_chat(session: AsyncSession, chat_id: int, changes: dict[str, Any]) -> ChatSettings | None:
    """Apply ``changes`` and bump updated_at; None when the chat is not registered."""
    if not changes:
        return await get_chat(session, chat_id)
    params = dict(changes)
    if "settings" in params:
        params["settings"] = json.dumps(params["settings"])
    sets = ", ".join(f"{col} = CAST(:{col} AS jsonb)" if col == "settings" else f"{col} = :{col}"
                     for col in params)
    row = (await session.execute(text(
        f"UPDATE chat_settings SET {sets}, updated_at = now() WHERE chat_id = :chat_id "
        f"RETURNING {_CHAT_COLUMNS}"), {**params, "chat_id": chat_id})).first()
    return _chat(row) if row else None


async def delete_chat(session: AsyncSession, chat_id: int) -> tuple[bool, int]:
    """Remove a chat and its admin records; (was it registered, admins removed)."""
    admins = (await session.execute(
        text("DELETE FROM admins WHERE chat_id = :c"), {"c": chat_id})).rowcount
    found = (await session.execute(
        text("DELETE FROM chat_settings WHERE chat_id = :c"), {"c": chat_id})).rowcount
    return bool(found), int(admins or 0)


async def upsert_admin(session: AsyncSession, chat_id: int, user_id: int, role: str,
                       can_ban: bool) -> tuple[ChatAdmin, bool]:
    """Make ``user_id`` an admin of ``chat_id`` (or change their role); (record, created)."""
    row = (await session.execute(text(
        "INSERT INTO admins (user_id, chat_id, role, can_ban) VALUES (:u, :c, :r, :b) "
        "ON CONFLICT (user_id, chat_id) DO UPDATE SET role = EXCLUDED.role, can_ban = EXCLUDED.can_ban "
        f"RETURNING {_ADMIN_COLUMNS}, (xmax = 0) AS inserted"
    ), {"u": user_id, "c": chat_id, "r": role, "b": can_ban})).first()
    assert row is not None
    data = dict(row._mapping)
    created = bool(data.pop("inserted"))
    return ChatAdmin(**data), created


async def delete_admin(session: AsyncSession, chat_id: int, user_id: int) -> bool:
    """Remove an admin record; False when there was none."""
    n = (await session.execute(text("DELETE FROM admins WHERE chat_id = :c AND user_id = :u"),
                               {"c": chat_id, "u": user_id})).rowcount
    return bool(n)


async def list_admins(session: AsyncSession, chat_id: int, after: int, limit: int) -> list[ChatAdmin]:
    """Up to ``limit`` admins of a chat with id > ``after``, by id."""
    rows = (await session.execute(text(
        f"SELECT {_ADMIN_COLUMNS} FROM admins WHERE chat_id = :c AND id > :after "
        "ORDER BY id LIMIT :n"), {"c": chat_id, "after": after, "n": limit})).all()
    return [_admin(r) for r in rows]


async def verify_admin(session: AsyncSession, user_id: int, chat_id: int) -> AdminVerdict:
    """Whether an active user is an admin of the chat, with role and ban right."""
    row = (await session.execute(text(
        "SELECT a.role, a.can_ban FROM admins a JOIN users u ON u.user_id = a.user_id "
        "WHERE a.user_id = :u AND a.chat_id = :c AND u.is_active"), {"u": user_id, "c": chat_id}
    )).first()
    if row is None:
        return AdminVerdict(is_admin=False)
    return AdminVerdict(is_admin=True, role=row.role, can_ban=bool(row.can_ban))
