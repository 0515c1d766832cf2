"""Group commit: many concurrent callers, one round trip.

Fifty clerks posting at once would cost fifty store writes and fifty Kafka sends, each
waiting for the one before it in a single-threaded store. A :class:`Coalescer` lets each
caller await its own result while the calls that arrive during one flush are written
together by the next: the batch grows with the load, and an idle system still answers a
lone call at once (no timer, no added latency). It is the database's group commit, or
Kafka's producer batching, applied to whole use cases.

A flush that raises fails every call of that batch with the same exception, as a
batch endpoint would; the next batch is tried afresh. A caller that goes away
(cancelled) does not cancel the flush its call is part of: the others still need it,
and what it started (a record written and published) completes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from hotich_runtime import metrics

T = TypeVar("T")
R = TypeVar("R")


class Coalescer(Generic[T, R]):
    """Run concurrent ``submit(item)`` calls as ``flush([items...])`` batches.

    ``flush`` must return one result per item, in order. At most ``concurrency`` flushes
    run at once: with more than one, a flush waiting on one resource (Kafka's
    acknowledgement) overlaps the next one's work on another (the store).
    """

    def __init__(
        self,
        flush: Callable[[list[T]], Awaitable[Sequence[R]]],
        *,
        max_items: int = 500,
        concurrency: int = 1,
        name: str = "unnamed",
    ) -> None:
        if max_items < 1 or concurrency < 1:
            raise ValueError("max_items and concurrency must be at least 1")
        self._flush = flush
        self._max = max_items
        self._concurrency = concurrency
        self._sizes = metrics.COALESCED.labels(name)
        self._pending: list[tuple[T, asyncio.Future[R]]] = []
        self._running: set[asyncio.Task[None]] = set()
        self._kick_scheduled = False

    async def submit(self, item: T) -> R:
        """Queue ``item``; return its result once the batch it joined is flushed."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._pending.append((item, future))
        self._schedule(loop)
        return await asyncio.shield(future)

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        # Start flushing on the next turn of the loop: callers already running join first.
        if not self._kick_scheduled:
            self._kick_scheduled = True
            loop.call_soon(self._kick)

    def _kick(self) -> None:
        self._kick_scheduled = False
        while self._pending and len(self._running) < self._concurrency:
            batch, self._pending = self._pending[: self._max], self._pending[self._max :]
            task = asyncio.create_task(self._run(batch))
            self._running.add(task)
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        if self._pending:
            self._schedule(asyncio.get_running_loop())

    async def _run(self, batch: list[tuple[T, asyncio.Future[R]]]) -> None:
        self._sizes.observe(len(batch))
        try:
            results = await self._flush([item for item, _ in batch])
            if len(results) != len(batch):
                raise RuntimeError(f"flush returned {len(results)} results for {len(batch)}")
        except asyncio.CancelledError:
            # Shut down mid-flush: callers still waiting are told, not left hanging.
            for _, future in batch:
                future.cancel()
            raise
        except Exception as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)

    async def aclose(self) -> None:
        """Wait until every call submitted so far is flushed."""
        while self._pending or self._running:
            if self._running:
                await asyncio.wait(set(self._running))
            else:
                await asyncio.sleep(0)
