"""The user, settings, chat and admin use cases: roles, validation, transaction, cache.

Transport-free: the gRPC servicers (``grpc.py``) only convert messages. The
caller's tenant and role come from the verified token (:func:`context.current`).
A settings change writes ``user.settings_updated`` to the outbox in its
transaction (the notification service applies it to its preferences).
Removing a chat or an admin (or deactivating a user) cleans up the
subscriptions that depended on it, in the same transaction, with their
``subscription.deleted`` events.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from services.kit import context
from services.kit.bus.outbox import enqueue
from services.kit.db import Database
from services.kit.errors import AlreadyExists, InvalidArgument, NotFound, Validator

from ..subscriptions import cache as sub_cache
from ..subscriptions import events as sub_events
from ..subscriptions import store as sub_store
from . import chats as chat_store
from . import events, store
from . import validation as check
from .cache import (
    PROFILE_TTL_SECONDS,
    chat_settings_key,
    decode_one,
    drop,
    get_raw,
    put,
    user_key,
    user_settings_key,
)
from .models import (
    AdminVerdict,
    BatchItemResult,
    ChatAdmin,
    ChatSettings,
    User,
    UserProfile,
    UserSettings,
)
from .paging import next_token, parse_page

APP = "moderation"
MAX_BATCH = 1000
#: The bot's my_chat_member statuses that mean it is out of the chat.
BOT_REMOVED_STATUSES = ("left", "kicked")

log = structlog.get_logger("tenantry.moderation.chats")


T = TypeVar("T")


async def _read_through(db: Database, redis: Redis, tenant: str, key: str, cls: type[T],
                        load: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Cache-aside read: the cached copy if any, else ``load`` in a session, cached for 5 min."""
    raw = await get_raw(redis, key)
    if raw is not None:
        return decode_one(cls, raw)
    async with db.session(APP, tenant) as session:
        value = await load(session)
    await put(redis, key, value, PROFILE_TTL_SECONDS)
    return value


def _check_profile(v: Validator, profile: UserProfile, prefix: str = "") -> None:
    check.user_id(v, f"{prefix}user_id", profile.user_id)
    check.text(v, f"{prefix}username", profile.username)
    check.text(v, f"{prefix}first_name", profile.first_name)
    check.text(v, f"{prefix}last_name", profile.last_name)
    if profile.language_code:
        check.language(v, f"{prefix}language_code", profile.language_code)


def _user_not_found(user_id: int) -> NotFound:
    return NotFound(f"user {user_id} not found", code="user_not_found")


def _chat_not_found(chat_id: int) -> NotFound:
    return NotFound(f"chat {chat_id} is not registered", code="chat_not_found")


@dataclass(frozen=True)
class AdminPage:
    """One page of a chat's admins."""

    items: list[ChatAdmin]
    next_page_token: str


class UserDirectory:
    """Users and their settings, in the caller's tenant."""

    def __init__(self, db: Database, redis: Redis) -> None:
        self.db = db
        self.redis = redis

    async def create(self, profile: UserProfile) -> User:
        """Register a user; ALREADY_EXISTS "user_exists" when the id is known."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        _check_profile(v, profile)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            user = await store.insert_user(session, profile)
        if user is None:
            raise AlreadyExists(f"user {profile.user_id} already exists", code="user_exists")
        await drop(self.redis, user_key(tenant, user.user_id))
        return user

    async def batch_upsert(self, profiles: list[UserProfile], *,
                           seen: bool = False) -> list[BatchItemResult]:
        """Create or update up to 1000 users; a result per item, in request order.
        ``seen``: the users were just active in Telegram (last_seen becomes now)."""
        tenant = context.caller_tenant("moderator")
        if len(profiles) > MAX_BATCH:
            raise InvalidArgument.field("users", f"at most {MAX_BATCH} users per batch")
        if not profiles:
            raise InvalidArgument.field("users", "must not be empty")
        results: list[BatchItemResult | None] = [None] * len(profiles)
        valid: dict[int, tuple[int, UserProfile]] = {}
        for i, profile in enumerate(profiles):
            v = Validator()
            _check_profile(v, profile)
            if v.violations:
                error = "; ".join(f"{x.field}: {x.description}" for x in v.violations)
                results[i] = BatchItemResult(profile.user_id, "invalid", error)
            elif profile.user_id in valid:
                results[i] = BatchItemResult(profile.user_id, "invalid",
                                             "user_id: repeats an earlier item of this batch")
            else:
                valid[profile.user_id] = (i, profile)
        if valid:
            async with self.db.session(APP, tenant) as session:
                created = await store.upsert_users(session, [p for _, p in valid.values()],
                                                   seen=seen)
            for uid, (i, _) in valid.items():
                results[i] = BatchItemResult(uid, "created" if created.get(uid) else "updated")
            await drop(self.redis, *(user_key(tenant, uid) for uid in valid))
        return [r for r in results if r is not None]

    async def get(self, user_id: int) -> User:
        """A user's profile (5 min cache)."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        v.raise_if_any()

        async def load(session: AsyncSession) -> User:
            user = await store.get_user(session, user_id)
            if user is None:
                raise _user_not_found(user_id)
            return user

        return await _read_through(self.db, self.redis, tenant, user_key(tenant, user_id), User, load)

    async def update(self, user_id: int, changes: dict[str, Any]) -> User:
        """Change the given fields (username, first_name, last_name, language_code, is_active)."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        for name in ("username", "first_name", "last_name"):
            check.text(v, name, changes.get(name))
        check.language(v, "language_code", changes.get("language_code"))
        v.raise_if_any()
        removed: list[Any] = []
        async with self.db.session(APP, tenant) as session:
            user = await store.update_user(session, user_id, dict(changes))
            if user is None:
                raise _user_not_found(user_id)
            if changes.get("is_active") is False:
                removed = await sub_store.deactivate_subscriptions_for_admin(
                    session, tenant, user_id, None, sub_events.REASON_ADMIN_REMOVED)
        await drop(self.redis, user_key(tenant, user_id))
        await sub_cache.invalidate(self.redis, tenant, removed)
        return user

    async def deactivate(self, user_id: int) -> tuple[User, int]:
        """Deactivate a user and clean up the subscriptions they hold as an admin."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            user = await store.update_user(session, user_id, {"is_active": False})
            if user is None:
                raise _user_not_found(user_id)
            removed = await sub_store.deactivate_subscriptions_for_admin(
                session, tenant, user_id, None, sub_events.REASON_ADMIN_REMOVED)
        await drop(self.redis, user_key(tenant, user_id))
        await sub_cache.invalidate(self.redis, tenant, removed)
        return user, len(removed)

    async def touch(self, user_id: int, username: str | None) -> User:
        """Record activity (last_seen = now) and a username change seen in Telegram."""
        tenant = context.caller_tenant("moderator")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        check.text(v, "username", username)
        v.raise_if_any()
        changes = {} if username is None else {"username": username}
        async with self.db.session(APP, tenant) as session:
            user = await store.update_user(session, user_id, changes, touch=True)
        if user is None:
            raise _user_not_found(user_id)
        await drop(self.redis, user_key(tenant, user_id))
        return user

    async def get_settings(self, user_id: int) -> UserSettings:
        """A user's settings (defaults until written; 5 min cache)."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        v.raise_if_any()

        async def load(session: AsyncSession) -> UserSettings:
            settings = await store.get_settings(session, user_id)
            if settings is None:
                if await store.get_user(session, user_id) is None:
                    raise _user_not_found(user_id)
                settings = UserSettings(user_id=user_id)
            return settings

        return await _read_through(self.db, self.redis, tenant, user_settings_key(tenant, user_id), UserSettings, load)

    async def update_settings(self, user_id: int, changes: dict[str, Any]) -> UserSettings:
        """Change the given settings (notifications_enabled, language, timezone, settings).

        Every committed call writes one ``user.settings_updated`` (the whole
        settings, whatever changed) to the outbox in its transaction.
        """
        tenant = context.caller_tenant("moderator")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        check.language(v, "language", changes.get("language"))
        check.timezone(v, "timezone", changes.get("timezone"))
        check.json_object(v, "settings", changes.get("settings"))
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            if await store.get_user(session, user_id) is None:
                raise _user_not_found(user_id)
            settings, changed_at = await store.upsert_settings(session, user_id, changes)
            # In the same transaction: the notification service learns of exactly
            # the changes that commit (it mirrors notifications_enabled, language, timezone).
            await enqueue(session, events.settings_updated(tenant, settings, changed_at))
        await drop(self.redis, user_settings_key(tenant, user_id))
        return settings


def _check_chat_fields(v: Validator, fields: dict[str, Any]) -> None:
    check.text(v, "chat_title", fields.get("chat_title"))
    check.one_of(v, "sync_ban_type", fields.get("sync_ban_type"), check.SYNC_BAN_TYPES)
    check.int_range(v, "sync_delay_seconds", fields.get("sync_delay_seconds"), 0,
                    check.MAX_SYNC_DELAY_SECONDS)
    check.int_range(v, "temporary_ban_seconds", fields.get("temporary_ban_seconds"),
                    *check.TEMP_BAN_RANGE)
    check.json_object(v, "settings", fields.get("settings"))


class ChatRegistry:
    """Registered chats, their ban-sync settings and their admins, in the caller's tenant."""

    def __init__(self, db: Database, redis: Redis) -> None:
        self.db = db
        self.redis = redis

    async def register(self, chat_id: int, fields: dict[str, Any]) -> ChatSettings:
        """Register a chat; unset settings take the seed's defaults."""
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        _check_chat_fields(v, fields)
        v.raise_if_any()
        title = fields.pop("chat_title", None)
        async with self.db.session(APP, tenant) as session:
            chat = await chat_store.insert_chat(session, chat_id, title, fields)
        if chat is None:
            raise AlreadyExists(f"chat {chat_id} is already registered", code="chat_exists")
        await drop(self.redis, chat_settings_key(tenant, chat_id))
        return chat

    async def get_settings(self, chat_id: int) -> ChatSettings:
        """A registered chat's settings (5 min cache)."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        v.raise_if_any()

        async def load(session: AsyncSession) -> ChatSettings:
            chat = await chat_store.get_chat(session, chat_id)
            if chat is None:
                raise _chat_not_found(chat_id)
            return chat

        return await _read_through(self.db, self.redis, tenant, chat_settings_key(tenant, chat_id), ChatSettings, load)

    async def update_settings(self, chat_id: int, changes: dict[str, Any]) -> ChatSettings:
        """Change the given settings of a registered chat."""
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        _check_chat_fields(v, changes)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            chat = await chat_store.update_chat(session, chat_id, changes)
        if chat is None:
            raise _chat_not_found(chat_id)
        await drop(self.redis, chat_settings_key(tenant, chat_id))
        return chat

    async def remove(self, chat_id: int) -> tuple[int, int]:
        """Remove a chat and its admins and clean up its subscriptions; (subscriptions, admins)."""
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            found, admins = await chat_store.delete_chat(session, chat_id)
            removed = await sub_store.deactivate_subscriptions_for_chat(
                session, tenant, chat_id, sub_events.REASON_CHAT_REMOVED)
            if not found and not removed:
                raise _chat_not_found(chat_id)
        await drop(self.redis, chat_settings_key(tenant, chat_id))
        await sub_cache.invalidate(self.redis, tenant, removed)
        return len(removed), admins

    async def bot_removed(self, chat_id: int, status: str) -> int:
        """The bot was removed from a chat (``status`` "left" or "kicked"): end the
        subscriptions that deliver into it (reason "bot_removed"); how many.

        The chat need not be registered (subscriptions do not require it). Its
        settings and admins stay, so adding the bot back needs only new subscriptions.
        """
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        check.one_of(v, "status", status, BOT_REMOVED_STATUSES)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            removed = await sub_store.deactivate_subscriptions_for_chat(
                session, tenant, chat_id, sub_events.REASON_BOT_REMOVED)
        await sub_cache.invalidate(self.redis, tenant, removed)
        log.info("bot_removed_from_chat", tenant=tenant, chat_id=chat_id, status=status,
                 subscriptions_deactivated=len(removed))
        return len(removed)

    async def add_admin(self, chat_id: int, user_id: int, role: str,
                        can_ban: bool | None) -> tuple[ChatAdmin, bool]:
        """Make a registered user an admin of a registered chat (or change their role)."""
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        check.user_id(v, "user_id", user_id)
        check.one_of(v, "role", role or "admin", check.ADMIN_ROLES)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            if await chat_store.get_chat(session, chat_id) is None:
                raise _chat_not_found(chat_id)
            if await store.get_user(session, user_id) is None:
                raise _user_not_found(user_id)
            return await chat_store.upsert_admin(session, chat_id, user_id, role or "admin",
                                                 True if can_ban is None else can_ban)

    async def remove_admin(self, chat_id: int, user_id: int) -> int:
        """Remove an admin of a chat and clean up their subscriptions for it; how many."""
        tenant = context.caller_tenant("admin")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        check.user_id(v, "user_id", user_id)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            if not await chat_store.delete_admin(session, chat_id, user_id):
                raise NotFound(f"user {user_id} is not an admin of chat {chat_id}",
                               code="admin_not_found")
            removed = await sub_store.deactivate_subscriptions_for_admin(
                session, tenant, user_id, chat_id, sub_events.REASON_ADMIN_REMOVED)
        await sub_cache.invalidate(self.redis, tenant, removed)
        return len(removed)

    async def list_admins(self, chat_id: int, page_size: int, page_token: str) -> AdminPage:
        """A registered chat's admins, one page, oldest first."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.chat_id(v, "chat_id", chat_id)
        page = parse_page(page_size, page_token, v)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            if await chat_store.get_chat(session, chat_id) is None:
                raise _chat_not_found(chat_id)
            items = await chat_store.list_admins(session, chat_id, page.after, page.size + 1)
        chunk = items[:page.size]
        return AdminPage(chunk, next_token([a.id for a in chunk], page.size, len(items) > page.size))

    async def verify_admin(self, user_id: int, chat_id: int) -> AdminVerdict:
        """Whether a user is an (active) admin of a chat, with role and ban right."""
        tenant = context.caller_tenant("member")
        v = Validator()
        check.user_id(v, "user_id", user_id)
        check.chat_id(v, "chat_id", chat_id)
        v.raise_if_any()
        async with self.db.session(APP, tenant) as session:
            return await chat_store.verify_admin(session, user_id, chat_id)
