"""The circuit breaker: opens on a failure ratio, probes once, backs off, honours holds."""

from __future__ import annotations

import pytest

from hotich_export.domain.breaker import BreakerState, CircuitBreaker, Permit
from tests.export.helpers import MonotonicClock


def breaker(clock: MonotonicClock, **kwargs: float) -> CircuitBreaker:
    options: dict[str, float] = {
        "window": 10,
        "min_calls": 5,
        "failure_ratio": 0.6,
        "open_s": 2.0,
        "max_open_s": 7.0,
    } | kwargs
    return CircuitBreaker(clock=clock, **options)  # type: ignore[arg-type]


def call(b: CircuitBreaker, ok: bool) -> None:
    permit = b.permit()
    assert isinstance(permit, Permit)
    if ok:
        b.succeeded(permit)
    else:
        b.failed(permit)


def test_stays_closed_below_the_failure_ratio() -> None:
    b = breaker(MonotonicClock())
    for ok in [False, True, False, True, True] * 4:  # 40% failures
        call(b, ok)
    assert b.state is BreakerState.CLOSED
    assert b.opened == 0


def test_needs_min_calls_before_opening() -> None:
    b = breaker(MonotonicClock())
    for _ in range(4):
        call(b, False)
    assert b.state is BreakerState.CLOSED
    call(b, False)
    assert b.state is BreakerState.OPEN
    assert b.opened == 1


def test_open_refuses_with_the_time_left_then_lets_one_probe_through() -> None:
    clock = MonotonicClock()
    b = breaker(clock)
    for _ in range(5):
        call(b, False)
    assert b.permit() == pytest.approx(2.0)
    clock.now += 1.5
    assert b.permit() == pytest.approx(0.5)
    clock.now += 0.5
    assert b.state is BreakerState.HALF_OPEN
    probe = b.permit()
    assert isinstance(probe, Permit)
    assert probe.probe
    assert isinstance(b.permit(), float)  # only one probe at a time
    b.succeeded(probe)
    assert b.state is BreakerState.CLOSED
    assert isinstance(b.permit(), Permit)


def test_failed_probe_reopens_for_longer_up_to_the_cap() -> None:
    clock = MonotonicClock()
    b = breaker(clock)
    for _ in range(5):
        call(b, False)
    periods = []
    for _ in range(4):
        wait = b.permit()
        assert isinstance(wait, float)
        periods.append(round(wait, 3))
        clock.now += wait
        probe = b.permit()
        assert isinstance(probe, Permit)
        b.failed(probe)
    assert periods == [2.0, 4.0, 7.0, 7.0]
    clock.now += 7
    probe = b.permit()
    assert isinstance(probe, Permit)
    b.succeeded(probe)
    for _ in range(5):  # closed again, with the first period restored
        call(b, False)
    assert b.permit() == pytest.approx(2.0)


def test_late_reports_from_before_the_breaker_opened_change_nothing() -> None:
    clock = MonotonicClock()
    b = breaker(clock)
    slow = b.permit()
    assert isinstance(slow, Permit)
    for _ in range(5):
        call(b, False)
    clock.now += 2
    probe = b.permit()
    assert isinstance(probe, Permit)
    b.failed(slow)  # a timeout that began while closed ends now
    assert b.state is BreakerState.HALF_OPEN
    b.succeeded(probe)
    assert b.state is BreakerState.CLOSED


def test_released_probe_lets_another_through() -> None:
    clock = MonotonicClock()
    b = breaker(clock)
    for _ in range(5):
        call(b, False)
    clock.now += 2
    probe = b.permit()
    assert isinstance(probe, Permit)
    b.released(probe)
    assert isinstance(b.permit(), Permit)


def test_throttle_holds_every_call_without_opening() -> None:
    clock = MonotonicClock()
    b = breaker(clock)
    permit = b.permit()
    assert isinstance(permit, Permit)
    b.throttled(permit, 1.5)
    assert b.permit() == pytest.approx(1.5)
    clock.now += 1.5
    assert isinstance(b.permit(), Permit)
    assert b.state is BreakerState.CLOSED


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError, match="failure_ratio"):
        CircuitBreaker(failure_ratio=0)
    with pytest.raises(ValueError, match="min_calls"):
        CircuitBreaker(window=3, min_calls=5)
