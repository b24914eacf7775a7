"""Periods and timeline buckets (pure functions)."""

from __future__ import annotations

from datetime import date

import pytest

from services.analytics.periods import DateRange, bucket_of, buckets, resolve
from services.kit.errors import InvalidArgument

TODAY = date(2026, 3, 18)  # a Wednesday


@pytest.mark.parametrize(("period", "start"), [
    ("day", date(2026, 3, 18)), ("week", date(2026, 3, 12)), ("month", date(2026, 2, 17)),
    ("year", date(2025, 3, 19)), ("", date(2026, 2, 17))])
def test_named_periods_end_today(period, start):
    assert resolve(period, "", "", TODAY) == DateRange(start, TODAY)


def test_custom_range_and_its_errors():
    assert resolve("", "2026-01-01", "2026-01-31", TODAY) == DateRange(date(2026, 1, 1), date(2026, 1, 31))
    assert resolve("", "2026-03-01T10:00:00Z", "", TODAY) == DateRange(date(2026, 3, 1), TODAY)
    for args, field in [(("decade", "", ""), "period"), (("week", "2026-01-01", ""), "period"),
                        (("", "", "2026-01-01"), "from"), (("", "01/02/2026", ""), "from"),
                        (("", "2026-02-01", "2026-01-01"), "to"), (("", "2000-01-01", "2026-01-01"), "to")]:
        with pytest.raises(InvalidArgument) as err:
            resolve(*args, TODAY)
        assert [v.field for v in err.value.violations] == [field]


def test_buckets_cover_the_range_and_clip_the_first():
    rng = DateRange(date(2026, 1, 28), date(2026, 3, 2))
    assert buckets(rng, "month") == [date(2026, 1, 28), date(2026, 2, 1), date(2026, 3, 1)]
    weeks = buckets(rng, "week")
    assert weeks[0] == date(2026, 1, 28) and weeks[1] == date(2026, 2, 2) and weeks[-1] == date(2026, 3, 2)
    assert bucket_of(date(2026, 1, 30), rng, "week") == date(2026, 1, 28)
    assert bucket_of(date(2026, 2, 4), rng, "week") == date(2026, 2, 2)
    assert len(buckets(rng, "day")) == 34
    assert buckets(DateRange(date(2024, 6, 1), date(2026, 1, 1)), "year") == [
        date(2024, 6, 1), date(2025, 1, 1), date(2026, 1, 1)]
    with pytest.raises(InvalidArgument):
        buckets(DateRange(date(2020, 1, 1), date(2026, 1, 1)), "day")  # > 1,000 points
    with pytest.raises(InvalidArgument):
        buckets(rng, "hour")
