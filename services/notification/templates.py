"""Message templates: the seed's texts as defaults, placeholder checks, safe rendering.

Templates use ``{placeholder}`` fields (``str.format`` syntax without format
specs, conversions, attribute or index access, so a template can never reach
into Python objects). Each template may use only its own placeholders; a text
with any other is rejected. Rendering escapes every value *and* the template's
literal text for the target (HTML for Telegram), so a user name such as
``<b>x</b>`` or ``*x*`` shows as typed and never becomes markup.
"""

from __future__ import annotations

import html
import string
from collections.abc import Callable, Mapping

from services.kit.errors import FieldViolation

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
MAX_TEMPLATE_LENGTH = 4000

_COMMON = ("username", "user_id", "chat_name", "chat_id", "timestamp")

#: The placeholders each template may use.
PLACEHOLDERS: dict[str, tuple[str, ...]] = {
    "ban_detected": (*_COMMON, "reason", "event_type", "initiator_user_id"),
    "sync_success": (*_COMMON, "source_chat_name"),
    "sync_failed": (*_COMMON, "error"),
    "subscription_created": (*_COMMON, "subscription_id", "admin_user_id"),
    "limit_reached": (*_COMMON, "limit"),
    "subscriptions_ended": ("chat_name", "chat_id", "timestamp"),
    "system": ("title", "message", "timestamp"),
}

#: Seed 001 §6.4 texts (ban_detected, sync_success, sync_failed) and ours in the same style.
DEFAULT_TEMPLATES: dict[str, dict[str, str]] = {
    "ban_detected": {
        "ru": "🚫 Пользователь {username} (ID: {user_id}) был забанен в чате {chat_name}\n"
              "Причина: {reason}\nВремя: {timestamp}",
        "en": "🚫 User {username} (ID: {user_id}) was banned in {chat_name}\n"
              "Reason: {reason}\nTime: {timestamp}",
    },
    "sync_success": {
        "ru": "✅ Бан успешно синхронизирован в ваш чат\n"
              "Пользователь: {username}\nЧат: {chat_name}",
        "en": "✅ Ban successfully synced to your chat\n"
              "User: {username}\nChat: {chat_name}",
    },
    "sync_failed": {
        "ru": "❌ Ошибка синхронизации бана\n"
              "Пользователь: {username}\nЧат: {chat_name}\n"
              "Причина: {error}",
        "en": "❌ Failed to sync ban\n"
              "User: {username}\nChat: {chat_name}\n"
              "Error: {error}",
    },
    "subscription_created": {
        "ru": "🔔 Подписка создана\nПользователь: {username} (ID: {user_id})\nЧат: {chat_name}",
        "en": "🔔 Subscription created\nUser: {username} (ID: {user_id})\nChat: {chat_name}",
    },
    "limit_reached": {
        "ru": "⚠️ Достигнут лимит подписок ({limit})\n"
              "Подписка на {username} (ID: {user_id}) не создана",
        "en": "⚠️ Subscription limit reached ({limit})\n"
              "The subscription to {username} (ID: {user_id}) was not created",
    },
    "subscriptions_ended": {
        "ru": "⚠️ Подписки чата {chat_name} отключены\n"
              "Бот больше не может синхронизировать баны в этот чат: его удалили из чата "
              "или чата больше нет. Добавьте бота снова и подпишитесь заново.",
        "en": "⚠️ Subscriptions of chat {chat_name} ended\n"
              "The bot can no longer sync bans into this chat: it was removed from it, "
              "or the chat is gone. Add the bot back and subscribe again.",
    },
    "system": {
        "ru": "ℹ️ {title}\n{message}",
        "en": "ℹ️ {title}\n{message}",
    },
}

#: The digest wrapper (not editable): a header, then the rendered items.
DIGEST_HEADER = {
    "ru": "📬 Сводка уведомлений: {count}",
    "en": "📬 Notification digest: {count}",
}

NOTIFICATION_TYPES = tuple(DEFAULT_TEMPLATES)
MISSING_VALUE = "—"

Escape = Callable[[str], str]


def escape_html(value: str) -> str:
    """Escape for Telegram's HTML parse mode (which knows only &lt; &gt; &amp; &quot;)."""
    return html.escape(value, quote=True)


def no_escape(value: str) -> str:
    """Plain text needs no escaping."""
    return value


def template_errors(template_id: str, text: str, field: str) -> list[FieldViolation]:
    """Why ``text`` cannot be template ``template_id`` (empty list when it can)."""
    allowed = PLACEHOLDERS[template_id]
    errors: list[FieldViolation] = []
    if len(text) > MAX_TEMPLATE_LENGTH:
        errors.append(FieldViolation(field, f"at most {MAX_TEMPLATE_LENGTH} characters"))
    try:
        parts = list(string.Formatter().parse(text))
    except ValueError as exc:
        return [*errors, FieldViolation(field, f"malformed placeholder: {exc}")]
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if spec or conversion:
            errors.append(FieldViolation(field, f"placeholder {{{name}}} may not have a format "
                                                "spec or conversion"))
        elif name not in allowed:
            errors.append(FieldViolation(
                field, f"unknown placeholder {{{name}}}; allowed: {', '.join(allowed)}"))
    return errors


def render(text: str, params: Mapping[str, object], escape: Escape = no_escape) -> str:
    """Fill ``text``'s placeholders from ``params``, escaping literals and values alike."""
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(text):
        out.append(escape(literal))
        if name is not None:
            value = params.get(name)
            out.append(escape(MISSING_VALUE if value in (None, "") else str(value)))
    return "".join(out)


def supported_language(tag: str | None) -> str | None:
    """The supported language of a language tag ("en-US" → "en"), or None."""
    if not tag:
        return None
    short = tag.lower().split("-")[0].split("_")[0]
    return short if short in LANGUAGES else None


def pick_language(*candidates: str | None) -> str:
    """The first supported language among ``candidates`` (e.g. "en-US" → "en"), else Russian."""
    for candidate in candidates:
        if (language := supported_language(candidate)) is not None:
            return language
    return DEFAULT_LANGUAGE
