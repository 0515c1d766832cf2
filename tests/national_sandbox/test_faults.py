"""Fault decisions of the sandbox, alone: latency distributions and the token bucket."""

from __future__ import annotations

import random
import statistics

import pytest

from hotich_national_sandbox.config import Faults
from hotich_national_sandbox.faults import FaultState, TokenBucket


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def draws(faults: Faults, n: int = 4000) -> list[float]:
    state = FaultState(faults, rng=random.Random(3))
    return [state.latency_s() * 1000 for _ in range(n)]


def test_no_latency_by_default() -> None:
    assert set(draws(Faults(), 10)) == {0.0}


def test_fixed_and_uniform_latency() -> None:
    assert set(draws(Faults(latency_ms=50, latency_distribution="fixed"), 10)) == {50.0}
    uniform = draws(Faults(latency_ms=50, latency_jitter_ms=20))
    assert min(uniform) >= 30
    assert max(uniform) <= 70
    assert statistics.mean(uniform) == pytest.approx(50, abs=1.5)


@pytest.mark.parametrize(
    ("distribution", "check"),
    [
        ("normal", lambda xs: statistics.stdev(xs) == pytest.approx(10, rel=0.1)),
        ("exponential", lambda xs: statistics.mean(xs) == pytest.approx(50, rel=0.08)),
        ("lognormal", lambda xs: statistics.median(xs) == pytest.approx(50, rel=0.08)),
    ],
)
def test_latency_distributions(distribution: str, check: object) -> None:
    xs = draws(Faults(latency_ms=50, latency_jitter_ms=10, latency_distribution=distribution))  # type: ignore[arg-type]
    assert min(xs) >= 0
    assert check(xs)  # type: ignore[operator]


def test_token_bucket_grants_a_burst_then_says_how_long_to_wait() -> None:
    clock = Clock()
    bucket = TokenBucket(clock)
    assert [bucket.take(4) for _ in range(4)] == [None] * 4
    assert bucket.take(4) == pytest.approx(0.25)
    clock.now += 0.25
    assert bucket.take(4) is None
    clock.now += 10
    assert [bucket.take(4) for _ in range(5)][-1] == pytest.approx(0.25)  # burst capped


def test_timed_outage_ends() -> None:
    clock = Clock()
    state = FaultState(Faults(outage=True, outage_for_s=2), clock=clock)
    assert state.outage_remaining_s() == pytest.approx(2)
    clock.now += 2.5
    assert state.outage_remaining_s() is None
    state.set(Faults(outage=True))
    clock.now += 1000
    assert state.outage_remaining_s() == float("inf")
