"""Applying lifecycle events to the projection, with group commit across callers.

Each batch's offsets may only be committed once its effects are written, so a caller
waits for its batch to be applied. The service reads the four lifecycle topics with
one pipelined consumer, whose batches already gather what arrived while the last one
was written (:mod:`hotich_runtime.pipelined`): a round is then one batch. Should
several callers deliver batches concurrently (several subscriptions), :class:`Projector`
gathers whatever batches are waiting while one is being written and applies them
together in the next round: one transaction, each record written once with all its new
events, each counter incremented once. Every waiting caller is released when its round
is committed (or gets the round's error, and its batch is read again).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.service_layer.ports import ProjectionStore

log = logging.getLogger(__name__)

__all__ = ["Projector", "ProjectorStats"]


@dataclass
class ProjectorStats:
    """Counters of a projector's work (for metrics and the benchmark)."""

    events: int = 0
    rounds: int = 0
    records_changed: int = 0
    seconds: float = 0.0
    last_applied_at: float | None = None
    batches: int = 0
    largest_round: int = 0


class Projector:
    """Applies batches of events to a projection store, rounds of batches at a time."""

    def __init__(self, store: ProjectionStore, *, max_round: int = 4000) -> None:
        self._store = store
        self._max_round = max_round
        self._lock = asyncio.Lock()
        self._pending: list[tuple[list[EventView], asyncio.Future[None]]] = []
        self.stats = ProjectorStats()

    async def apply(self, views: Sequence[EventView]) -> None:
        """Apply views (in a round with whatever else is waiting); raise the round's error.

        What the subscription calls with a decoded batch; returns once it is applied.
        """
        if not views:
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        entry = (list(views), future)
        self._pending.append(entry)
        self.stats.batches += 1
        try:
            while not future.done():
                async with self._lock:
                    if future.done():
                        break
                    await self._round()
        except asyncio.CancelledError:
            if any(e is entry for e in self._pending):
                self._pending = [e for e in self._pending if e is not entry]
            elif future.done() and not future.cancelled():
                future.exception()  # retrieved: nobody else will ask
            raise
        await future

    async def _round(self) -> None:
        taken: list[tuple[list[EventView], asyncio.Future[None]]] = []
        size = 0
        while self._pending and (not taken or size + len(self._pending[0][0]) <= self._max_round):
            batch = self._pending.pop(0)
            taken.append(batch)
            size += len(batch[0])
        views = [v for batch, _ in taken for v in batch]
        started = time.perf_counter()
        try:
            changed = await self._store.apply(views)
        except Exception as exc:  # noqa: BLE001 - handed to every waiting batch, which raises it
            for _, future in taken:
                future.set_exception(exc)
            return
        elapsed = time.perf_counter() - started
        stats = self.stats
        stats.events += len(views)
        stats.rounds += 1
        stats.records_changed += changed
        stats.seconds += elapsed
        stats.last_applied_at = time.time()
        stats.largest_round = max(stats.largest_round, len(views))
        for _, future in taken:
            future.set_result(None)
        log.debug("applied a round", extra={"events": len(views), "seconds": round(elapsed, 3)})
