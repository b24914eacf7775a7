"""until_date math: Telegram reads < 30 s or > 366 days from now as forever."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.telegram_api.until_date import (
    MAX_TEMPORARY_SECONDS,
    MIN_TEMPORARY_SECONDS,
    is_permanent,
    until_date_for,
)

NOW = 1_800_000_000.0


def test_none_and_zero_mean_permanent():
    assert until_date_for(None, now=NOW) == 0
    assert until_date_for(0, now=NOW) == 0
    assert is_permanent(0, now=NOW)


def test_a_normal_duration_is_now_plus_duration():
    assert until_date_for(3600, now=NOW) == int(NOW) + 3600
    assert not is_permanent(int(NOW) + 3600, now=NOW)


def test_a_too_short_ban_is_lengthened_not_made_permanent():
    value = until_date_for(10, now=NOW)
    assert value - NOW > MIN_TEMPORARY_SECONDS
    assert not is_permanent(value, now=NOW)
    assert is_permanent(int(NOW) + 10, now=NOW)  # what the naive computation would send


def test_beyond_366_days_is_permanent_explicitly():
    assert until_date_for(MAX_TEMPORARY_SECONDS + 1, now=NOW) == 0
    assert until_date_for(MAX_TEMPORARY_SECONDS, now=NOW) == int(NOW) + MAX_TEMPORARY_SECONDS


def test_negative_duration_is_refused():
    with pytest.raises(ValueError):
        until_date_for(-5, now=NOW)


@given(st.integers(min_value=1, max_value=MAX_TEMPORARY_SECONDS))
def test_every_temporary_duration_stays_temporary(duration):
    value = until_date_for(duration, now=NOW)
    assert not is_permanent(value, now=NOW)
    assert value >= NOW + duration
