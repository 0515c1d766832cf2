"""Backoff with jitter (tenacity), Retry-After as a floor, and the in-line retry budget."""

from __future__ import annotations

import time

import pytest

from hotich_export.domain.breaker import CircuitOpen
from hotich_export.domain.retry import RetryPolicy
from hotich_export.service_layer.ports import NationalRejected, NationalUnavailable


def test_delay_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    policy = RetryPolicy(initial_s=1.0, max_s=16.0)
    for attempt, (low, high) in {1: (0.5, 1.0), 2: (1.0, 2.0), 4: (4.0, 8.0), 9: (8, 16)}.items():
        delays = {policy.delay_s(attempt) for _ in range(50)}
        assert all(low <= x <= high for x in delays), (attempt, delays)
        assert len(delays) > 1  # jittered


def test_retry_after_is_a_floor() -> None:
    assert RetryPolicy(initial_s=0.1).delay_s(1, retry_after=3.0) == 3.0


async def test_inline_retries_transient_errors_and_honours_retry_after() -> None:
    policy = RetryPolicy(initial_s=0.01, max_s=0.02, inline_attempts=3, inline_budget_s=5)
    calls = []
    started = time.monotonic()
    async for attempt in policy.inline():
        with attempt:
            calls.append(time.monotonic())
            if len(calls) < 3:
                raise NationalUnavailable("429", retry_after=0.1)
    assert len(calls) == 3
    assert calls[1] - calls[0] >= 0.1
    assert time.monotonic() - started < 1


async def attempts_until_given_up(policy: RetryPolicy, error: Exception) -> int:
    """Run the in-line retries on a call that always raises ``error``; count the calls."""
    calls = 0

    async def run() -> None:
        nonlocal calls
        async for attempt in policy.inline():
            with attempt:
                calls += 1
                raise error

    with pytest.raises(type(error)):
        await run()
    return calls


async def test_inline_gives_up_after_the_attempts() -> None:
    policy = RetryPolicy(initial_s=0.001, max_s=0.002, inline_attempts=2)
    assert await attempts_until_given_up(policy, NationalUnavailable("503")) == 2


async def test_inline_does_not_wait_past_its_budget() -> None:
    policy = RetryPolicy(initial_s=0.001, inline_attempts=5, inline_budget_s=0.5)
    started = time.monotonic()
    error = NationalUnavailable("429", retry_after=2.0)
    assert await attempts_until_given_up(policy, error) == 1
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize("error", [CircuitOpen(1.0), NationalRejected("invalid")])
async def test_inline_does_not_retry_an_open_circuit_or_a_rejection(error: Exception) -> None:
    assert await attempts_until_given_up(RetryPolicy(), error) == 1
