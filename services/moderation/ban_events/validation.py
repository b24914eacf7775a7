"""Validation of incoming ban events and search filters: every violation, by field, at once."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, time, timedelta

from services.kit.errors import FieldViolation, InvalidArgument, Validator

from .model import (
    DURATION_TYPES,
    EVENT_TYPES,
    MAX_BAN_DURATION,
    MAX_CHAT_TITLE,
    MAX_EVENT_ID,
    MAX_FUTURE_SKEW_SECONDS,
    MAX_METADATA_BYTES,
    MAX_REASON,
    MAX_USERNAME,
    MIN_REASON_SEARCH,
    BanEventInput,
)

EVENT_ID_RE = re.compile(r"^[A-Za-z0-9._:\-]+$")
#: Telegram did not exist before this; an earlier timestamp is a client bug.
EARLIEST = datetime(2013, 1, 1, tzinfo=UTC)
_TYPES = ", ".join(EVENT_TYPES)


def violations_of(item: BanEventInput, now: datetime) -> list[FieldViolation]:
    """Every problem with ``item`` (field names relative to the item); [] when valid.

    Normalises in place what is safe to normalise: strips the reason and
    makes a naive event_timestamp UTC.
    """
    v = Validator()
    check_event_id(item.event_id, v)
    v.require(item.user_id > 0, "user_id", "must be a positive Telegram user id")
    v.require(item.chat_id != 0, "chat_id", "must be a non-zero Telegram chat id")
    type_ok = v.require(item.event_type in EVENT_TYPES, "event_type", f"must be one of: {_TYPES}")
    if item.ban_duration is not None:
        if type_ok and item.event_type not in DURATION_TYPES:
            v.require(False, "ban_duration", f"is only allowed for ban and restrict, not {item.event_type}")
        else:
            v.require(0 < item.ban_duration <= MAX_BAN_DURATION, "ban_duration",
                      f"must be between 1 and {MAX_BAN_DURATION} seconds (366 days); omit it for a permanent ban")
    item.reason = (item.reason or "").strip()
    if v.require(bool(item.reason), "reason", "is required"):
        v.require(len(item.reason) <= MAX_REASON, "reason", f"must be at most {MAX_REASON} characters")
    if item.initiator_user_id is not None:
        v.require(item.initiator_user_id > 0, "initiator_user_id", "must be a positive Telegram user id")
    if item.event_timestamp is not None:
        ts = item.event_timestamp
        if ts.tzinfo is None:
            ts = item.event_timestamp = ts.replace(tzinfo=UTC)
        v.require(EARLIEST <= ts <= now + timedelta(seconds=MAX_FUTURE_SKEW_SECONDS), "event_timestamp",
                  "must be after 2013-01-01 and not in the future")
    v.require(len(item.username) <= MAX_USERNAME, "username", f"must be at most {MAX_USERNAME} characters")
    v.require(len(item.chat_title) <= MAX_CHAT_TITLE, "chat_title", f"must be at most {MAX_CHAT_TITLE} characters")
    if item.metadata:
        v.require(len(json.dumps(item.metadata)) <= MAX_METADATA_BYTES, "metadata",
                  f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return v.violations


def check_event_id(event_id: str, v: Validator) -> bool:
    """Record a violation of ``event_id`` unless it is 1-255 characters of the allowed set; True when valid.

    The one definition of a well-formed event_id, for registering and for reading: a
    malformed id can never have been stored, so reading one is bad input, not a miss.
    """
    if not v.require(bool(event_id), "event_id", "is required"):
        return False
    if not v.require(len(event_id) <= MAX_EVENT_ID, "event_id", f"must be at most {MAX_EVENT_ID} characters"):
        return False
    return v.require(bool(EVENT_ID_RE.match(event_id)), "event_id",
                     "may contain only letters, digits, '.', '_', ':' and '-'")


def validate(item: BanEventInput, now: datetime) -> None:
    """Raise INVALID_ARGUMENT listing every violation of ``item``."""
    found = violations_of(item, now)
    if found:
        summary = "; ".join(f"{f.field}: {f.description}" for f in found)
        raise InvalidArgument(summary, violations=found)


def parse_instant(value: str, name: str, *, end_of_day: bool, v: Validator) -> datetime | None:
    """An RFC 3339 instant, or a date (its start, or with ``end_of_day`` the next day's start), UTC.

    Records a violation of ``name`` and returns None when ``value`` is neither.
    """
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime.combine(day + timedelta(days=1 if end_of_day else 0), time(), UTC)
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except ValueError:
        v.require(False, name, "must be an RFC 3339 timestamp or a date YYYY-MM-DD")
        return None


def check_reason_query(reason: str, v: Validator) -> str:
    """The reason filter, stripped; at least a few characters so the trigram index can serve it."""
    reason = reason.strip()
    if reason:
        v.require(MIN_REASON_SEARCH <= len(reason) <= MAX_REASON, "reason",
                  f"must be {MIN_REASON_SEARCH} to {MAX_REASON} characters")
    return reason
