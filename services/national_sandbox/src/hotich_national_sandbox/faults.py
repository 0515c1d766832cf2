"""The sandbox's fault injection: what to do to the next request, decided from the faults.

Kept apart from the routes so each decision can be tested alone; randomness comes from
one :class:`random.Random` (seedable in tests).
"""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from collections.abc import Callable

from hotich_national_sandbox.config import Faults


class TokenBucket:
    """Writes per second with a burst of one second; says how long to wait when empty."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._rate = 0.0
        self._tokens = 0.0
        self._updated = clock()

    def take(self, rate: float) -> float | None:
        """Take a token at ``rate`` per second; None if granted, else seconds until one is."""
        now = self._clock()
        if rate != self._rate:
            self._rate, self._tokens = rate, rate
        else:
            self._tokens = min(rate, self._tokens + (now - self._updated) * rate)
        self._updated = now
        if self._tokens >= 1:
            self._tokens -= 1
            return None
        return (1 - self._tokens) / rate


class FaultState:
    """The faults in force, the rate limiter, and counters of what was injected."""

    def __init__(
        self,
        faults: Faults,
        *,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - fault injection, not security
        self.bucket = TokenBucket(clock)
        self.counters: Counter[str] = Counter()
        self.faults = faults
        self.set(faults)

    def set(self, faults: Faults) -> None:
        """Put ``faults`` in force; a timed outage starts counting now."""
        self.faults = faults
        self._outage_started = self._clock()

    def outage_remaining_s(self) -> float | None:
        """Seconds of outage left (``inf`` if untimed), None when there is no outage."""
        f = self.faults
        if not f.outage:
            return None
        if f.outage_for_s <= 0:
            return math.inf
        left = self._outage_started + f.outage_for_s - self._clock()
        return left if left > 0 else None

    def latency_s(self) -> float:
        """A draw of the added latency, in seconds."""
        f, rng = self.faults, self.rng
        mean = f.latency_ms
        if mean <= 0 and f.latency_jitter_ms <= 0:
            return 0.0
        match f.latency_distribution:
            case "fixed":
                ms = mean
            case "uniform":
                ms = rng.uniform(mean - f.latency_jitter_ms, mean + f.latency_jitter_ms)
            case "normal":
                ms = rng.gauss(mean, f.latency_jitter_ms)
            case "exponential":
                ms = rng.expovariate(1 / mean) if mean > 0 else 0.0
            case "lognormal":
                ms = rng.lognormvariate(math.log(mean), f.latency_sigma) if mean > 0 else 0.0
        return max(0.0, ms) / 1000

    def hit(self, rate: float) -> bool:
        """True with probability ``rate``."""
        return rate > 0 and self.rng.random() < rate

    def injected_status(self) -> int | None:
        """An error status to answer with, or None."""
        f = self.faults
        if self.hit(f.error_rate):
            return self.rng.choice(f.error_statuses or [500])
        return None

    def rate_limited(self) -> float | None:
        """Seconds the client should wait before another write, or None if it may write."""
        rate = self.faults.rate_limit_per_s
        return self.bucket.take(rate) if rate > 0 else None
