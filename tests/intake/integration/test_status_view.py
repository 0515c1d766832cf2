"""Intake's status view on the real store: events of one record read out of order or again."""

from __future__ import annotations

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
    await collection.insert_one(
        {
            "_id": record_id,
            "status": "accepted",
            "status_version": 1,
            "status_rank": 2,
            "reasons": [],
            "history": [],
        }
    )
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
