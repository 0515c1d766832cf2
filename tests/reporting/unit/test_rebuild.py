"""The rebuild folds groups of events and loads each group while the next is read."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterable, AsyncIterator, Sequence
from random import Random

import pytest

from hotich_reporting.adapters.event_views import decode
from hotich_reporting.adapters.memory import MemoryProjection
from hotich_reporting.domain.lifecycle import EventView, RecordState
from hotich_reporting.service_layer.rebuild import compare, rebuild
from tests.reporting import scenario as sc

GROUPS = 4


@pytest.fixture(scope="module")
def views() -> list[EventView]:
    scenario = sc.build(sc.config(total=600, seed=5))
    views = [decode(t, e.model_dump_json().encode()) for t, e in scenario.all_events()]
    Random(3).shuffle(views)
    return views


def group_of(view: EventView) -> int:
    return zlib.crc32(view.record_id.encode()) % GROUPS


async def by_group(
    views: list[EventView], batch: int = 37
) -> AsyncIterator[tuple[int, list[EventView]]]:
    """The views group after group, in batches, as the replay yields them."""
    for number in range(GROUPS):
        mine = [v for v in views if group_of(v) == number]
        for start in range(0, len(mine), batch):
            yield number, mine[start : start + batch]


async def test_a_rebuild_by_groups_equals_the_live_fold(views: list[EventView]) -> None:
    live = MemoryProjection()
    await live.apply(views)
    rebuilt = MemoryProjection()
    stats = await rebuild(by_group(views), rebuilt)
    assert stats.events == len(views)
    assert stats.records == len({v.record_id for v in views})
    assert await compare(live, rebuilt) == []


async def test_a_record_in_two_groups_is_refused(views: list[EventView]) -> None:
    async def split() -> AsyncIterator[tuple[int, list[EventView]]]:
        yield 0, views[: len(views) // 2]
        yield 1, views[len(views) // 2 :]

    with pytest.raises(ValueError, match="two groups"):
        await rebuild(split(), MemoryProjection())


async def test_a_failed_read_fails_the_rebuild(views: list[EventView]) -> None:
    async def broken() -> AsyncIterator[tuple[int, list[EventView]]]:
        yield 0, views[:50]
        raise ConnectionError("broker gone")

    with pytest.raises(ConnectionError):
        await rebuild(broken(), MemoryProjection())


class GivesUp(MemoryProjection):
    """A target whose load gives up at its second group, taking its time over each."""

    async def load_groups(self, groups: AsyncIterable[Sequence[RecordState]]) -> int:
        taken = 0
        async for _ in groups:
            taken += 1
            await asyncio.sleep(0.05)  # the reader fills the queue and waits meanwhile
            if taken == 2:
                raise ConnectionError("store gone")
        return taken


async def test_a_load_that_gives_up_while_the_reader_waits_ends_the_rebuild(
    views: list[EventView],
) -> None:
    running = asyncio.create_task(rebuild(by_group(views, batch=500), GivesUp()))
    # A guard, not a timing claim: a reader left waiting on a full queue never ends.
    done, _ = await asyncio.wait({running}, timeout=30)
    if not done:
        running.cancel()
    assert running in done, "the rebuild hung after its load gave up"
    with pytest.raises(ConnectionError, match="store gone"):
        running.result()
