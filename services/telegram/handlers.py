"""The bot's commands and chat_member handling (aiogram 3 routers and middlewares).

Handlers get, from the dispatcher's workflow data: ``tenant``, ``state``
(:class:`BotState`) and ``moderation`` (:class:`ModerationClient`). Every reply
is in the caller's language; anything a user typed is HTML-escaped.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc
import structlog
from aiogram import BaseMiddleware, Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import (
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)

from services.kit.status import decode_error

from .chat_members import to_report
from .guards import BotState
from .i18n import lang_of, t
from .moderation import ModerationClient, Page
from .text import escape, split_message

log = structlog.get_logger("tenantry.telegram.bot")

router = Router(name="commands")
ALLOWED_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member"]


# -- middlewares ----------------------------------------------------------------------------

class UpdateGuard(BaseMiddleware):
    """Drops redelivered updates and learns usernames from every update."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                      event: TelegramObject, data: dict[str, Any]) -> Any:
        state: BotState = data["state"]
        assert isinstance(event, Update)
        if not await state.first_delivery(event.update_id):
            log.info("update_redelivered", update_id=event.update_id)
            return None
        for user in _users_of(event):
            await state.remember_username(user.username, user.id)
        return await handler(event, data)


def _users_of(update: Update) -> list[Any]:
    users = []
    if update.message and update.message.from_user:
        users.append(update.message.from_user)
        reply = update.message.reply_to_message
        if reply and reply.from_user:
            users.append(reply.from_user)
    if update.chat_member:
        users.append(update.chat_member.new_chat_member.user)
    return users


class CommandRateLimit(BaseMiddleware):
    """30 commands a minute per user: past that, say so once, then ignore until the window resets."""

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                      event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Message)
        if not (event.text or "").startswith("/") or event.from_user is None:
            return await handler(event, data)
        verdict = await data["state"].command_allowed(event.from_user.id)
        if verdict == "warn":
            await event.answer(t("rate_limited", lang_of(event.from_user.language_code)))
        if verdict != "ok":
            return None
        return await handler(event, data)


# -- helpers --------------------------------------------------------------------------------

def _lang(message: Message | CallbackQuery) -> str:
    return lang_of(message.from_user.language_code if message.from_user else None)


async def _reply(message: Message, text: str, **extra: Any) -> None:
    parts = split_message(text)
    for i, part in enumerate(parts):
        await message.answer(part, **(extra if i == len(parts) - 1 else {}))


async def _target_user(message: Message, command: CommandObject,
                       state: BotState) -> tuple[int | None, str]:
    """The <user> argument: @username, numeric id, or the author of the replied message."""
    arg = (command.args or "").strip()
    if not arg and message.reply_to_message and message.reply_to_message.from_user:
        user = message.reply_to_message.from_user
        return user.id, f"@{user.username}" if user.username else str(user.id)
    if arg.isdigit() and 0 < int(arg) < 2**53:
        return int(arg), arg
    if arg.startswith("@") and len(arg) > 1 and " " not in arg:
        return await state.user_by_username(arg), arg
    return None, ""


async def _is_admin(message: Message, bot: Bot, state: BotState) -> bool:
    """Refuse politely unless the caller may ban in this group."""
    lang = _lang(message)
    if message.chat.type == "private":
        await message.answer(t("group_only", lang))
        return False
    if message.from_user is None or message.from_user.id not in await state.chat_admins(
            bot, message.chat.id):
        await message.answer(t("not_admin", lang))
        return False
    return True


async def _moderation_call(message: Message, work: Awaitable[Any],
                           known: dict[grpc.StatusCode, str] | None = None,
                           **values: object) -> tuple[bool, Any]:
    """Run a moderation call; on failure answer with a short message (never a trace)."""
    lang = _lang(message)
    try:
        return True, await work
    except grpc.aio.AioRpcError as err:
        decoded = decode_error(err)
        key = (known or {}).get(decoded.code)
        if decoded.reason in ("self_subscription",):
            key = "self"
        if key:
            await message.answer(t(key, lang, **values))
        elif decoded.code == grpc.StatusCode.INVALID_ARGUMENT:
            reason = "; ".join(v.description for v in decoded.violations) or decoded.message
            await message.answer(t("invalid", lang, reason=escape(reason)))
        else:
            log.warning("moderation_call_failed", code=decoded.code.name, reason=decoded.reason)
            await message.answer(t("unavailable", lang))
        return False, None


def _page_markup(lang: str, cursor: str | None) -> InlineKeyboardMarkup | None:
    if not cursor:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=t("next", lang), callback_data=f"pg:{cursor}")]])


async def _render_page(state: BotState, lang: str, context: dict[str, Any],
                       page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    if context["kind"] == "list":
        title = t("list_title", lang) if page.items or context.get("token") else t("list_empty", lang)
    else:
        empty = not page.items and not context.get("token")
        title = t("history_empty" if empty else "history_title", lang, user=escape(context["label"]))
    text = "\n".join([title, *(escape(item) for item in page.items)])
    cursor = await state.save_cursor({**context, "token": page.next_token}) if page.next_token \
        else None
    return text, _page_markup(lang, cursor)


# -- commands -------------------------------------------------------------------------------

@router.message(Command("start"))
async def cmd_start(message: Message, state: BotState) -> None:
    """Greeting and how to use the bot."""
    await message.answer(t("start", _lang(message)))
    await state.save_state(message.from_user.id, "start", {})  # type: ignore[union-attr]


@router.message(Command("help"))
async def cmd_help(message: Message, state: BotState) -> None:
    """The command list."""
    await message.answer(t("help", _lang(message)))
    await state.save_state(message.from_user.id, "help", {})  # type: ignore[union-attr]


@router.message(Command("subscribe", "unsubscribe"))
async def cmd_subscribe(message: Message, command: CommandObject, bot: Bot, state: BotState,
                        moderation: ModerationClient, tenant: str) -> None:
    """/subscribe <user> and /unsubscribe <user> (admins of the group)."""
    lang = _lang(message)
    user_id, label = await _target_user(message, command, state)
    if user_id is None:
        text = t("unknown_username", lang, username=escape(label)) if label.startswith("@") \
            else t("usage", lang, command=command.command)
        await message.answer(text)
        return
    if not await _is_admin(message, bot, state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    user = escape(label)
    if command.command == "subscribe":
        if user_id == admin:
            await message.answer(t("self", lang))
            return
        ok, _ = await _moderation_call(
            message, moderation.subscribe(tenant, admin, message.chat.id, user_id),
            {grpc.StatusCode.ALREADY_EXISTS: "already",
             grpc.StatusCode.RESOURCE_EXHAUSTED: "limit"}, user=user)
        if ok:
            await message.answer(t("subscribed", lang, user=user))
    else:
        ok, removed = await _moderation_call(
            message, moderation.unsubscribe(tenant, admin, message.chat.id, user_id))
        if ok:
            await message.answer(t("unsubscribed" if removed else "not_subscribed", lang, user=user))
    await state.save_state(admin, command.command, {"user_id": user_id, "chat_id": message.chat.id})


@router.message(Command("list"))
async def cmd_list(message: Message, bot: Bot, state: BotState, moderation: ModerationClient,
                   tenant: str) -> None:
    """The admin's subscriptions in this group, paginated with an inline button."""
    if not await _is_admin(message, bot, state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    context = {"kind": "list", "admin": admin, "chat": message.chat.id, "token": ""}
    ok, page = await _moderation_call(message, moderation.subscriptions(
        tenant, admin, message.chat.id, ""))
    if ok:
        text, markup = await _render_page(state, _lang(message), context, page)
        await _reply(message, text, reply_markup=markup)
    await state.save_state(admin, "list", {"chat_id": message.chat.id})


@router.message(Command("history"))
async def cmd_history(message: Message, command: CommandObject, bot: Bot, state: BotState,
                      moderation: ModerationClient, tenant: str) -> None:
    """/history <user>: the user's ban events, paginated."""
    lang = _lang(message)
    user_id, label = await _target_user(message, command, state)
    if user_id is None:
        text = t("unknown_username", lang, username=escape(label)) if label.startswith("@") \
            else t("usage", lang, command="history")
        await message.answer(text)
        return
    if not await _is_admin(message, bot, state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    context = {"kind": "history", "admin": admin, "user": user_id, "label": label, "token": ""}
    ok, page = await _moderation_call(message, moderation.history(tenant, user_id, ""))
    if ok:
        text, markup = await _render_page(state, lang, context, page)
        await _reply(message, text, reply_markup=markup)
    await state.save_state(admin, "history", {"user_id": user_id})


@router.message(Command("stats"))
async def cmd_stats(message: Message, bot: Bot, state: BotState, moderation: ModerationClient,
                    tenant: str) -> None:
    """The admin's subscription statistics."""
    if not await _is_admin(message, bot, state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    ok, stats = await _moderation_call(message, moderation.stats(tenant, admin))
    if ok:
        await message.answer(t("stats", _lang(message), **stats))
    await state.save_state(admin, "stats", {})


@router.message(Command("settings"))
async def cmd_settings(message: Message, state: BotState, moderation: ModerationClient,
                       tenant: str) -> None:
    """The caller's settings."""
    lang = _lang(message)
    user = message.from_user.id  # type: ignore[union-attr]
    ok, settings = await _moderation_call(message, moderation.settings(tenant, user))
    if ok:
        await message.answer(t("settings", lang, **{k: escape(v) for k, v in settings.items()})
                             if settings else t("settings_none", lang))
    await state.save_state(user, "settings", {})


@router.message(F.text.startswith("/"))
async def cmd_unknown(message: Message) -> None:
    """Anything else that looks like a command gets a hint, never silence."""
    await message.answer(t("unknown_command", _lang(message)))


@router.callback_query(F.data.startswith("pg:"))
async def on_page(query: CallbackQuery, state: BotState, moderation: ModerationClient,
                  tenant: str) -> None:
    """The "Next" button of a paginated list: only its admin may turn the page."""
    lang = _lang(query)
    context = await state.load_cursor((query.data or "")[3:])
    if context is None or context["admin"] != query.from_user.id:
        await query.answer(t("page_expired", lang))
        return
    try:
        if context["kind"] == "list":
            page = await moderation.subscriptions(tenant, context["admin"], context["chat"],
                                                  context["token"])
        else:
            page = await moderation.history(tenant, context["user"], context["token"])
    except grpc.aio.AioRpcError:
        await query.answer(t("unavailable", lang))
        return
    text, markup = await _render_page(state, lang, context, page)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(split_message(text)[0], reply_markup=markup)


@router.chat_member()
async def on_chat_member(event: ChatMemberUpdated, event_update: Update,
                         moderation: ModerationClient, tenant: str) -> None:
    """Ban, kick, restrict and unban become ban events (others are ignored)."""
    report = to_report(tenant, event, event_update.update_id)
    if report is None:
        return
    created = await moderation.report_ban(tenant, report)
    log.info("ban_event_reported", chat_id=report.chat_id, user_id=report.user_id,
             event_type=report.event_type, event_id=report.event_id, created=created)
