"""Rebuilding the projection from the topics, and comparing two projections.

The rebuild folds every event of the lifecycle topics, from the beginning, into record
states in memory (the same :func:`~hotich_reporting.domain.lifecycle.merge` the live
consumer uses), then writes the states and the counters they add up to into an empty
projection in bulk. Because the fold does not depend on the order or repetition of
events, the result equals the live projection once both have read the same events.

The topics are read a group of partitions at a time (every event of a record is in one
group, see :func:`~hotich_reporting.adapters.kafka_replay.replay`): the states of a group
are final when it ends, so they are loaded while the next group is read and folded —
this process's decoding and the store's inserts overlap instead of taking turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from hotich_reporting.domain.lifecycle import EventView, RecordState, merge
from hotich_reporting.service_layer.ports import ProjectionStore

__all__ = ["RebuildStats", "compare", "rebuild"]


@dataclass
class RebuildStats:
    """What a rebuild did and how long each part took."""

    events: int = 0
    records: int = 0
    read_seconds: float = 0.0
    """Until every event was read and folded (loading the groups meanwhile)."""
    write_seconds: float = 0.0
    """From then until everything was loaded."""

    @property
    def seconds(self) -> float:
        """Total time."""
        return self.read_seconds + self.write_seconds


async def rebuild(
    events: AsyncIterable[tuple[int, list[EventView]]], target: ProjectionStore
) -> RebuildStats:
    """Fold ``events`` ((group, views) batches) into fresh states and load them into ``target``.

    ``target`` is cleared first. Each group's states are loaded once the group ends,
    while the next one is read.
    """
    stats = RebuildStats()
    started = time.perf_counter()
    groups: asyncio.Queue[list[RecordState] | Exception | None] = asyncio.Queue(maxsize=1)

    async def fold() -> None:
        states: dict[str, RecordState] = {}
        current: int | None = None
        ending: Exception | None = None
        try:
            async for group, batch in events:
                if group != current and states:
                    await groups.put(list(states.values()))
                    states = {}
                current = group
                for view in batch:
                    states[view.record_id] = merge(states.get(view.record_id), view)
                stats.events += len(batch)
            if states:
                await groups.put(list(states.values()))
        except Exception as exc:  # noqa: BLE001 - handed to the loader, which raises it
            ending = exc
        # Not reached when cancelled (the loader gave up and is not waiting any more).
        stats.read_seconds = time.perf_counter() - started
        await groups.put(ending)

    async def folded() -> AsyncIterator[list[RecordState]]:
        while (group := await groups.get()) is not None:
            if isinstance(group, Exception):
                raise group  # reading failed: nothing more is loaded, counters included
            yield group

    await target.clear()
    folding = asyncio.create_task(fold())
    try:
        stats.records = await target.load_groups(folded())
    except BaseException:
        folding.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await folding
        raise
    await folding
    stats.write_seconds = time.perf_counter() - started - stats.read_seconds
    return stats


async def compare(first: ProjectionStore, second: ProjectionStore, limit: int = 20) -> list[str]:
    """Differences between two projections (empty: they are identical)."""
    return (await first.dump()).differences(await second.dump(), limit)
