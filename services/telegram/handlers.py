"""The bot's commands and chat_member handling (aiogram 3 routers and middlewares).

Handlers get, from the dispatcher's workflow data: ``tenant``, ``bot_state``
(:class:`BotState`) and ``moderation`` (:class:`ModerationClient`). Every reply
is in the caller's language; anything a user typed is HTML-escaped.
"""

from __future__ import annotations

import asyncio
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
from services.telegram_api import BotApiClient

from .chat_members import bot_removal, is_join, to_report
from .guards import BotState
from .i18n import lang_of, t
from .moderation import ModerationClient, Page, SeenUser
from .text import escape, split_message

log = structlog.get_logger("tenantry.telegram.bot")

ALLOWED_UPDATES = ["message", "callback_query", "chat_member", "my_chat_member"]


# -- middlewares ----------------------------------------------------------------------------

class UpdateGuard(BaseMiddleware):
    """Drops redelivered updates, learns usernames from every update, and tells moderation
    who was active (in the background: an update is never held up by it)."""

    def __init__(self) -> None:
        self._reports: set[asyncio.Task[None]] = set()

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                      event: TelegramObject, data: dict[str, Any]) -> Any:
        bot_state: BotState = data["bot_state"]
        assert isinstance(event, Update)
        if not await bot_state.first_delivery(event.update_id):
            log.info("update_redelivered", update_id=event.update_id)
            return None
        seen = []
        for user in _users_of(event):
            await bot_state.remember_username(user.username, user.id)
            if not user.is_bot and await bot_state.seen_due(user.id, user.username):
                seen.append(SeenUser(user.id, user.username or "", user.first_name or "",
                                     user.last_name or "", user.language_code or "", user.is_bot))
        if seen:
            task = asyncio.ensure_future(self._report_seen(data["moderation"], data["tenant"], seen))
            self._reports.add(task)
            task.add_done_callback(self._reports.discard)
        msg = event.message
        if msg is not None and (msg.text or "").startswith("/") and msg.from_user is not None:
            # 30 commands a minute per user: say so once, then ignore until the window resets.
            verdict = await bot_state.command_allowed(msg.from_user.id)
            if verdict == "warn":
                await data["bot"].send_message(msg.chat.id, t("rate_limited",
                                                              lang_of(msg.from_user.language_code)))
            if verdict != "ok":
                return None
        return await handler(event, data)

    @staticmethod
    async def _report_seen(moderation: ModerationClient, tenant: str, users: list[SeenUser]) -> None:
        try:
            await moderation.users_seen(tenant, users)
        except grpc.aio.AioRpcError as err:
            # Activity tracking is best effort; the next update of the user reports it again
            # once its throttle key expires.
            log.warning("users_seen_failed", code=err.code().name, users=len(users))

    async def drain(self) -> None:
        """Wait for activity reports still in flight (graceful shutdown)."""
        if self._reports:
            await asyncio.gather(*list(self._reports), return_exceptions=True)


def _users_of(update: Update) -> list[Any]:
    users = []
    if update.message and update.message.from_user:
        users.append(update.message.from_user)
        reply = update.message.reply_to_message
        if reply and reply.from_user:
            users.append(reply.from_user)
    if update.chat_member:
        users.append(update.chat_member.new_chat_member.user)
    if update.callback_query:
        users.append(update.callback_query.from_user)
    return users


# -- helpers --------------------------------------------------------------------------------

def _lang(message: Message | CallbackQuery) -> str:
    return lang_of(message.from_user.language_code if message.from_user else None)


async def _reply(message: Message, text: str, **extra: Any) -> None:
    parts = split_message(text)
    for i, part in enumerate(parts):
        await message.answer(part, **(extra if i == len(parts) - 1 else {}))


async def _target_user(message: Message, command: CommandObject,
                       bot_state: BotState) -> tuple[int | None, str]:
    """The <user> argument: @username, numeric id, or the author of the replied message."""
    arg = (command.args or "").strip()
    if not arg and message.reply_to_message and message.reply_to_message.from_user:
        user = message.reply_to_message.from_user
        return user.id, f"@{user.username}" if user.username else str(user.id)
    if arg.isdigit() and 0 < int(arg) < 2**53:
        return int(arg), arg
    if arg.startswith("@") and len(arg) > 1 and " " not in arg:
        return await bot_state.user_by_username(arg), arg
    return None, ""


async def _is_admin(message: Message, bot_api: BotApiClient, bot_state: BotState) -> bool:
    """Refuse politely unless the caller may ban in this group."""
    lang = _lang(message)
    if message.chat.type == "private":
        await message.answer(t("group_only", lang))
        return False
    if message.from_user is None or message.from_user.id not in await bot_state.chat_admins(
            bot_api, message.chat.id):
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


async def _render_page(bot_state: BotState, lang: str, context: dict[str, Any],
                       page: Page) -> tuple[str, InlineKeyboardMarkup | None]:
    if context["kind"] == "list":
        title = t("list_title", lang) if page.items or context.get("token") else t("list_empty", lang)
    else:
        empty = not page.items and not context.get("token")
        title = t("history_empty" if empty else "history_title", lang, user=escape(context["label"]))
    text = "\n".join([title, *(escape(item) for item in page.items)])
    cursor = await bot_state.save_cursor({**context, "token": page.next_token}) if page.next_token \
        else None
    return text, _page_markup(lang, cursor)


# -- commands -------------------------------------------------------------------------------

async def cmd_start(message: Message, bot_state: BotState) -> None:
    """Greeting and how to use the bot."""
    await message.answer(t("start", _lang(message)))
    await bot_state.save_state(message.from_user.id, "start", {})  # type: ignore[union-attr]


async def cmd_help(message: Message, bot_state: BotState) -> None:
    """The command list."""
    await message.answer(t("help", _lang(message)))
    await bot_state.save_state(message.from_user.id, "help", {})  # type: ignore[union-attr]


async def cmd_subscribe(message: Message, command: CommandObject, bot_api: BotApiClient, bot_state: BotState,
                        moderation: ModerationClient, tenant: str) -> None:
    """/subscribe <user> and /unsubscribe <user> (admins of the group)."""
    lang = _lang(message)
    user_id, label = await _target_user(message, command, bot_state)
    if user_id is None:
        text = t("unknown_username", lang, username=escape(label)) if label.startswith("@") \
            else t("usage", lang, command=command.command)
        await message.answer(text)
        return
    if not await _is_admin(message, bot_api, bot_state):
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
    await bot_state.save_state(admin, command.command, {"user_id": user_id, "chat_id": message.chat.id})


async def cmd_list(message: Message, bot_api: BotApiClient, bot_state: BotState, moderation: ModerationClient,
                   tenant: str) -> None:
    """The admin's subscriptions in this group, paginated with an inline button."""
    if not await _is_admin(message, bot_api, bot_state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    context = {"kind": "list", "admin": admin, "chat": message.chat.id, "token": ""}
    ok, page = await _moderation_call(message, moderation.subscriptions(
        tenant, admin, message.chat.id, ""))
    if ok:
        text, markup = await _render_page(bot_state, _lang(message), context, page)
        await _reply(message, text, reply_markup=markup)
    await bot_state.save_state(admin, "list", {"chat_id": message.chat.id})


async def cmd_history(message: Message, command: CommandObject, bot_api: BotApiClient, bot_state: BotState,
                      moderation: ModerationClient, tenant: str) -> None:
    """/history <user>: the user's ban events, paginated."""
    lang = _lang(message)
    user_id, label = await _target_user(message, command, bot_state)
    if user_id is None:
        text = t("unknown_username", lang, username=escape(label)) if label.startswith("@") \
            else t("usage", lang, command="history")
        await message.answer(text)
        return
    if not await _is_admin(message, bot_api, bot_state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    context = {"kind": "history", "admin": admin, "user": user_id, "label": label, "token": ""}
    ok, page = await _moderation_call(message, moderation.history(tenant, user_id, ""))
    if ok:
        text, markup = await _render_page(bot_state, lang, context, page)
        await _reply(message, text, reply_markup=markup)
    await bot_state.save_state(admin, "history", {"user_id": user_id})


async def cmd_stats(message: Message, bot_api: BotApiClient, bot_state: BotState, moderation: ModerationClient,
                    tenant: str) -> None:
    """The admin's subscription statistics."""
    if not await _is_admin(message, bot_api, bot_state):
        return
    admin = message.from_user.id  # type: ignore[union-attr]
    ok, stats = await _moderation_call(message, moderation.stats(tenant, admin))
    if ok:
        await message.answer(t("stats", _lang(message), **stats))
    await bot_state.save_state(admin, "stats", {})


async def cmd_settings(message: Message, bot_state: BotState, moderation: ModerationClient,
                       tenant: str) -> None:
    """The caller's settings."""
    lang = _lang(message)
    user = message.from_user.id  # type: ignore[union-attr]
    ok, settings = await _moderation_call(message, moderation.settings(tenant, user))
    if ok:
        await message.answer(t("settings", lang, **{k: escape(v) for k, v in settings.items()})
                             if settings else t("settings_none", lang))
    await bot_state.save_state(user, "settings", {})


async def cmd_unknown(message: Message) -> None:
    """Anything else that looks like a command gets a hint, never silence."""
    await message.answer(t("unknown_command", _lang(message)))


async def on_page(query: CallbackQuery, bot_state: BotState, moderation: ModerationClient,
                  tenant: str) -> None:
    """The "Next" button of a paginated list: only its admin may turn the page."""
    lang = _lang(query)
    context = await bot_state.load_cursor((query.data or "")[3:])
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
    text, markup = await _render_page(bot_state, lang, context, page)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(split_message(text)[0], reply_markup=markup)


async def on_chat_member(event: ChatMemberUpdated, event_update: Update, bot: Bot,
                         moderation: ModerationClient, tenant: str) -> None:
    """Ban, kick, restrict and unban become ban events; a join is checked against the
    synced bans (a banned user is banned on sight); anything else is ignored.

    Changes the bot made itself (a synced ban, a kick's ban-and-unban, a ban on join)
    come back as chat_member updates too: they are the network's echo, not news, and
    reporting them would start a sync from every target chat.
    """
    if event.from_user is not None and event.from_user.id == bot.id:
        return
    if is_join(event):
        user_id = event.new_chat_member.user.id
        outcome = await moderation.enforce_join(tenant, event.chat.id, user_id,
                                                join_ref=str(event_update.update_id))
        if outcome != "not_banned":
            log.info("join_enforced", chat_id=event.chat.id, user_id=user_id, status=outcome)
        return
    report = to_report(tenant, event, event_update.update_id)
    if report is None:
        return
    created = await moderation.report_ban(tenant, report)
    log.info("ban_event_reported", chat_id=report.chat_id, user_id=report.user_id,
             event_type=report.event_type, event_id=report.event_id, created=created)


async def on_my_chat_member(event: ChatMemberUpdated, moderation: ModerationClient,
                            tenant: str) -> None:
    """The bot was removed from a group: bans can no longer be synced there, so the
    subscriptions into it end. Any other change of the bot's own status is ignored here
    (a lost ban right shows, and is told to the admin, when a sync meets it)."""
    status = bot_removal(event)
    if status is None:
        return
    ended = await moderation.bot_removed(tenant, event.chat.id, status)
    log.info("bot_removed_from_chat", chat_id=event.chat.id, status=status,
             subscriptions_deactivated=ended)


def build_router() -> Router:
    """A fresh router with every handler (a router attaches to one dispatcher only)."""
    router = Router(name="commands")
    router.message.register(cmd_start, Command("start"))
    router.message.register(cmd_help, Command("help"))
    router.message.register(cmd_subscribe, Command("subscribe", "unsubscribe"))
    router.message.register(cmd_list, Command("list"))
    router.message.register(cmd_history, Command("history"))
    router.message.register(cmd_stats, Command("stats"))
    router.message.register(cmd_settings, Command("settings"))
    router.message.register(cmd_unknown, F.text.startswith("/"))
    router.callback_query.register(on_page, F.data.startswith("pg:"))
    router.chat_member.register(on_chat_member)
    router.my_chat_member.register(on_my_chat_member)
    return router
