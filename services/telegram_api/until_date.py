"""``until_date`` for banChatMember / restrictChatMember, computed from a duration.

Telegram takes ``until_date`` as an absolute unix time and treats a value less
than 30 seconds or more than 366 days from now as *forever*; 0 (or leaving it
out) also means forever. A naive ``now + duration`` therefore turns a 10-second
"temporary" ban into a permanent one, and a 400-day ban silently into forever.
This module makes the rules explicit:

* ``None`` or ``0`` duration → ``0``: permanent;
* a positive duration shorter than :data:`MIN_TEMPORARY_SECONDS` is raised to it
  (plus a safety margin for clock skew and request latency), so a temporary ban
  stays temporary;
* a duration longer than :data:`MAX_TEMPORARY_SECONDS` is what Telegram would
  treat as forever anyway, so we say so: ``0``.
"""

from __future__ import annotations

import time

#: Below this many seconds from now Telegram treats until_date as forever.
MIN_TEMPORARY_SECONDS = 30
#: Above this many seconds from now (366 days) Telegram treats until_date as forever.
MAX_TEMPORARY_SECONDS = 366 * 24 * 3600
#: Added to short durations: the request reaches Telegram a little after we compute.
SKEW_MARGIN_SECONDS = 5

PERMANENT = 0


def until_date_for(duration_seconds: int | None, *, now: float | None = None) -> int:
    """The ``until_date`` that makes a ban/restriction last ``duration_seconds``.

    Returns 0 (permanent) for ``None``/0 and for durations Telegram would treat as
    forever; raises ValueError for a negative duration.
    """
    if duration_seconds is None or duration_seconds == 0:
        return PERMANENT
    if duration_seconds < 0:
        raise ValueError("duration_seconds must not be negative")
    if duration_seconds > MAX_TEMPORARY_SECONDS:
        return PERMANENT
    if duration_seconds < MIN_TEMPORARY_SECONDS + SKEW_MARGIN_SECONDS:
        duration_seconds = MIN_TEMPORARY_SECONDS + SKEW_MARGIN_SECONDS
    base = time.time() if now is None else now
    return int(base) + int(duration_seconds)


def is_permanent(until_date: int, *, now: float | None = None) -> bool:
    """How Telegram reads ``until_date``: True when it means forever."""
    if until_date <= 0:
        return True
    base = time.time() if now is None else now
    delta = until_date - base
    return delta < MIN_TEMPORARY_SECONDS or delta > MAX_TEMPORARY_SECONDS
