"""The MongoDB projection behaves as the in-memory one, on the real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from random import Random
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from hotich_reporting.adapters.event_views import decode
from hotich_reporting.adapters.memory import MemoryProjection
from hotich_reporting.adapters.mongo_projection import MongoProjection
from hotich_reporting.domain.lifecycle import EventView, fold
from hotich_reporting.domain.metrics import CellCounts
from hotich_runtime import mongo
from tests.reporting import scenario as sc

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(mongodb_url: str) -> AsyncIterator[AsyncIOMotorClient[dict[str, Any]]]:
    client = mongo.make_client(mongodb_url, app_name="test-reporting")
    yield client
    client.close()


@pytest.fixture(scope="module")
def views() -> list[EventView]:
    scenario = sc.build(sc.config(total=400, seed=21))
    return [decode(t, e.model_dump_json().encode()) for t, e in scenario.all_events()]


async def test_concurrent_instances_reach_the_same_projection_as_a_rebuild(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    rng = Random(9)
    shuffled = views + rng.sample(views, len(views) // 3)
    rng.shuffle(shuffled)
    db = client[database_name]
    # two "instances" writing the same projection at once, batches interleaved
    first, second = MongoProjection(client, db), MongoProjection(client, db)
    batches = [shuffled[i : i + 150] for i in range(0, len(shuffled), 150)]

    async def run(store: MongoProjection, mine: list[list[EventView]]) -> None:
        for batch in mine:
            await store.apply(batch)

    await asyncio.gather(run(first, batches[0::2]), run(second, batches[1::2]))
    live = await first.dump()

    by_record: dict[str, list[EventView]] = {}
    for view in views:
        by_record.setdefault(view.record_id, []).append(view)
    expected = MemoryProjection()
    await expected.load(s for s in (fold(v) for v in by_record.values()) if s is not None)
    assert live.differences(await expected.dump()) == []

    rebuilt = MongoProjection(client, client[f"{database_name}_r"])
    await rebuilt.clear()
    await rebuilt.load(live.records.values())
    assert (await rebuilt.dump()).differences(live) == []
    await client.drop_database(f"{database_name}_r")


async def test_reads_by_unit_book_and_lot(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    store = MongoProjection(client, client[database_name])
    memory = MemoryProjection()
    await store.apply(views)
    await memory.apply(views)
    assert _norm(await store.cells()) == _norm(await memory.cells())
    units = {v.unit_code for v in views}
    for unit in sorted(units):
        assert await store.books(unit) == await memory.books(unit)
        for phase in ("1", "2"):
            assert await store.members(phase, unit) == await memory.members(phase, unit)
    book = next(b for b in await memory.books(sorted(units)[0]))
    assert await store.entries(book.book_key) == await memory.entries(book.book_key)
    record = views[0].record_id
    assert await store.record(record) == await memory.record(record)
    assert await store.apply(views) == 0  # a repeat changes nothing


async def test_cached_counters_follow_every_writer(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    db = client[database_name]
    writer, reader = MongoProjection(client, db), MongoProjection(client, db)
    half = len(views) // 2
    await writer.apply(views[:half])
    assert _norm(await reader.cells()) == _norm(await writer.cells())  # both from the store
    await writer.apply(views[half:])  # the writer patches its copy; the reader's is stale
    fresh = MongoProjection(client, db)
    expected = _norm(await fresh.cells())
    assert _norm(await writer.cells()) == expected
    assert _norm(await reader.cells()) == expected  # noticed the new round
    memory = MemoryProjection()
    await memory.apply(views)
    assert _norm(await memory.cells()) == expected


def _norm(cells: list[CellCounts]) -> list[tuple[str, str, str, list[tuple[str, int]]]]:
    return sorted((c.phase, c.unit_code, c.record_type, sorted(c.counts.items())) for c in cells)
