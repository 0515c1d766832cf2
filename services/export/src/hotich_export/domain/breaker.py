"""A circuit breaker for the national database, and its hold on ``Retry-After``.

States (per export instance)::

    closed ──(failure ratio over the last `window` calls >= threshold,
              with at least `min_calls` of them)──▶ open
    open ──(after `open_s`, doubled on each re-open up to `max_open_s`)──▶ half-open
    half-open ──(one probe call: success)──▶ closed
    half-open ──(probe fails)──▶ open (for longer)

Only signs that the national database is unwell count as failures: 5xx, timeouts,
refused connections. A refusal of a record (4xx) shows it is up and counts as a
success; a ``429`` neither, but holds every call until its ``Retry-After`` has passed.

Pure and clock-injected: no I/O and no sleeping here; callers ask :meth:`permit` and
wait, or park the record, for the seconds it returns.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from hotich_runtime.errors import RetryableError


class BreakerState(StrEnum):
    """Where the breaker stands."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitOpen(RetryableError):
    """The breaker refused the call: the national database is considered down for now."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"circuit open for {retry_after:.2f}s more")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Permit:
    """Leave to make one call; its end is reported with it.

    Late reports of calls made in an earlier state (a timeout that ends after the
    breaker opened) change nothing.
    """

    generation: int
    probe: bool


class CircuitBreaker:
    """Stops calls to a dependency that keeps failing; lets one probe through to test it."""

    def __init__(
        self,
        *,
        window: int = 40,
        min_calls: int = 20,
        failure_ratio: float = 0.6,
        open_s: float = 2.0,
        max_open_s: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < failure_ratio <= 1 or min_calls < 1 or window < min_calls:
            raise ValueError("need 0 < failure_ratio <= 1 and 1 <= min_calls <= window")
        self._window: deque[bool] = deque(maxlen=window)
        self._min_calls = min_calls
        self._ratio = failure_ratio
        self._base_open_s = open_s
        self._max_open_s = max_open_s
        self._clock = clock
        self._state = BreakerState.CLOSED
        self._open_s = open_s
        self._open_until = 0.0
        self._hold_until = 0.0
        self._probing = False
        self._generation = 0
        self.opened = 0
        """How many times the breaker opened (for metrics and tests)."""

    @property
    def state(self) -> BreakerState:
        """The state now (an open breaker whose time is up reads half-open)."""
        if self._state is BreakerState.OPEN and self._clock() >= self._open_until:
            self._state = BreakerState.HALF_OPEN
            self._probing = False
            self._generation += 1
        return self._state

    def hold_s(self) -> float:
        """Seconds left of a ``Retry-After`` hold (0 when none)."""
        return max(0.0, self._hold_until - self._clock())

    def wait_s(self) -> float:
        """Seconds until a call could be permitted (0 when one could be now)."""
        now = self._clock()
        state = self.state
        wait = max(0.0, self._hold_until - now)
        if state is BreakerState.OPEN:
            wait = max(wait, self._open_until - now)
        elif state is BreakerState.HALF_OPEN and self._probing:
            wait = max(wait, self._open_s)
        return wait

    def permit(self) -> Permit | float:
        """Ask to make a call: a :class:`Permit` if it may go now, else seconds to wait.

        In half-open state only one call (the probe) is permitted until it reports. Every
        permit must be reported once: :meth:`succeeded`, :meth:`failed`,
        :meth:`throttled` or :meth:`released`.
        """
        wait = self.wait_s()
        if wait > 0:
            return wait
        probe = self.state is BreakerState.HALF_OPEN
        if probe:
            self._probing = True
        return Permit(self._generation, probe)

    def succeeded(self, permit: Permit) -> None:
        """The call got an answer that shows the dependency is up."""
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN:
            self._close()
        elif self._state is BreakerState.CLOSED:
            self._window.append(False)

    def failed(self, permit: Permit) -> None:
        """The call failed in a way that says the dependency is unwell."""
        if permit.generation != self._generation:
            return
        if self._state is BreakerState.HALF_OPEN:
            self._open(self._open_s * 2)
            return
        if self._state is not BreakerState.CLOSED:
            return
        self._window.append(True)
        calls = len(self._window)
        if calls >= self._min_calls and sum(self._window) / calls >= self._ratio:
            self._open(self._base_open_s)

    def throttled(self, permit: Permit, retry_after_s: float) -> None:
        """The dependency asked us to slow down: hold every call for ``retry_after_s``."""
        self._hold_until = max(self._hold_until, self._clock() + max(0.0, retry_after_s))
        self.released(permit)

    def released(self, permit: Permit) -> None:
        """The permitted call ended without telling anything (cancelled, throttled)."""
        if permit.probe and permit.generation == self._generation:
            self._probing = False

    def _open(self, seconds: float) -> None:
        self._open_s = min(max(seconds, self._base_open_s), self._max_open_s)
        self._open_until = self._clock() + self._open_s
        self._state = BreakerState.OPEN
        self._probing = False
        self._window.clear()
        self._generation += 1
        self.opened += 1

    def _close(self) -> None:
        self._generation += 1
        self._state = BreakerState.CLOSED
        self._open_s = self._base_open_s
        self._probing = False
        self._window.clear()
