"""The Bot API client: one class, a configurable base URL, every rule of the road.

* ``base_url`` defaults to ``TELEGRAM_API_BASE`` (https://api.telegram.org), so
  tests point it at the local fake server;
* every request has a 5 s timeout;
* timeouts, connection errors and 5xx are retried (3 attempts in all) with
  exponential backoff, then raised as :class:`TelegramUnavailable`;
* a 429 pauses the whole bot for ``parameters.retry_after`` and the call is
  retried after the pause (up to ``max_429_waits`` times, and only if the pause
  is at most ``max_retry_after``; otherwise :class:`TelegramRetryAfter`);
* a circuit breaker opens after consecutive transient failures and fails fast
  with :class:`TelegramCircuitOpen` until its cool-down ends;
* token buckets keep the bot under ~30 requests/s and 20 messages/min per group.

The bot token is part of every URL, so it is never logged: error texts are
scrubbed and httpx's request log is kept at WARNING.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field
from typing import Any

import httpx
import structlog

from .breaker import CircuitBreaker
from .errors import (
    TelegramBadRequest,
    TelegramCircuitOpen,
    TelegramError,
    TelegramForbidden,
    TelegramRetryAfter,
    TelegramUnavailable,
)
from .limits import BotRateLimiter, RateLimiter
from .until_date import until_date_for

log = structlog.get_logger("tenantry.telegram_api")
# httpx logs every request URL at INFO, and the URL holds the bot token.
logging.getLogger("httpx").setLevel(logging.WARNING)

DEFAULT_TIMEOUT = 5.0

#: Every permission off: what "restrict" means when the caller gives none.
MUTED_PERMISSIONS = {
    "can_send_messages": False, "can_send_audios": False, "can_send_documents": False,
    "can_send_photos": False, "can_send_videos": False, "can_send_video_notes": False,
    "can_send_voice_notes": False, "can_send_polls": False, "can_send_other_messages": False,
    "can_add_web_page_previews": False, "can_change_info": False, "can_invite_users": False,
    "can_pin_messages": False, "can_manage_topics": False,
}


@dataclass(frozen=True)
class ChatMember:
    """The part of Telegram's ChatMember the platform uses."""

    status: str  # creator | administrator | member | restricted | left | kicked
    user_id: int
    until_date: int = 0
    can_restrict_members: bool = False
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def is_banned(self) -> bool:
        """Banned from the chat ("kicked" in the Bot API's words)."""
        return self.status == "kicked"

    @property
    def is_present(self) -> bool:
        """In the chat right now (restricted members are still members)."""
        return self.status in ("creator", "administrator", "member", "restricted")

    @classmethod
    def from_api(cls, data: dict[str, Any]) -> ChatMember:
        """Parse the Bot API's ChatMember object."""
        return cls(status=str(data.get("status", "")),
                   user_id=int((data.get("user") or {}).get("id", 0)),
                   until_date=int(data.get("until_date") or 0),
                   can_restrict_members=bool(data.get("can_restrict_members")
                                             or data.get("status") == "creator"),
                   raw=data)


class BotApiClient:
    """An async client of one bot's Bot API, with limits, retries and a breaker."""

    def __init__(self, token: str, *, base_url: str | None = None,
                 timeout: float = DEFAULT_TIMEOUT, max_attempts: int = 3,
                 backoff_base: float = 0.5, backoff_max: float = 8.0,
                 max_retry_after: float = 30.0, max_429_waits: int = 5,
                 breaker: CircuitBreaker | None = None, limiter: RateLimiter | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        if not token:
            raise ValueError("a bot token is required")
        if base_url is None:
            from services.kit.settings import get_settings

            base_url = get_settings().telegram_api_base
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.max_retry_after = max_retry_after
        self.max_429_waits = max_429_waits
        self.breaker = breaker or CircuitBreaker()
        self.limiter: RateLimiter = limiter or BotRateLimiter()
        self._http = http or httpx.AsyncClient(
            timeout=timeout, limits=httpx.Limits(max_connections=64, max_keepalive_connections=32))
        #: Counters by outcome, for metrics and tests.
        self.stats: dict[str, int] = {"calls": 0, "retries": 0, "waits_429": 0}

    def _scrub(self, text: str) -> str:
        return text.replace(self._token, "***")

    def _backoff(self, attempt: int) -> float:
        delay = min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1))
        return delay * (0.5 + random.random() / 2)  # jitter: replicas do not retry in step

    async def call(self, method: str, params: dict[str, Any] | None = None) -> Any:
        """Call ``method`` with ``params``; return ``result`` or raise a TelegramError."""
        params = {k: v for k, v in (params or {}).items() if v is not None}
        url = f"{self.base_url}/bot{self._token}/{method}"
        attempt = 0
        waits = 0
        while True:
            if self.breaker.retry_in() > 0:  # open: fail fast, without taking a rate slot
                raise TelegramCircuitOpen(method, self.breaker.retry_in())
            await self.limiter.acquire(method, params.get("chat_id"))
            # The circuit may have opened while this call waited for its slot.
            if not self.breaker.allow():
                raise TelegramCircuitOpen(method, self.breaker.retry_in())
            try:
                self.stats["calls"] += 1
                response = await self._http.post(url, json=params, timeout=self.timeout)
                body = _json(response)
            except asyncio.CancelledError:
                self.breaker.release_probe()
                raise
            except httpx.HTTPError as exc:
                reason = f"{type(exc).__name__}"
                response, body = None, None
            else:
                reason = f"HTTP {response.status_code}"
            if response is None or response.status_code >= 500 or body is None:
                self.breaker.record_failure()
                attempt += 1
                if attempt >= self.max_attempts:
                    log.warning("telegram_unavailable", method=method, reason=reason)
                    raise TelegramUnavailable(method, f"{reason} after {attempt} attempts",
                                              error_code=response.status_code if response else None)
                self.stats["retries"] += 1
                await asyncio.sleep(self._backoff(attempt))
                continue
            self.breaker.record_success()  # Telegram is up and answering
            if body.get("ok"):
                return body.get("result")
            code = int(body.get("error_code") or response.status_code)
            description = self._scrub(str(body.get("description") or f"error {code}"))
            if code == 429:
                retry_after = float((body.get("parameters") or {}).get("retry_after") or 1)
                await self.limiter.pause(retry_after)
                if retry_after > self.max_retry_after or waits >= self.max_429_waits:
                    raise TelegramRetryAfter(method, description, retry_after)
                waits += 1
                self.stats["waits_429"] += 1
                log.info("telegram_retry_after", method=method, retry_after=retry_after)
                continue
            if code == 403:
                raise TelegramForbidden(method, description, error_code=code)
            if code == 400:
                raise TelegramBadRequest(method, description, error_code=code)
            raise TelegramError(method, description, error_code=code)

    # -- the methods the platform uses ----------------------------------------------------
    async def get_me(self) -> dict[str, Any]:
        """The bot's own User object."""
        return dict(await self.call("getMe"))

    async def ban_chat_member(self, chat_id: int, user_id: int, *,
                              duration_seconds: int | None = None, until_date: int | None = None,
                              revoke_messages: bool | None = None) -> bool:
        """Ban ``user_id`` from ``chat_id``: for ``duration_seconds`` (see
        :func:`until_date_for`), until an explicit ``until_date``, or forever."""
        if until_date is None:
            until_date = until_date_for(duration_seconds)
        return bool(await self.call("banChatMember", {
            "chat_id": chat_id, "user_id": user_id, "until_date": until_date,
            "revoke_messages": revoke_messages}))

    async def unban_chat_member(self, chat_id: int, user_id: int, *,
                                only_if_banned: bool = True) -> bool:
        """Lift a ban. ``only_if_banned`` (default) makes it a no-op for a present member;
        without it Telegram *removes* a member who is in the chat."""
        return bool(await self.call("unbanChatMember", {
            "chat_id": chat_id, "user_id": user_id, "only_if_banned": only_if_banned}))

    async def restrict_chat_member(self, chat_id: int, user_id: int,
                                   permissions: dict[str, bool] | None = None, *,
                                   duration_seconds: int | None = None,
                                   until_date: int | None = None) -> bool:
        """Restrict a member (default: mute everything) for a duration or forever."""
        if until_date is None:
            until_date = until_date_for(duration_seconds)
        return bool(await self.call("restrictChatMember", {
            "chat_id": chat_id, "user_id": user_id,
            "permissions": permissions or MUTED_PERMISSIONS, "until_date": until_date}))

    async def get_chat_member(self, chat_id: int, user_id: int) -> ChatMember:
        """The user's status in the chat."""
        return ChatMember.from_api(await self.call(
            "getChatMember", {"chat_id": chat_id, "user_id": user_id}))

    async def get_chat_administrators(self, chat_id: int) -> list[ChatMember]:
        """The chat's administrators (bots included)."""
        return [ChatMember.from_api(m) for m in await self.call(
            "getChatAdministrators", {"chat_id": chat_id})]

    async def send_message(self, chat_id: int | str, text: str, **extra: Any) -> dict[str, Any]:
        """Send a text message; ``extra`` passes parse_mode, reply_markup, etc."""
        return dict(await self.call("sendMessage", {"chat_id": chat_id, "text": text, **extra}))

    async def aclose(self) -> None:
        """Close the HTTP connection pool."""
        await self._http.aclose()


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
