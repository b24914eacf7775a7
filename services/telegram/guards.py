"""Per-tenant Redis state of the bot: update dedup, command rate limit, user state,
known usernames, cached admin lists and pagination cursors (all under ``t:<tenant>:``)."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from redis.asyncio import Redis

from services.kit.naming import tenant_key
from services.telegram_api import BotApiClient

#: How often one user's activity (last_seen, profile) is reported to moderation, seconds.
SEEN_EVERY = 300


class BotState:
    """Everything the bot keeps in Redis for one tenant."""

    def __init__(self, redis: Redis, tenant: str, *, commands_per_minute: int = 30,
                 admin_cache_seconds: int = 300) -> None:
        self.redis = redis
        self.tenant = tenant
        self.limit = commands_per_minute
        self.admin_ttl = admin_cache_seconds

    def key(self, *parts: object) -> str:
        """A key of this tenant."""
        return tenant_key(self.tenant, *parts)

    async def first_delivery(self, update_id: int) -> bool:
        """True the first time an update id is seen (Telegram redelivers on errors)."""
        return bool(await self.redis.set(self.key("tg", "update", update_id), "1", nx=True,
                                         ex=86400))

    async def command_allowed(self, user_id: int) -> str:
        """"ok", "warn" (first command past the limit: say so once) or "drop"."""
        key = self.key("rate_limit", user_id)
        # SET NX EX starts the window once; EXPIRE ... NX would need Redis 7.
        pipe = self.redis.pipeline(transaction=True)
        pipe.set(key, 0, ex=60, nx=True)
        pipe.incr(key)
        _, count = await pipe.execute()
        if int(count) <= self.limit:
            return "ok"
        return "warn" if int(count) == self.limit + 1 else "drop"

    async def save_state(self, user_id: int, command: str, context: dict[str, Any]) -> None:
        """user_state:{user_id} as the seed sketches it (last_command, context, timestamp)."""
        await self.redis.set(self.key("user_state", user_id), json.dumps({
            "last_command": command, "context": context,
            "timestamp": datetime.now(UTC).isoformat()}), ex=7 * 86400)

    async def load_state(self, user_id: int) -> dict[str, Any] | None:
        """The user's last state, if any."""
        raw = await self.redis.get(self.key("user_state", user_id))
        return json.loads(raw) if raw else None

    async def remember_username(self, username: str | None, user_id: int) -> None:
        """Learn @username → id from every update (the Bot API cannot look usernames up)."""
        if username:
            await self.redis.set(self.key("username", username.lower()), user_id, ex=30 * 86400)

    async def seen_due(self, user_id: int, username: str | None) -> bool:
        """True when the user's activity should be reported to moderation now: at most
        once per ``SEEN_EVERY`` seconds, and at once when the username changed."""
        key = self.key("tg", "seen", user_id, (username or "").lower())
        return bool(await self.redis.set(key, "1", nx=True, ex=SEEN_EVERY))

    async def user_by_username(self, username: str) -> int | None:
        """The id of a username seen before."""
        raw = await self.redis.get(self.key("username", username.lower().lstrip("@")))
        return int(raw) if raw else None

    async def chat_admins(self, api: BotApiClient, chat_id: int) -> set[int]:
        """Ids of the chat's admins who may ban (getChatAdministrators through the shared
        Bot API client, cached for ``admin_cache_seconds``)."""
        key = self.key("chat_admins", chat_id)
        cached = await self.redis.get(key)
        if cached is not None:
            return set(json.loads(cached))
        admins = await api.get_chat_administrators(chat_id)
        ids = sorted(a.user_id for a in admins if a.status in ("creator", "administrator"))
        await self.redis.set(key, json.dumps(ids), ex=self.admin_ttl)
        return set(ids)

    async def save_cursor(self, context: dict[str, Any]) -> str:
        """Store a pagination cursor; return the short id that goes in callback_data."""
        short = secrets.token_urlsafe(9)
        await self.redis.set(self.key("page", short), json.dumps(context), ex=3600)
        return short

    async def load_cursor(self, short: str) -> dict[str, Any] | None:
        """The cursor behind a callback's short id."""
        raw = await self.redis.get(self.key("page", short))
        return json.loads(raw) if raw else None
