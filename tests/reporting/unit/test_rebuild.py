"""The rebuild folds groups of events and loads each group while the next is read."""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator
from random import Random

import pytest

from hotich_reporting.adapters.event_views import decode
from hotich_reporting.adapters.memory import MemoryProjection
from hotich_reporting.domain.lifecycle import EventView
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
