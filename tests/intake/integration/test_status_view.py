"""Intake's status view on the real store: events of one record read out of order or again."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection

from hotich_contracts.events import RecordExported, RecordExportedPayload, RecordStatus
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_intake.adapters.mongo_store import MongoRecordStore
from tests.fixtures.infra import unique_database_name

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
async def record_store(
    mongodb_url: str,
) -> AsyncIterator[tuple[MongoRecordStore, AsyncCollection[dict[str, Any]]]]:
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(mongodb_url)
    db = client[unique_database_name("intake_view")]
    yield MongoRecordStore(db), db["records"]
    await client.drop_database(db.name)
    await client.close()


def accepted(record_id: str) -> dict[str, Any]:
    """A record's view as dedup's acceptance leaves it."""
    return {
        "_id": record_id,
        "status": "accepted",
        "status_version": 1,
        "status_rank": 2,
        "reasons": [],
        "history": [],
    }


def exported(record_id: str, *, ok: bool, minutes: int) -> RecordExported:
    return RecordExported(
        event_id=uuid.uuid4(),
        occurred_at=T0 + timedelta(minutes=minutes),
        actor="export",
        correlation_id=record_id,
        record_id=record_id,
        record_version=1,
        unit_code="25459",
        payload=RecordExportedPayload(
            status=RecordStatus.EXPORTED if ok else RecordStatus.EXPORT_FAILED,
            phase=1,
            national_id="VN-25-0000000042" if ok else None,
            attempts=3 if ok else 8,
            reasons=[]
            if ok
            else [
                Reason(
                    code=ReasonCode.NATIONAL_REJECTED,
                    message_vi="CSDL quốc gia từ chối.",
                    message_en="The national database refused it.",
                )
            ],
        ),
    )


async def test_a_redriven_export_replaces_the_failure_and_a_redelivered_failure_changes_nothing(
    record_store: tuple[MongoRecordStore, AsyncCollection[dict[str, Any]]],
) -> None:
    records, collection = record_store
    record_id = str(uuid.uuid4())
    await collection.insert_one(accepted(record_id))
    failed = exported(record_id, ok=False, minutes=1)
    await records.apply([failed])
    doc = await collection.find_one({"_id": record_id})
    assert doc is not None
    assert (doc["status"], [r["code"] for r in doc["reasons"]]) == (
        "export_failed",
        ["national_rejected"],
    )

    await records.apply([exported(record_id, ok=True, minutes=30)])
    await records.apply([failed])  # the failure read again, after the redrive
    doc = await collection.find_one({"_id": record_id})
    assert doc is not None
    assert doc["status"] == "exported"
    assert doc["national_id"] == "VN-25-0000000042"
    assert doc["reasons"] == []
    assert [h["status"] for h in doc["history"]] == ["export_failed", "exported"]


async def test_concurrent_writers_lose_no_event_and_push_none_twice(
    record_store: tuple[MongoRecordStore, AsyncCollection[dict[str, Any]]],
) -> None:
    """Two consumers (a rebalance) and a correction write the same records at once."""
    records, collection = record_store
    ids = [str(uuid.uuid4()) for _ in range(120)]
    await collection.insert_many([accepted(rid) for rid in ids])
    failures = [exported(rid, ok=False, minutes=1) for rid in ids]
    successes = [exported(rid, ok=True, minutes=2) for rid in ids]

    async def correct_every_third() -> None:
        for rid in ids[::3]:
            await collection.update_one({"_id": rid}, {"$set": {"updated_at": T0}})
            await asyncio.sleep(0)

    # Both consumers deliver every event (one of them again), in different orders.
    await asyncio.gather(
        records.apply([*failures, *successes]),
        records.apply([*reversed(successes), *reversed(failures)]),
        records.apply(failures[:40]),
        correct_every_third(),
    )
    docs = {d["_id"]: d async for d in collection.find({"_id": {"$in": ids}})}
    for rid, fail, ok in zip(ids, failures, successes, strict=True):
        doc = docs[rid]
        pushed = sorted(h["event_id"] for h in doc["history"])
        assert pushed == sorted([str(fail.event_id), str(ok.event_id)]), rid
        assert (doc["status"], doc["national_id"], doc["reasons"]) == (
            "exported",
            "VN-25-0000000042",
            [],
        )


async def test_a_correction_between_read_and_write_is_not_overwritten(
    record_store: tuple[MongoRecordStore, AsyncCollection[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A version staged by the clerk while the view folds old events keeps its status."""
    records, collection = record_store
    record_id = str(uuid.uuid4())
    await collection.insert_one(accepted(record_id))
    view = records._records  # the collection the store reads and writes
    original_find = view.find
    reads = 0

    def find_then_correct(*args: Any, **kwargs: Any) -> Any:
        nonlocal reads
        reads += 1
        cursor = original_find(*args, **kwargs)
        if reads > 1:
            return cursor

        async def read_then_stage() -> AsyncIterator[dict[str, Any]]:
            docs = [d async for d in cursor]
            await collection.update_one(
                {"_id": record_id},
                {"$set": {"status": "received", "status_version": 2, "status_rank": 0}},
            )
            for d in docs:
                yield d

        return read_then_stage()

    monkeypatch.setattr(view, "find", find_then_correct)
    await records.apply([exported(record_id, ok=True, minutes=5)])
    assert reads >= 2, "the store did not read the record again after its write missed"
    doc = await collection.find_one({"_id": record_id})
    assert doc is not None
    assert (doc["status"], doc["status_version"]) == ("received", 2)
    assert [h["status"] for h in doc["history"]] == ["exported"]
