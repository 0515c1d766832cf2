"""How long to wait before trying a record again: exponential backoff with jitter (tenacity).

"Equal jitter": half of the exponential delay is fixed, the other half random, so a
crowd of records that failed together (an outage) comes back spread out, yet none
returns almost at once. A ``Retry-After`` from the server is a floor.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random_exponential,
)
from tenacity.wait import wait_base

from hotich_export.domain.breaker import CircuitOpen
from hotich_runtime.errors import RetryableError


class _HonourRetryAfter(wait_base):
    """The backoff, or the exception's ``retry_after`` when that is longer."""

    def __init__(self, backoff: wait_base) -> None:
        self._backoff = backoff

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = self._backoff(retry_state)
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, int | float):
            delay = max(delay, float(retry_after))
        return delay


@dataclass(frozen=True)
class RetryPolicy:
    """Backoff between tries, and how long a record is retried in line before it is parked."""

    initial_s: float = 0.5
    max_s: float = 60.0
    inline_attempts: int = 3
    """Tries while the batch waits; after them the record is parked for a scheduled retry."""
    inline_budget_s: float = 5.0
    """No in-line wait may end later than this after the first try."""

    @cached_property
    def _wait(self) -> wait_base:
        half_initial, half_max = self.initial_s / 2, self.max_s / 2
        return _HonourRetryAfter(
            wait_exponential(multiplier=half_initial, max=half_max)
            + wait_random_exponential(multiplier=half_initial, max=half_max)
        )

    def delay_s(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after the ``attempt``-th failed try (1-based)."""
        state = RetryCallState(retry_object=AsyncRetrying(), fn=None, args=(), kwargs={})
        state.attempt_number = max(1, attempt)
        delay = self._wait(state)
        return max(delay, retry_after or 0.0)

    def inline(self) -> AsyncRetrying:
        """Retries of transient errors while the batch waits, honouring ``Retry-After``.

        An open circuit is not waited for in line: the record is parked at once.
        """
        return AsyncRetrying(
            retry=retry_if_exception_type(RetryableError)
            & retry_if_not_exception_type(CircuitOpen),
            wait=self._wait,
            stop=stop_after_attempt(self.inline_attempts) | stop_before_delay(self.inline_budget_s),
            reraise=True,
        )
