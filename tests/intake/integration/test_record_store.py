"""Intake's record store on the real store: the record id is the claim of a key."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from hotich_contracts import topics
from hotich_intake.adapters.mongo_store import MongoRecordStore, ensure_indexes
from hotich_intake.service_layer import records
from hotich_intake.service_layer.records import Submission
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.factories import record
from tests.fixtures.infra import unique_database_name

pytestmark = pytest.mark.integration

CLERK = Principal("clerk3", "25459", Role.CLERK)


class DownPublisher(FakePublisher):
    """Kafka refusing every publish."""

    async def publish(self, topic: str, events: Sequence[Any]) -> None:
        raise RetryableError("kafka down")


@pytest.fixture
async def db(mongodb_url: str) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url, tz_aware=True)
    database = client[unique_database_name("intake_records")]
    yield database
    await client.drop_database(database.name)
    await client.close()


async def submit(
    store: MongoRecordStore, *subs: Submission, publisher: FakePublisher | None = None
) -> list[records.ItemResult]:
    return await records.submit_records(
        store,  # type: ignore[arg-type]
        publisher or FakePublisher(),
        CLERK,
        list(subs),
        correlation_id="c",
    )


def record_id_of(submission: Submission) -> str:
    return records.record_id_for(records.scope_key(CLERK, submission))


async def relay(store: MongoRecordStore) -> list[str]:
    """Run the outbox relay over every open entry; the record ids it published."""
    relayed = FakePublisher()
    await records.relay_unpublished(
        store,  # type: ignore[arg-type]
        relayed,
        timedelta(seconds=-1),
    )
    return [e.record_id for e in relayed.events(topics.RECORD_ENTERED)]


async def test_concurrent_submissions_of_one_entry_make_one_record(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    await ensure_indexes(db)  # type: ignore[arg-type]
    store = MongoRecordStore(db)  # type: ignore[arg-type]
    sub = Submission(record(entry_number="77"))
    outcomes = await asyncio.gather(*(submit(store, sub, sub) for _ in range(8)))
    flat = [r for results in outcomes for r in results]
    assert sorted(r.outcome for r in flat).count("created") == 1
    assert {r.record_id for r in flat} == {record_id_of(sub)}
    assert await db["records"].count_documents({}) == 1
    assert await db["outbox"].count_documents({}) == 0


async def test_the_indexes_of_earlier_builds_are_dropped(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    await db["records"].create_index("scope_key", unique=True)
    await db["outbox"].create_index("record_ids")
    await ensure_indexes(db)  # type: ignore[arg-type]
    assert "scope_key_1" not in await db["records"].index_information()
    assert "record_ids_1" not in await db["outbox"].index_information()
    await ensure_indexes(db)  # type: ignore[arg-type]  # and again: idempotent


async def test_a_record_refused_for_another_unique_key_is_no_created_record(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    # Any unique index but the record id (here a stand-in on body_hash) refusing an
    # insert must not be answered as "created" with an event for a record not stored.
    await ensure_indexes(db)  # type: ignore[arg-type]
    await db["records"].create_index("body_hash", unique=True)
    store = MongoRecordStore(db)  # type: ignore[arg-type]
    body = record(entry_number="88")
    [first] = await submit(store, Submission(body, "key-1"))
    assert first.outcome == "created"
    publisher = FakePublisher()
    with pytest.raises(RetryableError):
        await submit(store, Submission(body, "key-2"), publisher=publisher)
    assert publisher.events(topics.RECORD_ENTERED) == []
    assert await db["records"].count_documents({}) == 1
    # Its entry stays open; the relay finds nothing it owns and closes it.
    assert await relay(store) == []
    assert await db["outbox"].count_documents({}) == 0


async def test_records_stored_by_an_insert_that_failed_part_way_are_relayed(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    # The insert stores one record and is refused another (a stand-in unique index):
    # the answer is 503, but the stored one must not be left unpublished. Its entry
    # stays open, and the relay sends it, once.
    await ensure_indexes(db)  # type: ignore[arg-type]
    await db["records"].create_index("body_hash", unique=True)
    store = MongoRecordStore(db)  # type: ignore[arg-type]
    taken = record(entry_number="95")
    await submit(store, Submission(taken, "key-1"))
    fresh = Submission(record(entry_number="96"))
    with pytest.raises(RetryableError):
        await submit(store, fresh, Submission(taken, "key-2"))
    assert await db["outbox"].count_documents({}) == 1
    assert await relay(store) == [record_id_of(fresh)]
    assert await db["outbox"].count_documents({}) == 0


async def test_a_resend_publishes_only_records_whose_owning_entry_is_open(
    db: AsyncDatabase[dict[str, Any]],
) -> None:
    # k is stored and published. Writer A opens an entry naming [k, z] (it loses k) and
    # has not stored z when k is resent: k's own entry is closed, so nothing is sent and
    # A's entry stays. Then m and n are stored but Kafka refuses: a resend of m sends m
    # and n (their writer is past its insert) and closes their entry; the relay sends
    # nothing for A's entry, which owns no record.
    await ensure_indexes(db)  # type: ignore[arg-type]
    store = MongoRecordStore(db)  # type: ignore[arg-type]
    k, z = Submission(record(entry_number="91")), Submission(record(entry_number="92"))
    [first] = await submit(store, k)
    rid_k, rid_z = (record_id_of(s) for s in (k, z))
    await store.open_outbox("entry-of-a", [rid_k, rid_z])
    assert await store.pending_events([rid_k]) == ([], [])
    [again] = await submit(store, k)
    assert (again.outcome, again.record_id) == ("repeated", first.record_id)
    assert await db["outbox"].count_documents({"_id": "entry-of-a"}) == 1

    m, n = Submission(record(entry_number="93")), Submission(record(entry_number="94"))
    with pytest.raises(RetryableError):
        await submit(store, m, n, publisher=DownPublisher())
    rid_m, rid_n = (record_id_of(s) for s in (m, n))
    closable, events = await store.pending_events([rid_m])
    assert len(closable) == 1
    assert sorted(e.record_id for e in events) == sorted([rid_m, rid_n])
    resend = FakePublisher()
    await submit(store, m, publisher=resend)
    assert sorted(e.record_id for e in resend.events(topics.RECORD_ENTERED)) == sorted(
        [rid_m, rid_n]
    )
    assert await db["outbox"].distinct("_id") == ["entry-of-a"]
    assert await relay(store) == []
    assert await db["outbox"].count_documents({}) == 0
