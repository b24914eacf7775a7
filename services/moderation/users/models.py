"""The records of seed 001 §3 as plain dataclasses (no transport, no ORM)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

DEFAULT_LANGUAGE_CODE = "en"


@dataclass(frozen=True)
class UserProfile:
    """Profile fields a caller supplies for create and batch upsert."""

    user_id: int
    username: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    language_code: str | None = None
    is_bot: bool = False


@dataclass(frozen=True)
class User:
    """A row of ``users``."""

    user_id: int
    username: str | None
    first_name: str | None
    last_name: str | None
    language_code: str | None
    is_bot: bool
    is_active: bool
    created_at: datetime | None
    updated_at: datetime | None
    last_seen: datetime | None


@dataclass(frozen=True)
class UserSettings:
    """A row of ``user_settings`` (or the defaults when there is none yet)."""

    user_id: int
    notifications_enabled: bool = True
    language: str = "ru"
    timezone: str = "UTC"
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ChatSettings:
    """A row of ``chat_settings``: a registered chat and its ban-sync rules."""

    chat_id: int
    chat_title: str | None
    sync_ban_type: str
    sync_delay_seconds: int
    auto_sync_enabled: bool
    require_confirmation: bool
    settings: dict[str, Any]
    temporary_ban_seconds: int | None
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class ChatAdmin:
    """A row of ``admins``."""

    id: int
    user_id: int
    chat_id: int
    role: str
    can_ban: bool
    created_at: datetime | None


@dataclass(frozen=True)
class AdminVerdict:
    """The answer of /admins/verify."""

    is_admin: bool
    role: str = ""
    can_ban: bool = False


@dataclass(frozen=True)
class BatchItemResult:
    """One item's outcome in a batch upsert: created, updated or invalid."""

    user_id: int
    status: str
    error: str = ""
