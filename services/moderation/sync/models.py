"""Records of the sync engine."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Event types a ban event may carry, and the sync_logs actions they become.
EVENT_TYPES = ("ban", "kick", "restrict", "unban")
#: sync_logs statuses (seed §5).
LOG_STATUSES = ("pending", "success", "failed", "skipped")
#: sync_runs statuses: running, then the topic it finished with.
RUN_STATUSES = ("running", "completed", "partial", "failed")


@dataclass(frozen=True)
class BanEvent:
    """A ban event as the sync engine needs it (from ``ban.detected`` or ``ban_events``)."""

    ban_event_id: int
    user_id: int
    chat_id: int
    event_type: str
    ban_duration: int | None = None
    reason: str = ""
    event_id: str = ""
    username: str = ""
    event_timestamp: datetime | None = None

    @classmethod
    def from_proto(cls, msg: Any) -> BanEvent:
        """From a ``tenantry.moderation.v1.BanDetected``."""
        ts = msg.event_timestamp.ToDatetime(tzinfo=_utc()) if msg.HasField("event_timestamp") \
            else None
        return cls(ban_event_id=msg.ban_event_id, user_id=msg.user_id, chat_id=msg.chat_id,
                   event_type=msg.event_type,
                   ban_duration=msg.ban_duration if msg.HasField("ban_duration") else None,
                   reason=msg.reason, event_id=msg.event_id, username=msg.username,
                   event_timestamp=ts)


@dataclass(frozen=True)
class ChatSettings:
    """A target chat's sync settings (seed §3 ``chat_settings``), defaults when absent."""

    sync_ban_type: str = "same"
    sync_delay_seconds: int = 0
    auto_sync_enabled: bool = True
    require_confirmation: bool = False
    temporary_ban_seconds: int | None = None


@dataclass(frozen=True)
class PlannedTarget:
    """One row to write into sync_logs for a run."""

    target_chat_id: int
    action: str
    ban_duration: int | None
    delay_seconds: int
    awaiting_confirmation: bool
    admin_user_id: int | None
    subscription_id: int | None
    policy: str | None
    skip_reason: str | None = None

    def idempotency_key(self, ban_event_id: int) -> str:
        """(ban_event_id, target_chat_id, action): one effect per event, chat and action."""
        return f"{ban_event_id}:{self.target_chat_id}:{self.action}"


@dataclass(frozen=True)
class LogRow:
    """A claimed sync_logs row, as the executor needs it."""

    id: int
    sync_id: uuid.UUID
    ban_event_id: int
    source_chat_id: int
    target_chat_id: int
    user_id: int
    action: str
    ban_duration: int | None
    attempts: int
    retry_count: int
    admin_user_id: int | None
    policy: str | None
    #: When the ban happened (epoch seconds; the run's event time, else when it was planned):
    #: a timed ban ends ``ban_duration`` after it, however late the sync runs.
    banned_at: float | None = None


@dataclass(frozen=True)
class Outcome:
    """How one row ended (or that it was deferred)."""

    status: str  # success | failed | skipped | deferred | retry
    error: str | None = None
    until_date: int | None = None
    defer_seconds: float = 0.0
    chat_not_found: bool = False
    rights_missing: bool = False


@dataclass
class RunStatus:
    """A run with its per-status counts (what GET /sync/status returns)."""

    sync_id: uuid.UUID
    ban_event_id: int
    user_id: int
    source_chat_id: int
    event_type: str
    trigger: str
    status: str
    total_chats: int
    created_at: datetime
    finished_at: datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    policy: str | None = None


def _utc() -> Any:
    from datetime import UTC

    return UTC
