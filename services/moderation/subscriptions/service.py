"""The subscription use cases: roles, validation, transaction, cache and events.

Transport-free: the gRPC servicer (``grpc.py``) only converts messages. The
caller's tenant and role come from the verified token (:func:`context.current`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import context
from services.kit.db import Database
from services.kit.errors import (
    FieldViolation,
    InvalidArgument,
    NotFound,
    ResourceExhausted,
    Validator,
)

from ..users import validation as check
from ..users.cache import decode_many, get_raw, put
from ..users.paging import Page, next_token, parse_page
from . import cache, store
from .limits import tenant_subscription_limit
from .models import CreateOutcome, Subscription, SubscriptionStats

APP = "moderation"

#: Reads the tenant's per-admin limit inside the create transaction.
LimitSource = Callable[[AsyncSession, str], Awaitable[int]]


@dataclass(frozen=True)
class ListPage:
    """One page of subscriptions and the token of the next."""

    items: list[Subscription]
    next_page_token: str


@dataclass(frozen=True)
class AdminStats:
    """Tenant stats plus, when asked, one admin's count and allowance."""

    stats: SubscriptionStats
    limit_per_admin: int
    admin_active: int | None = None
    admin_remaining: int | None = None


def _page_of(items: list[Subscription], page: Page) -> ListPage:
    """Cut a page out of a full, id-ordered list (the cached case)."""
    after = [s for s in items if s.id > page.after]
    chunk = after[:page.size]
    return ListPage(chunk, next_token([s.id for s in chunk], page.size, len(after) > page.size))


class SubscriptionBook:
    """Subscriptions of the caller's tenant."""

    def __init__(self, db: Database, redis: Redis,
                 limit_source: LimitSource = tenant_subscription_limit) -> None:
        self.db = db
        self.redis = redis
        self.limit_source = limit_source

    # -- writes ---------------------------------------------------------------------------
    async def create(self, admin_user_id: int, admin_chat_id: int, tracked_user_id: int,
                     settings: dict[str, Any] | None) -> CreateOutcome:
        """Subscribe; INVALID_ARGUMENT / ALREADY_EXISTS / RESOURCE_EXHAUSTED per the seed's rules."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        check.user_id(v, "admin_user_id", admin_user_id)
        check.chat_id(v, "admin_chat_id", admin_chat_id)
        check.user_id(v, "tracked_user_id", tracked_user_id)
        check.json_object(v, "settings", settings)
        v.raise_if_any()
        if admin_user_id == tracked_user_id:
            raise InvalidArgument("an admin cannot subscribe to themselves",
                                  violations=[FieldViolation("tracked_user_id",
                                                              "must differ from admin_user_id")],
                                  code="self_subscription")
        async with self.db.session(APP, tenant) as session:
            limit = await self.limit_source(session, tenant)
            outcome = await store.create_subscription(
                session, tenant, admin_user_id=admin_user_id, admin_chat_id=admin_chat_id,
                tracked_user_id=tracked_user_id, settings=settings, limit=limit)
        # Committed: the subscription and its event, or only the limit event.
        if outcome.limit_reached:
            raise ResourceExhausted(
                f"admin {admin_user_id} already has {outcome.limit} active subscriptions, "
                "the tenant's limit", code="subscription_limit_reached")
        assert outcome.subscription is not None
        await cache.invalidate(self.redis, tenant, [outcome.subscription])
        return outcome

    async def delete(self, sub_id: int) -> Subscription:
        """Deactivate a subscription; NOT_FOUND if it is unknown or already deleted."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        v.require(sub_id > 0, "id", "must be a positive subscription id")
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            sub = await store.delete_subscription(session, tenant, sub_id)
        if sub is None:
            raise NotFound(f"subscription {sub_id} not found", code="subscription_not_found")
        await cache.invalidate(self.redis, tenant, [sub])
        return sub

    # -- reads ----------------------------------------------------------------------------
    async def _admin_chat_list(self, tenant: str, admin_id: int, chat_id: int) -> list[Subscription] | None:
        """All active subscriptions of (admin, chat), via the 1 h cache; None if too many to cache."""
        key = cache.admin_key(tenant, admin_id, chat_id)
        raw = await get_raw(self.redis, key)
        if raw is not None:
            return decode_many(Subscription, raw)
        async with self.db.session(APP, tenant) as session:
            items = await store.list_by_admin(session, admin_id, chat_id,
                                              limit=cache.CACHE_MAX_ITEMS + 1)
        if len(items) > cache.CACHE_MAX_ITEMS:
            return None
        await put(self.redis, key, items, cache.ADMIN_TTL_SECONDS)
        return items

    async def list_for_admin(self, admin_id: int, admin_chat_id: int | None,
                             page_size: int, page_token: str) -> ListPage:
        """An admin's active subscriptions, optionally of one chat, one page."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "admin_id", admin_id)
        if admin_chat_id is not None:
            check.chat_id(v, "admin_chat_id", admin_chat_id)
        page = parse_page(page_size, page_token, v)
        v.raise_if_any()
        if admin_chat_id is not None:
            cached = await self._admin_chat_list(tenant, admin_id, admin_chat_id)
            if cached is not None:
                return _page_of(cached, page)
        async with self.db.session(APP, tenant) as session:
            items = await store.list_by_admin(session, admin_id, admin_chat_id,
                                              after=page.after, limit=page.size + 1)
        return _page_of(items, page)

    async def list_subscribers(self, user_id: int, page_size: int, page_token: str) -> ListPage:
        """The active subscriptions to a tracked user, one page (cached 30 min when small)."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        page = parse_page(page_size, page_token, v)
        v.raise_if_any()
        key = cache.user_key(tenant, user_id)
        raw = await get_raw(self.redis, key)
        if raw is not None:
            return _page_of(decode_many(Subscription, raw), page)
        async with self.db.session(APP, tenant) as session:
            everything = await store.list_by_tracked(session, user_id,
                                                     limit=cache.CACHE_MAX_ITEMS + 1)
            if len(everything) > cache.CACHE_MAX_ITEMS:
                items = await store.list_by_tracked(session, user_id, after=page.after,
                                                    limit=page.size + 1)
                return _page_of(items, page)
        await put(self.redis, key, everything, cache.USER_TTL_SECONDS)
        return _page_of(everything, page)

    async def check(self, admin_user_id: int, admin_chat_id: int,
                    tracked_user_id: int) -> Subscription | None:
        """The active subscription with this key, or None (served from the admin cache)."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "admin_user_id", admin_user_id)
        check.chat_id(v, "admin_chat_id", admin_chat_id)
        check.user_id(v, "tracked_user_id", tracked_user_id)
        v.raise_if_any()
        cached = await self._admin_chat_list(tenant, admin_user_id, admin_chat_id)
        if cached is not None:
            return next((s for s in cached if s.tracked_user_id == tracked_user_id), None)
        async with self.db.session(APP, tenant) as session:
            return await store.find_active(session, admin_user_id, admin_chat_id, tracked_user_id)

    async def admin_count(self, tenant: str, admin_id: int, session: AsyncSession) -> int:
        """An admin's active count, via the 1 h count cache."""
        key = cache.count_key(tenant, admin_id)
        raw = await get_raw(self.redis, key)
        if raw is not None:
            return int(raw)
        count = await store.count_active(session, admin_id)
        await put(self.redis, key, str(count), cache.COUNT_TTL_SECONDS)
        return count

    async def stats(self, admin_user_id: int | None) -> AdminStats:
        """The tenant's statistics, plus one admin's count and allowance when asked."""
        tenant = context.caller_tenant("member")
        v = Validator()
        if admin_user_id is not None:
            check.user_id(v, "admin_user_id", admin_user_id)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            totals = await store.stats(session)
            limit = await self.limit_source(session, tenant)
            if admin_user_id is None:
                return AdminStats(totals, limit)
            active = await self.admin_count(tenant, admin_user_id, session)
        return AdminStats(totals, limit, active, max(0, limit - active))
