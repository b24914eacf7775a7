"""The bot's replies in Russian and English, picked by the user's Telegram language."""

from __future__ import annotations

TEXTS: dict[str, dict[str, str]] = {
    "start": {
        "ru": "👋 Я бот синхронизации банов. Добавьте меня админом в чат и подпишитесь на "
              "пользователей: их баны в других чатах будут применяться и у вас.\n/help — команды",
        "en": "👋 I sync bans across chats. Make me an admin of your chat and subscribe to "
              "users: their bans elsewhere will apply in your chat too.\n/help — commands",
    },
    "help": {
        "ru": "Команды:\n/subscribe &lt;user&gt; — подписаться\n/unsubscribe &lt;user&gt; — "
              "отписаться\n/list — мои подписки\n/history &lt;user&gt; — история банов\n"
              "/settings — настройки\n/stats — статистика\n&lt;user&gt;: @username, числовой id "
              "или ответ на сообщение пользователя",
        "en": "Commands:\n/subscribe &lt;user&gt; — subscribe\n/unsubscribe &lt;user&gt; — "
              "unsubscribe\n/list — my subscriptions\n/history &lt;user&gt; — ban history\n"
              "/settings — settings\n/stats — statistics\n&lt;user&gt;: @username, a numeric id "
              "or a reply to the user's message",
    },
    "usage": {
        "ru": "Использование: /{command} &lt;@username | id | ответ на сообщение&gt;",
        "en": "Usage: /{command} &lt;@username | id | reply to a message&gt;",
    },
    "unknown_command": {
        "ru": "Неизвестная команда. /help — список команд",
        "en": "Unknown command. /help lists the commands",
    },
    "unknown_username": {
        "ru": "Не знаю пользователя {username}. Укажите числовой id или ответьте на его сообщение",
        "en": "I don't know {username} yet. Give a numeric id or reply to their message",
    },
    "group_only": {
        "ru": "Эта команда работает в группе, где вы администратор",
        "en": "Use this command in a group where you are an admin",
    },
    "not_admin": {
        "ru": "Извините, эта команда доступна только администраторам чата",
        "en": "Sorry, only the chat's admins can use this command",
    },
    "subscribed": {"ru": "✅ Подписка на {user} создана", "en": "✅ Subscribed to {user}"},
    "already": {"ru": "Вы уже подписаны на {user}", "en": "You already follow {user}"},
    "self": {"ru": "Нельзя подписаться на себя", "en": "You cannot subscribe to yourself"},
    "limit": {"ru": "Достигнут лимит подписок", "en": "You reached the subscription limit"},
    "unsubscribed": {"ru": "Подписка на {user} удалена", "en": "Unsubscribed from {user}"},
    "not_subscribed": {"ru": "Вы не подписаны на {user}", "en": "You don't follow {user}"},
    "list_empty": {"ru": "Подписок нет", "en": "No subscriptions"},
    "list_title": {"ru": "Ваши подписки:", "en": "Your subscriptions:"},
    "history_empty": {"ru": "Банов {user} не найдено", "en": "No bans of {user} found"},
    "history_title": {"ru": "История банов {user}:", "en": "Ban history of {user}:"},
    "next": {"ru": "Далее ▶", "en": "Next ▶"},
    "stats": {
        "ru": "Подписок: {active} (осталось {remaining} из {limit})",
        "en": "Subscriptions: {active} ({remaining} of {limit} left)",
    },
    "settings": {
        "ru": "Уведомления: {notifications}\nЯзык: {language}\nЧасовой пояс: {timezone}",
        "en": "Notifications: {notifications}\nLanguage: {language}\nTimezone: {timezone}",
    },
    "settings_none": {"ru": "Настройки по умолчанию", "en": "Default settings"},
    "rate_limited": {
        "ru": "Слишком много команд. Подождите минуту",
        "en": "Too many commands. Please wait a minute",
    },
    "unavailable": {
        "ru": "Сервис временно недоступен, попробуйте позже",
        "en": "The service is unavailable right now, please try later",
    },
    "invalid": {"ru": "Неверный запрос: {reason}", "en": "Invalid request: {reason}"},
    "page_expired": {"ru": "Страница устарела", "en": "This page has expired"},
}


def lang_of(code: str | None) -> str:
    """Russian for ru/uk/be/kk users, English for everyone else."""
    short = (code or "").lower().split("-")[0]
    return "ru" if short in ("ru", "uk", "be", "kk") else "en"


def t(key: str, lang: str, **values: object) -> str:
    """The text ``key`` in ``lang`` with ``values`` filled in (values must be escaped)."""
    return TEXTS[key][lang].format(**values)
