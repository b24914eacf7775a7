"""The records of seed 001 §2 as plain dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Seed §2.3: "Проверка лимита подписок (макс 100 на админа)" — the default.
DEFAULT_LIMIT_PER_ADMIN = 100


@dataclass(frozen=True)
class Subscription:
    """A row of ``subscriptions``."""

    id: int
    admin_user_id: int
    admin_chat_id: int
    tracked_user_id: int
    is_active: bool
    settings: dict[str, Any]
    created_at: datetime | None
    updated_at: datetime | None


@dataclass(frozen=True)
class Subscriber:
    """What the sync engine needs of an active subscription to a tracked user."""

    subscription_id: int
    admin_user_id: int
    admin_chat_id: int
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CreateOutcome:
    """What creating a subscription did.

    ``limit_reached`` means nothing was created (but the limit event was
    enqueued, and commits with the session).
    """

    subscription: Subscription | None
    reactivated: bool = False
    limit_reached: bool = False
    limit: int = DEFAULT_LIMIT_PER_ADMIN


@dataclass(frozen=True)
class TrackedCount:
    """A tracked user and how many active subscriptions they have."""

    tracked_user_id: int
    subscribers: int


@dataclass(frozen=True)
class SubscriptionStats:
    """Tenant-wide subscription statistics."""

    total_active: int
    total_inactive: int
    admins: int
    chats: int
    tracked_users: int
    created_last_24h: int
    top_tracked_users: list[TrackedCount]
