"""The Telegram adapter: the per-tenant bot front end (aiogram 3) and the internal TelegramService."""
