"""chat_member updates → ban events: which transitions count, and a stable event id;
my_chat_member updates → whether the bot itself was removed from a group."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from aiogram.types import ChatMemberUpdated

from .moderation import BanReport, default_reason

_PRESENT = ("creator", "administrator", "member", "restricted")
_EVENT_NS = uuid.UUID("5b0f3c1e-2a7d-4c55-9a63-7d1b0c0e7a11")


def stable_event_id(tenant: str, chat_id: int, user_id: int, update_id: int) -> str:
    """A UUID that is a hash of (tenant, chat, user, update_id): a redelivery gets the same id."""
    return str(uuid.uuid5(_EVENT_NS, f"{tenant}:{chat_id}:{user_id}:{update_id}"))


def _seconds(until: datetime | None, since: datetime) -> int | None:
    if until is None:
        return None
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    if until.timestamp() <= 0:
        return None  # 0 = forever
    return max(1, int((until - since).total_seconds()))


def _statuses(update: ChatMemberUpdated) -> tuple[str, str]:
    """The old and new status as Telegram spells them ("member", "kicked", ...)."""
    return (str(update.old_chat_member.status).split(".")[-1].lower(),
            str(update.new_chat_member.status).split(".")[-1].lower())


def classify(update: ChatMemberUpdated) -> tuple[str, int | None] | None:
    """("ban" | "kick" | "restrict" | "unban", duration seconds or None), or None to ignore."""
    old, new = _statuses(update)
    since = update.date if update.date.tzinfo else update.date.replace(tzinfo=UTC)
    if new == "kicked" and old != "kicked":
        return "ban", _seconds(getattr(update.new_chat_member, "until_date", None), since)
    if new == "restricted" and old != "restricted":
        return "restrict", _seconds(getattr(update.new_chat_member, "until_date", None), since)
    if old == "kicked" and new in ("left", "member"):
        return "unban", None
    actor = update.from_user.id if update.from_user else None
    if old in _PRESENT and new == "left" and actor != update.new_chat_member.user.id:
        return "kick", None
    return None


def is_join(update: ChatMemberUpdated) -> bool:
    """The user came into the chat (not back from a ban: that is an unban's doing)."""
    old, new = _statuses(update)
    if new == "restricted":
        # A restricted user may be outside the chat; only is_member says they are in.
        return old == "left" and bool(getattr(update.new_chat_member, "is_member", False))
    return old == "left" and new == "member"


def bot_removal(update: ChatMemberUpdated) -> str | None:
    """For the bot's own my_chat_member update: "left" or "kicked" when it was taken out
    of a group, else None. A private chat's "kicked" is a user blocking the bot, not this."""
    if update.chat.type not in ("group", "supergroup"):
        return None
    old, new = _statuses(update)
    return new if old in _PRESENT and new in ("left", "kicked") else None


def to_report(tenant: str, update: ChatMemberUpdated, update_id: int) -> BanReport | None:
    """The ban event of a chat_member update, or None when it is not a ban/kick/restrict/unban."""
    kind = classify(update)
    if kind is None:
        return None
    user = update.new_chat_member.user
    actor = update.from_user.id if update.from_user else None
    return BanReport(
        event_id=stable_event_id(tenant, update.chat.id, user.id, update_id), user_id=user.id,
        chat_id=update.chat.id, event_type=kind[0], ban_duration=kind[1],
        initiator_user_id=actor if actor != user.id else None,
        at=update.date if update.date.tzinfo else update.date.replace(tzinfo=UTC),
        username=user.username or "", chat_title=update.chat.title or "",
        reason=default_reason(kind[0], update.chat.title or ""))
