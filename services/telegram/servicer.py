"""The gRPC adapter of TelegramService: other services' window onto the tenant's bot.

Calls go through the shared Bot API client (services.telegram_api), which owns
timeouts, retries, 429 handling, the breaker and the per-bot/per-chat limits.
Its typed errors become domain errors: 403 → PERMISSION_DENIED, 400 →
FAILED_PRECONDITION, an un-waitable 429 → RESOURCE_EXHAUSTED with retry_after,
anything transient → UNAVAILABLE.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from tenantry.telegram.v1 import telegram_pb2 as pb
from tenantry.telegram.v1 import telegram_pb2_grpc

from services.kit import context
from services.kit.errors import (
    FailedPrecondition,
    PermissionDenied,
    ResourceExhausted,
    Unavailable,
    Validator,
)
from services.telegram_api import (
    BotClientFactory,
    BotTokenMissing,
    ChatMember,
    TelegramBadRequest,
    TelegramError,
    TelegramForbidden,
    TelegramRetryAfter,
    TelegramUnavailable,
)

from .text import split_message

T = TypeVar("T")
MAX_TEXT = 65536
PARSE_MODES = ("", "HTML", "MarkdownV2")


async def call_telegram(work: Callable[[], Awaitable[T]]) -> T:
    """Run a Bot API call, mapping its typed errors to domain errors."""
    try:
        return await work()
    except BotTokenMissing as exc:
        raise FailedPrecondition(str(exc), code="bot_token_missing") from None
    except TelegramForbidden as exc:
        raise PermissionDenied(exc.description, code="telegram_forbidden") from None
    except TelegramBadRequest as exc:
        raise FailedPrecondition(exc.description, code="telegram_bad_request") from None
    except TelegramRetryAfter as exc:
        raise ResourceExhausted(exc.description, code="telegram_flood",
                                retry_after=exc.retry_after) from None
    except TelegramUnavailable as exc:
        raise Unavailable(exc.description, code="telegram_unavailable") from None
    except TelegramError as exc:
        raise Unavailable(exc.description, code="telegram_error") from None


def _member(m: ChatMember) -> pb.ChatMember:
    user: dict[str, Any] = m.raw.get("user") or {}
    return pb.ChatMember(user_id=m.user_id, username=str(user.get("username") or ""),
                         first_name=str(user.get("first_name") or ""), status=m.status,
                         until_date=m.until_date, can_restrict_members=m.can_restrict_members,
                         is_bot=bool(user.get("is_bot")),
                         language_code=str(user.get("language_code") or ""))


def _ids(v: Validator, chat_id: int, user_id: int | None = None) -> None:
    v.require(chat_id != 0, "chat_id", "is required")
    if user_id is not None:
        v.require(user_id > 0, "user_id", "must be a positive user id")


class TelegramServicer(telegram_pb2_grpc.TelegramServiceServicer):
    """Service tokens (and tenant admins) of the caller's tenant use that tenant's bot."""

    def __init__(self, clients: BotClientFactory) -> None:
        self.clients = clients

    async def SendMessage(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        v = Validator()
        _ids(v, request.chat_id)
        v.require(0 < len(request.text) <= MAX_TEXT, "text", f"1 to {MAX_TEXT} characters")
        v.require(request.parse_mode in PARSE_MODES, "parse_mode", "'', HTML or MarkdownV2")
        v.raise_if_any()
        client = await call_telegram(lambda: self.clients.for_tenant(tenant))
        ids = []
        for part in split_message(request.text):
            sent = await call_telegram(lambda p=part: client.send_message(  # type: ignore[misc]
                request.chat_id, p, parse_mode=request.parse_mode or None,
                disable_notification=request.disable_notification or None))
            ids.append(int(sent.get("message_id", 0)))
        return pb.SendMessageResponse(message_ids=ids)

    async def BanUser(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        v = Validator()
        _ids(v, request.chat_id, request.user_id)
        v.raise_if_any()
        client = await call_telegram(lambda: self.clients.for_tenant(tenant))
        until = request.until_date if request.HasField("until_date") else 0
        await call_telegram(lambda: client.ban_chat_member(
            request.chat_id, request.user_id, until_date=until,
            revoke_messages=request.revoke_messages or None))
        return pb.BanUserResponse()

    async def UnbanUser(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        v = Validator()
        _ids(v, request.chat_id, request.user_id)
        v.require(not (request.remove_member and request.only_if_banned), "remove_member",
                  "cannot be set together with only_if_banned")
        v.raise_if_any()
        client = await call_telegram(lambda: self.clients.for_tenant(tenant))
        await call_telegram(lambda: client.unban_chat_member(
            request.chat_id, request.user_id, only_if_banned=not request.remove_member))
        return pb.UnbanUserResponse()

    async def GetChatMember(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        v = Validator()
        _ids(v, request.chat_id, request.user_id)
        v.raise_if_any()
        client = await call_telegram(lambda: self.clients.for_tenant(tenant))
        member = await call_telegram(lambda: client.get_chat_member(request.chat_id,
                                                                    request.user_id))
        return pb.GetChatMemberResponse(member=_member(member))

    async def GetChatAdmins(self, request, ctx):  # type: ignore[no-untyped-def]
        tenant = context.caller_tenant("admin")
        v = Validator()
        _ids(v, request.chat_id)
        v.raise_if_any()
        client = await call_telegram(lambda: self.clients.for_tenant(tenant))
        admins = await call_telegram(lambda: client.get_chat_administrators(request.chat_id))
        return pb.GetChatAdminsResponse(admins=[_member(m) for m in admins])
