"""Rebuilding the projection from the topics, and comparing two projections.

The rebuild folds every event of the lifecycle topics, from the beginning, into record
states in memory (the same :func:`~hotich_reporting.domain.lifecycle.merge` the live
consumer uses), then writes the states and the counters they add up to into an empty
projection in bulk. Because the fold does not depend on the order or repetition of
events, the result equals the live projection once both have read the same events.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterable
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
    write_seconds: float = 0.0

    @property
    def seconds(self) -> float:
        """Total time."""
        return self.read_seconds + self.write_seconds


async def rebuild(events: AsyncIterable[list[EventView]], target: ProjectionStore) -> RebuildStats:
    """Fold ``events`` into fresh states and load them into ``target`` (cleared first)."""
    stats = RebuildStats()
    started = time.perf_counter()
    states: dict[str, RecordState] = {}
    async for batch in events:
        for view in batch:
            states[view.record_id] = merge(states.get(view.record_id), view)
        stats.events += len(batch)
    stats.read_seconds = time.perf_counter() - started
    started = time.perf_counter()
    await target.clear()
    stats.records = await target.load(states.values())
    stats.write_seconds = time.perf_counter() - started
    return stats


async def compare(first: ProjectionStore, second: ProjectionStore, limit: int = 20) -> list[str]:
    """Differences between two projections (empty: they are identical)."""
    return (await first.dump()).differences(await second.dump(), limit)
