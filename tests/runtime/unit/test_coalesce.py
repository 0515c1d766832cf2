"""Group commit: concurrent calls share flushes, each gets its own result or error."""

from __future__ import annotations

import asyncio

import pytest

from hotich_runtime.coalesce import Coalescer


class Recorder:
    """A flush that records its batches and can be told to fail or to hold."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.fail_next = False
        self.gate = asyncio.Event()
        self.gate.set()

    async def __call__(self, items: list[int]) -> list[int]:
        self.batches.append(list(items))
        await self.gate.wait()
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("store down")
        return [i * 10 for i in items]


async def test_a_lone_call_is_flushed_at_once() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush)
    assert await asyncio.wait_for(coalescer.submit(4), 1) == 40
    assert flush.batches == [[4]]


async def test_calls_arriving_during_a_flush_go_together_in_the_next() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush)
    flush.gate.clear()
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0.01)  # the first flush is now in progress, held
    rest = [asyncio.create_task(coalescer.submit(n)) for n in range(2, 30)]
    await asyncio.sleep(0.01)
    flush.gate.set()
    results = await asyncio.gather(first, *rest)
    assert results == [n * 10 for n in range(1, 30)]
    assert flush.batches == [[1], list(range(2, 30))]


async def test_batches_never_exceed_the_limit() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, max_items=7)
    results = await asyncio.gather(*(coalescer.submit(n) for n in range(20)))
    assert results == [n * 10 for n in range(20)]
    assert [len(b) for b in flush.batches] == [7, 7, 6]


async def test_a_failed_flush_fails_its_batch_only() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush)
    flush.gate.clear()
    flush.fail_next = True
    doomed = [asyncio.create_task(coalescer.submit(n)) for n in range(3)]
    await asyncio.sleep(0.01)
    later = [asyncio.create_task(coalescer.submit(n)) for n in range(3, 6)]
    flush.gate.set()
    outcomes = await asyncio.gather(*doomed, *later, return_exceptions=True)
    assert [type(o) for o in outcomes[:3]] == [ConnectionError] * 3
    assert outcomes[3:] == [30, 40, 50]


async def test_a_caller_that_goes_away_does_not_cancel_the_others() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush)
    flush.gate.clear()
    leaving = asyncio.create_task(coalescer.submit(1))
    staying = asyncio.create_task(coalescer.submit(2))
    await asyncio.sleep(0.01)
    leaving.cancel()
    flush.gate.set()
    assert await staying == 20
    with pytest.raises(asyncio.CancelledError):
        await leaving
    assert flush.batches == [[1, 2]]


async def test_a_flush_returning_the_wrong_number_of_results_fails_loudly() -> None:
    async def short(items: list[int]) -> list[int]:
        return items[:-1]

    coalescer = Coalescer(short)
    with pytest.raises(RuntimeError, match="2 results for 3"):
        await asyncio.gather(*(coalescer.submit(n) for n in range(3)))


async def test_aclose_waits_for_what_was_submitted() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush)
    flush.gate.clear()
    task = asyncio.create_task(coalescer.submit(5))
    await asyncio.sleep(0.01)
    closing = asyncio.create_task(coalescer.aclose())
    await asyncio.sleep(0.01)
    assert not closing.done()
    flush.gate.set()
    await closing
    assert task.done()
    assert task.result() == 50


async def test_with_concurrency_two_a_second_flush_starts_while_the_first_waits() -> None:
    flush = Recorder()
    coalescer = Coalescer(flush, concurrency=2)
    flush.gate.clear()
    first = asyncio.create_task(coalescer.submit(1))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(coalescer.submit(2))
    await asyncio.sleep(0.01)
    third = [asyncio.create_task(coalescer.submit(n)) for n in (3, 4)]
    await asyncio.sleep(0.01)
    assert flush.batches == [[1], [2]]  # two in flight; 3 and 4 wait for a free slot
    flush.gate.set()
    assert await asyncio.gather(first, second, *third) == [10, 20, 30, 40]
    assert flush.batches == [[1], [2], [3, 4]]
