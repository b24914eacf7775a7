"""A user's notification preferences and the time rules they imply (quiet hours, digest).

Pure functions of a preferences record and an instant, so the rules are tested
with any clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.kit.errors import Validator

from .templates import LANGUAGES, NOTIFICATION_TYPES

CHANNELS = ("telegram", "email", "webhook")
PRIORITIES = ("normal", "urgent")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
_EMAIL = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


@dataclass
class Preferences:
    """What the user wants; defaults when the user never set any."""

    user_id: int
    enabled_types: list[str] = field(default_factory=list)
    quiet_hours_start: time | None = None
    quiet_hours_end: time | None = None
    digest_mode: bool = False
    digest_interval_hours: int = 24
    timezone: str = "UTC"
    language: str = "ru"
    channels: list[str] = field(default_factory=lambda: ["telegram"])
    email: str | None = None
    webhook_url: str | None = None
    webhook_secret: str | None = None
    #: The moderation user's "notifications on/off" (``user.settings_updated``); off
    #: silences every notification of moderation origin, urgent ones included.
    notifications_enabled: bool = True

    def wants(self, notification_type: str) -> bool:
        """True if the user receives this type (an empty list means every type)."""
        return not self.enabled_types or notification_type in self.enabled_types

    def zone(self) -> ZoneInfo:
        """The user's timezone (validated on write)."""
        return ZoneInfo(self.timezone)


def in_quiet_hours(prefs: Preferences, now: datetime) -> bool:
    """True if ``now`` falls inside the user's quiet hours (in the user's timezone)."""
    start, end = prefs.quiet_hours_start, prefs.quiet_hours_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(prefs.zone()).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end  # spans midnight, e.g. 23:00-07:00


def quiet_hours_end(prefs: Preferences, now: datetime) -> datetime:
    """The next instant (UTC) when the user's quiet hours end, after ``now``."""
    assert prefs.quiet_hours_end is not None
    zone = prefs.zone()
    local_now = now.astimezone(zone)
    candidate = datetime.combine(local_now.date(), prefs.quiet_hours_end, tzinfo=zone)
    if candidate <= local_now:
        candidate = datetime.combine(local_now.date() + timedelta(days=1), prefs.quiet_hours_end,
                                     tzinfo=zone)
    return candidate.astimezone(UTC)


def parse_hhmm(value: str) -> time | None:
    """"HH:MM" → time; "" → None. Assumes the value was validated."""
    if not value:
        return None
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


def format_hhmm(value: time | None) -> str:
    """time → "HH:MM"; None → ""."""
    return value.strftime("%H:%M") if value else ""


def validate_preferences(v: Validator, *, enabled_types: list[str], quiet_start: str,
                         quiet_end: str, digest_interval_hours: int, timezone: str, language: str,
                         channels: list[str], email: str, webhook_url: str,
                         webhook_secret: str | None, has_secret: bool) -> None:
    """Record every problem of a preferences update in ``v``."""
    for i, kind in enumerate(enabled_types):
        v.require(kind in NOTIFICATION_TYPES, f"enabled_types[{i}]",
                  f"unknown type; one of {', '.join(NOTIFICATION_TYPES)}")
    for name, value in (("quiet_hours_start", quiet_start), ("quiet_hours_end", quiet_end)):
        v.require(not value or bool(_HHMM.match(value)), name, 'must be "HH:MM" or empty')
    v.require(bool(quiet_start) == bool(quiet_end), "quiet_hours_end",
              "quiet hours need both a start and an end")
    v.require(1 <= digest_interval_hours <= 168, "digest_interval_hours", "must be 1 to 168")
    try:
        ZoneInfo(timezone)
        zone_ok = bool(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone_ok = False
    v.require(zone_ok, "timezone", 'must be an IANA timezone such as "Europe/Moscow"')
    v.require(language in LANGUAGES, "language", f"one of {', '.join(LANGUAGES)}")
    v.require(bool(channels), "channels", "at least one channel")
    for i, channel in enumerate(channels):
        v.require(channel in CHANNELS, f"channels[{i}]", f"one of {', '.join(CHANNELS)}")
    if email or "email" in channels:
        v.require(bool(_EMAIL.match(email)) and len(email) <= 320, "email",
                  "a valid email address is required for the email channel")
    if webhook_url or "webhook" in channels:
        v.require(webhook_url.startswith(("http://", "https://")) and len(webhook_url) <= 2000,
                  "webhook_url", "an http(s) URL is required for the webhook channel")
        v.require(has_secret or webhook_secret is not None, "webhook_secret",
                  "a signing secret is required for the webhook channel")
    if webhook_secret is not None:
        v.require(16 <= len(webhook_secret) <= 256, "webhook_secret", "16 to 256 characters")
