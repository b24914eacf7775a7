"""Subscription rules and SQL (the session's tenant schema), with their outbox events.

Every function takes the caller's session: the state change and its events
commit together (outbox). Cache invalidation is the caller's job after commit
(see :mod:`.cache`), because a cache dropped before commit can be re-filled
with the old state by a concurrent reader.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit.bus.outbox import enqueue
from services.kit.errors import AlreadyExists
from services.kit.naming import schema_name

from . import events
from .models import CreateOutcome, Subscriber, Subscription, SubscriptionStats, TrackedCount

_COLUMNS = ("id, admin_user_id, admin_chat_id, tracked_user_id, is_active, settings, "
            "created_at, updated_at")


def _sub(row: Any) -> Subscription:
    return Subscription(**dict(row._mapping))


async def _lock_admin(session: AsyncSession, tenant: str, admin_user_id: int) -> None:
    # Serialises the count-then-insert of one admin, so concurrent creates
    # cannot overshoot the limit; released at commit.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"),
                          {"k": f"{schema_name('moderation', tenant)}:sub-admin:{admin_user_id}"})


async def count_active(session: AsyncSession, admin_user_id: int) -> int:
    """Active subscriptions held by an admin (over all their chats)."""
    return int((await session.execute(text(
        "SELECT count(*) FROM subscriptions WHERE admin_user_id = :a AND is_active"),
        {"a": admin_user_id})).scalar_one())


async def create_subscription(session: AsyncSession, tenant: str, *, admin_user_id: int,
                              admin_chat_id: int, tracked_user_id: int,
                              settings: dict[str, Any] | None, limit: int) -> CreateOutcome:
    """Create (or re-activate) a subscription, enforcing duplicates and the limit.

    Raises AlreadyExists ("subscription_exists") for an active duplicate. At
    the limit it creates nothing, enqueues ``subscription.limit_reached`` and
    returns ``limit_reached=True`` — the caller commits (so the event is kept)
    and then refuses the request. Input must be validated by the caller.
    """
    await _lock_admin(session, tenant, admin_user_id)
    key = {"a": admin_user_id, "c": admin_chat_id, "t": tracked_user_id}
    row = (await session.execute(text(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE admin_user_id = :a AND admin_chat_id = :c "
        "AND tracked_user_id = :t FOR UPDATE"), key)).first()
    existing = _sub(row) if row else None
    if existing is not None and existing.is_active:
        raise AlreadyExists(
            f"chat {admin_chat_id} of admin {admin_user_id} already tracks user {tracked_user_id}",
            code="subscription_exists")
    if await count_active(session, admin_user_id) >= limit:
        await enqueue(session, events.limit_reached(tenant, admin_user_id, admin_chat_id,
                                                    tracked_user_id, limit))
        return CreateOutcome(None, limit_reached=True, limit=limit)
    params = {**key, "s": json.dumps(settings or {})}
    if existing is not None:
        row = (await session.execute(text(
            "UPDATE subscriptions SET is_active = true, settings = CAST(:s AS jsonb), "
            f"updated_at = now() WHERE id = :id RETURNING {_COLUMNS}"),
            {"s": params["s"], "id": existing.id})).first()
    else:
        row = (await session.execute(text(
            "INSERT INTO subscriptions (admin_user_id, admin_chat_id, tracked_user_id, settings) "
            f"VALUES (:a, :c, :t, CAST(:s AS jsonb)) RETURNING {_COLUMNS}"), params)).first()
    sub = _sub(row)
    await enqueue(session, events.created(tenant, sub))
    return CreateOutcome(sub, reactivated=existing is not None, limit=limit)


async def get_subscription(session: AsyncSession, sub_id: int) -> Subscription | None:
    """A subscription by id (active or not), or None."""
    row = (await session.execute(text(f"SELECT {_COLUMNS} FROM subscriptions WHERE id = :id"),
                                 {"id": sub_id})).first()
    return _sub(row) if row else None


async def delete_subscription(session: AsyncSession, tenant: str, sub_id: int,
                              reason: str = events.REASON_DELETED) -> Subscription | None:
    """Deactivate an active subscription and enqueue subscription.deleted; None if none."""
    row = (await session.execute(text(
        "UPDATE subscriptions SET is_active = false, updated_at = now() "
        f"WHERE id = :id AND is_active RETURNING {_COLUMNS}"), {"id": sub_id})).first()
    if row is None:
        return None
    sub = _sub(row)
    await enqueue(session, events.deleted(tenant, sub, reason))
    return sub


async def _deactivate_where(session: AsyncSession, tenant: str, where: str,
                            params: dict[str, Any], reason: str) -> list[Subscription]:
    rows = (await session.execute(text(
        "UPDATE subscriptions SET is_active = false, updated_at = now() "
        f"WHERE is_active AND {where} RETURNING {_COLUMNS}"), params)).all()
    subs = sorted((_sub(r) for r in rows), key=lambda s: s.id)
    if subs:
        cleanup_id = str(uuid.uuid4())
        await enqueue(session, *(events.deleted(tenant, s, reason, cleanup_id) for s in subs))
    return subs


async def deactivate_subscriptions_for_chat(session: AsyncSession, tenant: str, chat_id: int,
                                            reason: str) -> list[Subscription]:
    """Deactivate every active subscription delivering into ``chat_id``.

    For a removed chat (reason "chat_removed") or one Telegram says no longer
    exists ("chat_not_found", the sync engine). Enqueues one
    subscription.deleted per subscription; returns them, so the caller can
    drop their cache keys after commit (:func:`.cache.invalidate`).
    """
    return await _deactivate_where(session, tenant, "admin_chat_id = :c", {"c": chat_id}, reason)


async def deactivate_subscriptions_for_admin(session: AsyncSession, tenant: str,
                                             admin_user_id: int, chat_id: int | None,
                                             reason: str) -> list[Subscription]:
    """Deactivate an admin's active subscriptions (of one chat, or all when ``chat_id`` is None)."""
    if chat_id is None:
        return await _deactivate_where(session, tenant, "admin_user_id = :a",
                                       {"a": admin_user_id}, reason)
    return await _deactivate_where(session, tenant, "admin_user_id = :a AND admin_chat_id = :c",
                                   {"a": admin_user_id, "c": chat_id}, reason)


async def find_active(session: AsyncSession, admin_user_id: int, admin_chat_id: int,
                      tracked_user_id: int) -> Subscription | None:
    """The active subscription with this key, or None."""
    row = (await session.execute(text(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE admin_user_id = :a AND admin_chat_id = :c "
        "AND tracked_user_id = :t AND is_active"),
        {"a": admin_user_id, "c": admin_chat_id, "t": tracked_user_id})).first()
    return _sub(row) if row else None


async def list_by_admin(session: AsyncSession, admin_user_id: int, admin_chat_id: int | None,
                        *, after: int = 0, limit: int = 50) -> list[Subscription]:
    """Active subscriptions of an admin (optionally one chat), id > ``after``, by id."""
    chat_filter = "" if admin_chat_id is None else " AND admin_chat_id = :c"
    rows = (await session.execute(text(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE admin_user_id = :a AND is_active"
        f"{chat_filter} AND id > :after ORDER BY id LIMIT :n"),
        {"a": admin_user_id, "c": admin_chat_id, "after": after, "n": limit})).all()
    return [_sub(r) for r in rows]


async def list_by_tracked(session: AsyncSession, tracked_user_id: int, *, after: int = 0,
                          limit: int = 50) -> list[Subscription]:
    """Active subscriptions to a tracked user, id > ``after``, by id."""
    rows = (await session.execute(text(
        f"SELECT {_COLUMNS} FROM subscriptions WHERE tracked_user_id = :t AND is_active "
        "AND id > :after ORDER BY id LIMIT :n"),
        {"t": tracked_user_id, "after": after, "n": limit})).all()
    return [_sub(r) for r in rows]


async def subscriber_chats(session: AsyncSession, tracked_user_id: int, *, after_id: int = 0,
                           limit: int = 500) -> list[Subscriber]:
    """The active subscriptions of a tracked user, for the sync engine, keyset-paginated.

    Call again with ``after_id`` = the last ``subscription_id`` until a page
    comes back shorter than ``limit``; 1,000+ chats never load at once.
    """
    rows = (await session.execute(text(
        "SELECT id, admin_user_id, admin_chat_id, settings FROM subscriptions "
        "WHERE tracked_user_id = :t AND is_active AND id > :after ORDER BY id LIMIT :n"),
        {"t": tracked_user_id, "after": after_id, "n": max(1, min(limit, 5000))})).all()
    return [Subscriber(subscription_id=r.id, admin_user_id=r.admin_user_id,
                       admin_chat_id=r.admin_chat_id, settings=dict(r.settings or {}))
            for r in rows]


async def stats(session: AsyncSession) -> SubscriptionStats:
    """Counts over the tenant's subscriptions and the ten most-tracked users."""
    row = (await session.execute(text(
        "SELECT count(*) FILTER (WHERE is_active) AS active, "
        "count(*) FILTER (WHERE NOT is_active) AS inactive, "
        "count(DISTINCT admin_user_id) FILTER (WHERE is_active) AS admins, "
        "count(DISTINCT admin_chat_id) FILTER (WHERE is_active) AS chats, "
        "count(DISTINCT tracked_user_id) FILTER (WHERE is_active) AS tracked, "
        "count(*) FILTER (WHERE created_at > now() - interval '24 hours') AS recent "
        "FROM subscriptions"))).one()
    top = (await session.execute(text(
        "SELECT tracked_user_id, count(*) AS n FROM subscriptions WHERE is_active "
        "GROUP BY tracked_user_id ORDER BY n DESC, tracked_user_id LIMIT 10"))).all()
    return SubscriptionStats(
        total_active=row.active, total_inactive=row.inactive, admins=row.admins, chats=row.chats,
        tracked_users=row.tracked, created_last_24h=row.recent,
        top_tracked_users=[TrackedCount(r.tracked_user_id, r.n) for r in top])
