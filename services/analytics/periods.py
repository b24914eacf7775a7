"""Periods and buckets of analytics queries: "day" | "week" | "month" | "year" or a custom from/to."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from services.kit.errors import InvalidArgument, Validator

#: period → how many days back from today (inclusive of today).
PERIOD_DAYS = {"day": 1, "week": 7, "month": 30, "year": 365}
DEFAULT_PERIOD = "month"
MAX_RANGE_DAYS = 3660
GRANULARITIES = ("day", "week", "month", "year")
MAX_BUCKETS = 1000


@dataclass(frozen=True)
class DateRange:
    """Inclusive range of UTC days."""

    start: date
    end: date


def _parse_day(value: str, name: str, v: Validator) -> date | None:
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value).date()
    except ValueError:
        v.require(False, name, "must be a date YYYY-MM-DD")
        return None


def resolve(period: str, since: str, until: str, today: date) -> DateRange:
    """The days a query covers; INVALID_ARGUMENT for an unknown period or a bad custom range."""
    v = Validator()
    if period:
        v.require(period in PERIOD_DAYS, "period", f"must be one of: {', '.join(PERIOD_DAYS)}")
        v.require(not (since or until), "period", "give either period or from/to, not both")
        v.raise_if_any()
        return DateRange(today - timedelta(days=PERIOD_DAYS[period] - 1), today)
    if not since and not until:
        return resolve(DEFAULT_PERIOD, "", "", today)
    v.require(bool(since), "from", "is required for a custom range")
    start = _parse_day(since, "from", v) if since else None
    end = _parse_day(until, "to", v) if until else today
    if start and end:
        if v.require(start <= end, "to", "must not be before from"):
            v.require((end - start).days < MAX_RANGE_DAYS, "to", f"the range may span at most {MAX_RANGE_DAYS} days")
    v.raise_if_any()
    assert start is not None and end is not None
    return DateRange(start, end)


def bucket_start(day: date, granularity: str) -> date:
    """The first day of the bucket holding ``day`` (weeks start on Monday)."""
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "year":
        return day.replace(month=1, day=1)
    return day


def _next_bucket(start: date, granularity: str) -> date:
    if granularity == "week":
        return start + timedelta(days=7)
    if granularity == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    if granularity == "year":
        return start.replace(year=start.year + 1)
    return start + timedelta(days=1)


def buckets(rng: DateRange, granularity: str) -> list[date]:
    """Bucket starts covering ``rng``; the first is clipped to ``rng.start``."""
    if granularity not in GRANULARITIES:
        raise InvalidArgument.field("granularity", f"must be one of: {', '.join(GRANULARITIES)}")
    out: list[date] = []
    cur = rng.start
    while cur <= rng.end:
        out.append(cur)
        if len(out) > MAX_BUCKETS:
            raise InvalidArgument.field("granularity", f"gives more than {MAX_BUCKETS} points; use a coarser one")
        cur = _next_bucket(bucket_start(cur, granularity), granularity)
    return out


def bucket_of(day: date, rng: DateRange, granularity: str) -> date:
    """The (clipped) bucket start ``day`` falls into."""
    return max(bucket_start(day, granularity), rng.start)
