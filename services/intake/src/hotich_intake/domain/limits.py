"""Per-account rate limiting (token bucket, no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """Allows ``rate`` requests per second on average, ``burst`` at once, per key.

    Each instance of intake keeps its own buckets: with N instances behind a load
    balancer an account gets up to N times the rate, which is the intent (a guard
    against runaway clients, not a quota).
    """

    rate: float
    burst: float
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def take(self, key: str, now: float) -> float | None:
        """Take one token; return None if allowed, else the seconds to wait."""
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate
