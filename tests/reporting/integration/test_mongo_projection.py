"""The MongoDB projection behaves as the in-memory one, on the real store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from random import Random
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient
from pymongo import monitoring

from hotich_reporting.adapters import mongo_projection
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


def _by_stage(views: list[EventView]) -> tuple[list[EventView], list[EventView], list[EventView]]:
    """Events of records with all three first stages: entered, validated, deduplicated."""
    by_record: dict[str, dict[int, EventView]] = {}
    for view in views:
        if view.version == 1:
            by_record.setdefault(view.record_id, {}).setdefault(view.rank, view)
    chosen = [stages for stages in by_record.values() if {0, 1, 2} <= set(stages)][:60]
    assert len(chosen) == 60
    return (
        [s[0] for s in chosen],
        [s[1] for s in chosen],
        [s[2] for s in chosen],
    )


async def _expected(views: list[EventView]) -> MemoryProjection:
    memory = MemoryProjection()
    await memory.apply(views)
    return memory


async def assert_folds(store: MongoProjection | MemoryProjection, views: list[EventView]) -> None:
    """``store`` holds what folding ``views`` in memory gives."""
    expected = await _expected(views)
    assert (await store.dump()).differences(await expected.dump()) == []


async def test_a_state_cached_by_one_instance_and_changed_by_another_is_not_trusted(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    entered, validated, deduplicated = _by_stage(views)
    db = client[database_name]
    first, second = MongoProjection(client, db), MongoProjection(client, db)
    assert await first.apply(entered) == 60  # first caches the entered states
    assert all(v.record_id in first.state_cache for v in entered)
    # The records' partitions move to the second instance, which validates them.
    assert await second.apply(validated) == 60
    # ... and back: the first instance's cache is stale. A redelivered validation
    # changes nothing (the store's states hold it already), a new event is folded into
    # the stored state, not the cached one.
    assert await first.apply(validated) == 0
    assert await first.apply(deduplicated) == 60
    await assert_folds(first, entered + validated + deduplicated)
    await assert_folds(MongoProjection(client, db), entered + validated + deduplicated)


async def test_a_conflict_in_a_later_slice_of_the_states_undoes_the_earlier_ones(
    client: AsyncIOMotorClient[dict[str, Any]],
    database_name: str,
    views: list[EventView],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The states are written in slices, all in the batch's one transaction."""
    monkeypatch.setattr(mongo_projection, "_WRITE_CHUNK", 7)
    entered, validated, _ = _by_stage(views)
    db = client[database_name]
    first, second = MongoProjection(client, db), MongoProjection(client, db)
    assert await first.apply(entered) == 60  # nine slices
    # Another instance changes the last ten records: the first one's cache is stale
    # for them only, so its next batch conflicts in its eighth slice, after seven
    # slices of states were written.
    assert await second.apply(validated[50:]) == 10
    counts = await first.apply(validated)
    assert counts == 50  # applied again from the store: the last ten changed nothing
    await assert_folds(MongoProjection(client, db), entered + validated)


async def test_a_batch_of_many_records_goes_in_parts_and_a_crash_between_them_loses_nothing(
    client: AsyncIOMotorClient[dict[str, Any]],
    database_name: str,
    views: list[EventView],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """More records than one transaction takes: parts of whole records, each atomic."""
    monkeypatch.setattr(mongo_projection, "_RECORDS_PER_TRANSACTION", 25)
    entered, validated, deduplicated = _by_stage(views)
    db = client[database_name]
    store = MongoProjection(client, db, cached_states=0)
    assert await store.apply(entered) == 60  # three parts
    batch = validated + deduplicated  # 60 records, two events each, in three parts
    parts: list[set[str]] = []
    real_apply = MongoProjection._apply

    async def crash_on_the_third(
        self: MongoProjection, part: list[EventView], ids: list[str]
    ) -> int:
        parts.append({v.record_id for v in part})
        if len(parts) == 3:
            raise RuntimeError("the process dies here")
        return await real_apply(self, part, ids)

    monkeypatch.setattr(MongoProjection, "_apply", crash_on_the_third)
    with pytest.raises(RuntimeError):
        await store.apply(batch)
    # Every part held whole records: both events of each of its records.
    assert [len(p) for p in parts] == [25, 25, 10]
    assert all(len([v for v in batch if v.record_id in p]) == 2 * len(p) for p in parts)
    monkeypatch.setattr(MongoProjection, "_apply", real_apply)
    # Delivered again after the crash: the first two parts fold nothing twice.
    assert await MongoProjection(client, db).apply(batch) == 10
    await assert_folds(MongoProjection(client, db), entered + batch)


async def test_a_redelivered_batch_changes_nothing(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    db = client[database_name]
    store = MongoProjection(client, db)
    batch = views[: len(views) // 2]
    assert await store.apply(batch) > 0
    round_after, dump_after = await store.version(), await store.dump()
    assert await store.apply(batch) == 0  # from the cache: no store write at all
    restarted = MongoProjection(client, db)  # a restart: nothing cached
    assert await restarted.apply(list(reversed(batch))) == 0
    assert await store.version() == round_after
    assert (await restarted.dump()).differences(dump_after) == []


async def test_forgetting_the_cached_states_reads_them_again(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    entered, validated, _ = _by_stage(views)
    store = MongoProjection(client, client[database_name], cached_states=1000)
    await store.apply(entered)
    hits = store.state_cache.hits
    await store.apply(validated)
    assert store.state_cache.hits - hits == 60
    store.forget_states()  # partitions revoked
    assert len(store.state_cache) == 0
    misses = store.state_cache.misses
    assert await store.apply(validated) == 0
    assert store.state_cache.misses - misses == 60
    assert len(store.state_cache) == 60  # read back from the store


class _RecordReads(monitoring.CommandListener):
    """Counts the ``find`` commands on the projection's ``records`` collection."""

    def __init__(self) -> None:
        self.finds = 0

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command.get("find") == "records":
            self.finds += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        """Only starts are counted."""

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        """Only starts are counted."""


async def test_a_record_entered_in_the_batch_is_not_looked_for_unless_it_was_there(
    mongodb_url: str, database_name: str, views: list[EventView]
) -> None:
    entered, validated, _ = _by_stage(views)
    reads = _RecordReads()
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(
        mongodb_url, event_listeners=[reads], tz_aware=True
    )
    try:
        db = client[database_name]
        assert await MongoProjection(client, db).apply(entered + validated) == 60
        assert reads.finds == 0  # new records: inserted without a read
        # A redelivery after a restart (nothing cached): the inserts meet the stored
        # records, the transaction is dropped, and the batch is applied from reads.
        round_after = await MongoProjection(client, db).version()
        restarted = MongoProjection(client, db)
        assert await restarted.apply(entered) == 0
        assert reads.finds > 0
        assert await restarted.version() == round_after
        await assert_folds(restarted, entered + validated)
    finally:
        client.close()


async def test_states_loaded_in_groups_equal_one_load_and_a_record_in_two_is_refused(
    client: AsyncIOMotorClient[dict[str, Any]], database_name: str, views: list[EventView]
) -> None:
    expected = await _expected(views)
    states = sorted(expected.states.values(), key=lambda s: s.record_id)

    async def groups(*parts: list[Any]) -> AsyncIterator[list[Any]]:
        for part in parts:
            yield part

    grouped = MongoProjection(client, client[database_name])
    third = len(states) // 3
    loaded = await grouped.load_groups(
        groups(states[:third], states[third : 2 * third], states[2 * third :])
    )
    assert loaded == len(states)
    assert (await grouped.dump()).differences(await expected.dump()) == []

    twice = MongoProjection(client, client[f"{database_name}_2"])
    await twice.clear()
    with pytest.raises(ValueError, match="two groups"):
        await twice.load_groups(groups(states[:10], states[5:20]))
    await client.drop_database(f"{database_name}_2")
