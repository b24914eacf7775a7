"""Telegram Bot API client: limits, retries, breaker and typed errors (see docs/telegram-api.md)."""

from .breaker import CircuitBreaker
from .client import BotApiClient, ChatMember
from .errors import (
    TelegramBadRequest,
    TelegramCircuitOpen,
    TelegramError,
    TelegramForbidden,
    TelegramRetryAfter,
    TelegramUnavailable,
)
from .factory import BotClientFactory, BotTokenMissing, bot_token_for
from .limits import BotRateLimiter, SharedBotRateLimiter, TokenBucket
from .until_date import until_date_for

__all__ = [
    "BotApiClient", "BotClientFactory", "BotRateLimiter", "BotTokenMissing", "ChatMember",
    "CircuitBreaker", "SharedBotRateLimiter", "TelegramBadRequest", "TelegramCircuitOpen", "TelegramError",
    "TelegramForbidden", "TelegramRetryAfter", "TelegramUnavailable", "TokenBucket",
    "bot_token_for", "until_date_for",
]
