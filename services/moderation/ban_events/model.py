"""The ban event types and the limits the service enforces (documented in docs/moderation/ban-events.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

EVENT_TYPES = ("ban", "kick", "restrict", "unban")
#: Only these types may carry a duration (a kick or an unban has none).
DURATION_TYPES = frozenset({"ban", "restrict"})
#: Telegram treats restrictions longer than 366 days as permanent; so do we (absent = permanent).
MAX_BAN_DURATION = 366 * 24 * 3600
MAX_EVENT_ID = 255
MAX_REASON = 1000
MIN_REASON_SEARCH = 3
MAX_USERNAME = 64
MAX_CHAT_TITLE = 255
MAX_METADATA_BYTES = 8192
#: Largest bulk call; larger batches are refused whole (INVALID_ARGUMENT, nothing written).
MAX_BULK = 5000
#: How far ahead of the server clock an event_timestamp may be (clock skew of the reporter).
MAX_FUTURE_SKEW_SECONDS = 300


@dataclass
class BanEventInput:
    """One event as a client sends it (after transport decoding, before validation)."""

    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    reason: str
    ban_duration: int | None = None
    initiator_user_id: int | None = None
    event_timestamp: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    username: str = ""
    chat_title: str = ""


@dataclass(frozen=True)
class BanEvent:
    """One stored row of ``ban_events`` (or of ``ban_events_archive``, then with ``archived_at``)."""

    id: int
    event_id: str
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int | None
    reason: str
    initiator_user_id: int | None
    event_timestamp: datetime
    created_at: datetime
    metadata: dict[str, Any]
    archived_at: datetime | None = None


@dataclass(frozen=True)
class Registered:
    """The outcome of registering one event: the row, and whether this call created it."""

    event: BanEvent
    created: bool


@dataclass
class BulkItemResult:
    """The outcome of one bulk item: created, duplicate or invalid (with violations)."""

    index: int
    event_id: str
    status: str
    id: int = 0
    violations: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class BulkResult:
    """Per-item results in request order, and the totals."""

    results: list[BulkItemResult]

    def count(self, status: str) -> int:
        """How many items ended with ``status``."""
        return sum(1 for r in self.results if r.status == status)


@dataclass(frozen=True)
class Page:
    """One page of events and the token of the next one ('' on the last)."""

    events: list[BanEvent]
    next_token: str
