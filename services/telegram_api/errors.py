"""Typed errors of the Bot API client, one per way a call can fail.

Callers branch on the type, never on status codes: a 403 means the bot may not
act in that chat (kicked, not a member), a 400 is a request Telegram will never
accept as sent (chat not found, user not found, not enough rights), a 429 that
could not be waited out carries its ``retry_after``, and everything transient
(timeouts, 5xx, connection errors, an open circuit) is TelegramUnavailable.
"""

from __future__ import annotations


class TelegramError(Exception):
    """Base of every Bot API client error."""

    def __init__(self, method: str, description: str, *, error_code: int | None = None) -> None:
        super().__init__(f"{method}: {description}")
        self.method = method
        self.description = description
        self.error_code = error_code


class TelegramForbidden(TelegramError):
    """403: the bot may not act here (kicked, not a member, blocked by the user)."""


class TelegramBadRequest(TelegramError):
    """400: Telegram refuses the request as sent (chat/user not found, not enough rights)."""

    @property
    def chat_not_found(self) -> bool:
        """The chat does not exist (or the bot can never see it)."""
        return "chat not found" in self.description.lower()

    @property
    def user_not_found(self) -> bool:
        """The user id is unknown to Telegram."""
        text = self.description.lower()
        return "user not found" in text or "participant_id_invalid" in text

    @property
    def rights_missing(self) -> bool:
        """The bot is in the chat but lacks the admin right the call needs."""
        text = self.description.lower()
        return ("not enough rights" in text or "chat_admin_required" in text
                or "need administrator rights" in text or "not an administrator" in text)


class TelegramRetryAfter(TelegramError):
    """429 that the client did not wait out (retry_after longer than it may wait)."""

    def __init__(self, method: str, description: str, retry_after: float) -> None:
        super().__init__(method, description, error_code=429)
        self.retry_after = retry_after


class TelegramUnavailable(TelegramError):
    """Transient: timeouts, 5xx and connection errors after the client's retries."""


class TelegramCircuitOpen(TelegramUnavailable):
    """The client's circuit breaker is open; no call was made. Retry after ``retry_in``."""

    def __init__(self, method: str, retry_in: float) -> None:
        super().__init__(method, f"circuit open; retry in {retry_in:.2f}s")
        self.retry_in = retry_in
