"""One behaviour suite for the delivery store, run on the in-memory fake and on MongoDB."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from motor.motor_asyncio import AsyncIOMotorClient

from hotich_export.adapters.memory import InMemoryDeliveryStore
from hotich_export.adapters.mongo_deliveries import MongoDeliveryStore
from hotich_export.domain.delivery import Delivery, DeliveryState, Operation
from hotich_export.service_layer.ports import DeliveryStore
from tests.fixtures.infra import unique_database_name

T0 = datetime(2025, 1, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
async def mongo_database(mongodb_url: str) -> AsyncIterator[Any]:
    """One database for the module (dropping one takes the store seconds)."""
    name = unique_database_name("t_export_store")
    client: AsyncIOMotorClient[dict[str, Any]] = AsyncIOMotorClient(mongodb_url, tz_aware=True)
    try:
        yield client[name]
        await client.drop_database(name)
    finally:
        client.close()


@pytest.fixture
async def mongo_store(mongo_database: Any) -> DeliveryStore:
    await mongo_database["deliveries"].delete_many({})
    mongo = MongoDeliveryStore(mongo_database)
    await mongo.ensure_indexes()
    return mongo


@pytest.fixture
def memory_store() -> DeliveryStore:
    return InMemoryDeliveryStore()


@pytest.fixture(
    params=["memory_store", pytest.param("mongo_store", marks=pytest.mark.integration)],
)
def delivery_store(request: pytest.FixtureRequest) -> DeliveryStore:
    """The same suite on the fake and on the real store (the fake must not drift)."""
    found: DeliveryStore = request.getfixturevalue(request.param)
    return found


def delivery(
    record_id: str,
    version: int = 1,
    state: DeliveryState = DeliveryState.PENDING,
    due_in_s: float | None = 0,
    unit_code: str = "25459",
    **fields: Any,
) -> Delivery:
    return Delivery(
        key=f"{record_id}:v{version}",
        record_id=record_id,
        version=version,
        unit_code=unit_code,
        state=state,
        event_json=f'{{"record": "{record_id}"}}',
        due_at=T0 + timedelta(seconds=due_in_s)
        if state is DeliveryState.PENDING and due_in_s is not None
        else None,
        **fields,
    )


async def test_add_inserts_new_keys_only(delivery_store: DeliveryStore) -> None:
    await delivery_store.add([delivery("a"), delivery("b")])
    await delivery_store.add([delivery("a", state=DeliveryState.FAILED), delivery("c")])
    found = await delivery_store.of_records(["a", "b", "c", "zzz"])
    assert {r: [d.state for d in ds] for r, ds in found.items()} == {
        "a": [DeliveryState.PENDING],
        "b": [DeliveryState.PENDING],
        "c": [DeliveryState.PENDING],
    }
    assert found["a"][0].event_json is None  # histories come without events
    await delivery_store.add([])


async def test_a_receipt_round_trips(delivery_store: DeliveryStore) -> None:
    receipt = delivery(
        "r",
        state=DeliveryState.EXPORTED,
        national_id="VN-1",
        operation=Operation.CREATE,
        http_status=201,
        response={"national_id": "VN-1"},
        exported_at=T0,
        attempts=2,
        previous_national_ids=("VN-0",),
    )
    await delivery_store.add([receipt])
    [back] = [d async for d in delivery_store.receipts("25459")]
    assert back == replace(receipt, event_json=None)


async def test_claims_due_pending_earliest_first_with_a_lease(
    delivery_store: DeliveryStore,
) -> None:
    await delivery_store.add(
        [
            delivery("late", due_in_s=5),
            delivery("first", due_in_s=-10),
            delivery("second", due_in_s=-5),
            delivery("future", due_in_s=60),
            delivery("done", state=DeliveryState.EXPORTED, national_id="N"),
        ]
    )
    claimed = await delivery_store.claim_due(T0, limit=2, lease_s=30)
    assert sorted(d.record_id for d in claimed) == ["first", "second"]
    assert all(d.event_json for d in claimed)
    assert all(d.due_at == T0 + timedelta(seconds=30) for d in claimed)
    later = T0 + timedelta(seconds=10)
    assert [d.record_id for d in await delivery_store.claim_due(later, 10, 30)] == ["late"]
    after_lease = T0 + timedelta(seconds=31)
    again = await delivery_store.claim_due(after_lease, 10, 30)
    assert sorted(d.record_id for d in again) == ["first", "second"]


async def test_concurrent_claimers_never_share_a_delivery(delivery_store: DeliveryStore) -> None:
    await delivery_store.add([delivery(f"r{i}", due_in_s=-i) for i in range(60)])
    keys: list[str] = []
    for _ in range(10):
        batches = await asyncio.gather(*(delivery_store.claim_due(T0, 25, 30) for _ in range(4)))
        keys += [d.key for batch in batches for d in batch]
        if len(keys) >= 60:
            break
    assert len(keys) == len(set(keys)) == 60


async def test_settle_writes_claimed_states_but_never_undoes_a_final_one(
    delivery_store: DeliveryStore,
) -> None:
    await delivery_store.add([delivery("a"), delivery("b"), delivery("c")])
    [a, b, c] = sorted(await delivery_store.claim_due(T0, 10, 30), key=lambda d: d.key)
    exported = replace(a, state=DeliveryState.EXPORTED, due_at=None, national_id="N-a")
    parked = replace(b, due_at=T0 + timedelta(seconds=99), attempts=3, last_error="503")
    await delivery_store.settle([exported, parked])
    await delivery_store.settle([replace(exported, state=DeliveryState.PENDING, due_at=T0)])
    found = {
        d.key: d for ds in (await delivery_store.of_records(["a", "b", "c"])).values() for d in ds
    }
    assert found["a:v1"].state is DeliveryState.EXPORTED
    assert found["a:v1"].national_id == "N-a"
    assert (found["b:v1"].attempts, found["b:v1"].last_error) == (3, "503")
    assert found["b:v1"].due_at == T0 + timedelta(seconds=99)
    assert found["c:v1"].due_at == T0 + timedelta(seconds=30)  # still leased
    again = {d.key: d for d in await delivery_store.claim_due(T0 + timedelta(seconds=100), 10, 30)}
    assert set(again) == {"b:v1", "c:v1"}
    assert again["b:v1"].event_json == '{"record": "b"}'  # settling kept the event


async def test_hurry_brings_newer_pending_versions_forward(delivery_store: DeliveryStore) -> None:
    await delivery_store.add(
        [
            delivery("r", 1, DeliveryState.EXPORTED, national_id="N"),
            delivery("r", 2, due_in_s=100),
            delivery("r", 3, due_in_s=200),
            delivery("other", 2, due_in_s=100),
        ]
    )
    await delivery_store.hurry("r", 1, T0)
    assert sorted(d.key for d in await delivery_store.claim_due(T0, 10, 30)) == ["r:v2", "r:v3"]


async def test_redrive_failed_and_chosen_records(delivery_store: DeliveryStore) -> None:
    await delivery_store.add(
        [
            delivery("f1", state=DeliveryState.FAILED, reasons=({"code": "national_rejected"},)),
            delivery("f2", state=DeliveryState.FAILED),
            delivery("ok", state=DeliveryState.EXPORTED, national_id="N", exported_at=T0),
            delivery("p", due_in_s=500, attempts=4),
        ]
    )
    assert await delivery_store.redrive(record_ids=None, failed=False, now=T0) == []
    redriven = await delivery_store.redrive(record_ids=None, failed=True, now=T0)
    assert [d.key for d in redriven] == ["f1:v1", "f2:v1"]
    chosen = await delivery_store.redrive(record_ids=["ok", "p"], failed=False, now=T0)
    assert [d.key for d in chosen] == ["ok:v1", "p:v1"]
    claimed = {d.key: d for d in await delivery_store.claim_due(T0, 10, 30)}
    assert set(claimed) == {"f1:v1", "f2:v1", "ok:v1", "p:v1"}
    assert claimed["ok:v1"].national_id == "N"  # a resend knows it was exported
    assert claimed["ok:v1"].redrives == 1
    assert claimed["p:v1"].attempts == 0


async def test_summary_units_receipts_and_undelivered_keys(delivery_store: DeliveryStore) -> None:
    await delivery_store.add(
        [
            delivery("a", due_in_s=30),
            delivery("b", due_in_s=10),
            delivery("c", state=DeliveryState.FAILED, unit_code="25460"),
            delivery("d", state=DeliveryState.EXPORTED, national_id="N-d"),
            delivery("e", state=DeliveryState.EXPORTED, national_id="N-e", unit_code="25460"),
        ]
    )
    summary = await delivery_store.summary()
    assert summary.by_state == {"pending": 2, "failed": 1, "exported": 2}
    assert summary.oldest_pending_due == T0 + timedelta(seconds=10)
    assert await delivery_store.units() == ["25459", "25460"]
    assert [d.key async for d in delivery_store.receipts("25460")] == ["e:v1"]
    assert await delivery_store.undelivered_keys(["a:v1", "c:v1", "d:v1", "zz:v1"]) == {
        "a:v1": "pending",
        "c:v1": "failed",
    }
