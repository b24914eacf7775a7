"""A circuit breaker around the Bot API: stop hammering Telegram while it is failing.

closed → (``failure_threshold`` consecutive failures) → open → (``reset_timeout``
elapses) → half-open: one probe call is let through; success closes the
circuit, failure opens it again for another ``reset_timeout``.
Only transient failures count (timeouts, 5xx, connection errors): a 400 or 403
is Telegram answering correctly, and a 429 is handled by waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Consecutive-failure breaker; ``clock`` is injectable for tests."""

    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 30.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        #: Every state change, in order (observability and tests).
        self.transitions: list[str] = []

    @property
    def state(self) -> str:
        """The current state, moving open → half-open once the cool-down is over."""
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            self._set(HALF_OPEN)
        return self._state

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a probe through (0 when not open)."""
        if self.state != OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """May a call go out now? In half-open only one probe at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == HALF_OPEN and not self._probe_in_flight:
            self._probe_in_flight = True
            return True
        return False

    def record_success(self) -> None:
        """A call succeeded (or Telegram answered at all): close the circuit."""
        self._failures = 0
        self._probe_in_flight = False
        if self._state != CLOSED:
            self._set(CLOSED)

    def record_failure(self) -> None:
        """A transient failure: count it; open at the threshold or on a failed probe."""
        self._probe_in_flight = False
        self._failures += 1
        if self._state == HALF_OPEN or (
                self._state == CLOSED and self._failures >= self.failure_threshold):
            self._opened_at = self._clock()
            self._set(OPEN)

    def release_probe(self) -> None:
        """The probe ended without a verdict (e.g. cancelled): let another one try."""
        self._probe_in_flight = False

    def _set(self, state: str) -> None:
        self._state = state
        self.transitions.append(state)
