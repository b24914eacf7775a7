"""Field rules shared by users, chats and subscriptions (collected into a Validator)."""

from __future__ import annotations

import json
import re
import zoneinfo
from functools import lru_cache
from typing import Any

from services.kit.errors import Validator

MAX_TEXT = 255
MAX_JSON_BYTES = 16 * 1024
#: BIGINT's range; protobuf int64 cannot exceed it, JSON callers can try.
MAX_BIGINT = 2**63 - 1

SYNC_BAN_TYPES = ("same", "permanent", "temporary")
ADMIN_ROLES = ("owner", "admin", "moderator")
MAX_SYNC_DELAY_SECONDS = 86400
#: Telegram treats bans shorter than 30 s or longer than 366 days as permanent.
TEMP_BAN_RANGE = (30, 366 * 86400)

_LANGUAGE_RE = re.compile(r"^[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,4})?$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def user_id(v: Validator, name: str, value: int) -> bool:
    """A Telegram user id: positive."""
    return v.require(0 < value <= MAX_BIGINT, name, "must be a positive Telegram user id")


def chat_id(v: Validator, name: str, value: int) -> bool:
    """A Telegram chat id: non-zero (groups are negative)."""
    return v.require(value != 0 and abs(value) <= MAX_BIGINT, name,
                     "must be a non-zero Telegram chat id")


def text(v: Validator, name: str, value: str | None, max_len: int = MAX_TEXT) -> bool:
    """Free text: at most ``max_len`` characters, no control characters."""
    if value is None:
        return True
    return (v.require(len(value) <= max_len, name, f"must be at most {max_len} characters")
            and v.require(not _CONTROL_RE.search(value), name, "must not contain control characters"))


def language(v: Validator, name: str, value: str | None) -> bool:
    """A short IETF language tag such as 'en', 'ru' or 'pt-br'."""
    if value is None:
        return True
    return v.require(bool(_LANGUAGE_RE.match(value)), name,
                     "must be a language code such as 'en' or 'pt-br'")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) | {"UTC"}


def timezone(v: Validator, name: str, value: str | None) -> bool:
    """An IANA time zone name, at most 50 characters."""
    if value is None:
        return True
    return v.require(len(value) <= 50 and value in _zones(), name,
                     "must be an IANA time zone such as 'UTC' or 'Europe/Moscow'")


def json_object(v: Validator, name: str, value: dict[str, Any] | None) -> bool:
    """A JSON object of at most 16 KiB."""
    if value is None:
        return True
    size = len(json.dumps(value, separators=(",", ":")).encode())
    return v.require(size <= MAX_JSON_BYTES, name, f"must be at most {MAX_JSON_BYTES} bytes of JSON")


def one_of(v: Validator, name: str, value: str | None, allowed: tuple[str, ...]) -> bool:
    """One of ``allowed``."""
    if value is None:
        return True
    return v.require(value in allowed, name, "must be one of " + ", ".join(allowed))


def int_range(v: Validator, name: str, value: int | None, low: int, high: int) -> bool:
    """An integer within [low, high]."""
    if value is None:
        return True
    return v.require(low <= value <= high, name, f"must be between {low} and {high}")
