"""Reading in step by message time: which partitions the pipelined consumer pauses.

The policy (:func:`hotich_runtime.pipelined.ahead`) on its own; reading in step on the
real broker is in ``tests/runtime/integration/test_pipelined.py``.
"""

from __future__ import annotations

import pytest
from aiokafka.structs import TopicPartition

from hotich_runtime import pipelined
from hotich_runtime.pipelined import _Read, ahead, read_time

A, B, C = (TopicPartition(t, 0) for t in ("a", "b", "c"))
SLACK = 100
NOW = 1_000.0  # monotonic seconds
CLOCK = 1_700_000_000_000  # wall clock, ms


def waiting(
    highwater: dict[TopicPartition, int | None],
    read: dict[TopicPartition, _Read],
    *,
    reset_ago_s: float = 0.0,
) -> set[TopicPartition]:
    return ahead(
        highwater, read, reset_at=NOW - reset_ago_s, now=NOW, clock_ms=CLOCK, slack_ms=SLACK
    )


def at(next_offset: int, stamp: int, *, ago_s: float = 0.0) -> _Read:
    return _Read(next_offset, stamp, NOW - ago_s)


def test_partitions_ahead_of_the_oldest_one_behind_wait() -> None:
    high = {A: 100, B: 100, C: 100}
    read = {A: at(10, 1_000), B: at(10, 1_050), C: at(10, 5_000)}
    assert waiting(high, read) == {C}  # B is within the slack of A
    read[A] = at(50, 6_000)  # A read past C: B is the oldest now
    assert waiting(high, read) == {A, C}
    read[B] = at(100, 7_000)  # B caught up: C is the oldest behind
    assert waiting(high, read) == {A}
    read[C] = at(60, 5_950)
    assert waiting(high, read) == set()


def test_a_partition_not_read_yet_goes_first() -> None:
    high: dict[TopicPartition, int | None] = {A: 100, B: None, C: 100}  # B: nothing fetched
    read = {A: at(10, 1_000), C: at(10, 5_000)}
    assert waiting(high, read) == {A, C}
    high[B] = 100
    read[B] = at(10, 900)
    assert waiting(high, read) == {C}  # A within the slack of B, C still ahead


def test_a_partition_that_returns_nothing_holds_nobody_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pipelined, "ALIGN_IDLE_S", 5.0)
    high = {A: 100, B: 100}
    assert waiting(high, {A: at(10, 1_000, ago_s=6.0), B: at(10, 5_000)}) == set()
    # Not read since a rewind 6 s ago: no longer first either.
    assert waiting(high, {B: at(10, 5_000)}, reset_ago_s=6.0) == set()
    assert waiting(high, {B: at(10, 5_000)}, reset_ago_s=1.0) == {B}


def test_a_caught_up_partition_is_not_taken_for_an_old_one() -> None:
    read = {A: at(10, CLOCK - 3_600_000), B: at(10, CLOCK - 600_000)}
    assert waiting({A: 10, B: 100}, read) == set()  # A caught up: its time follows the clock
    assert read[A].time == CLOCK - SLACK
    # A new message on A: it is newer than B's backlog, so A waits for B.
    assert waiting({A: 11, B: 100}, read) == {A}


# -- a partition's time when read by event (``read_time``) -----------------------------

HOUR = 3_600_000
T = 1_700_000_000_000  # a message timestamp, ms


def test_by_timestamp_the_last_message_gives_the_time() -> None:
    got = read_time(T + 10, (T, T - 5000), by_event=False, window_ms=HOUR, previous=7)
    assert got == T + 10


def test_by_event_the_last_event_time_given_gives_the_time() -> None:
    # An undecodable message, or an event without an entry time, last in the fetch does
    # not put the partition at its publish time: the last event time given does.
    assert read_time(
        T + 20, (T + 10, T - 59_000), by_event=True, window_ms=HOUR, previous=None
    ) == (T - 59_000)


def test_by_event_a_fetch_without_any_event_time_keeps_the_time_the_partition_had() -> None:
    assert read_time(T + 10, None, by_event=True, window_ms=HOUR, previous=T - 42) == T - 42
    # First read of the partition: nothing better than the timestamp.
    assert read_time(T + 10, None, by_event=True, window_ms=HOUR, previous=None) == T + 10


def test_an_event_entered_long_ago_counts_at_most_the_window_before_its_publication() -> None:
    # A re-validation sweep republishes records entered years ago: they hold the other
    # partitions back by at most the window, not until the whole sweep is read.
    years_ago = T - 3 * 365 * 24 * HOUR
    assert read_time(T, (T, years_ago), by_event=True, window_ms=HOUR, previous=None) == T - HOUR
