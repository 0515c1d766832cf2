import pytest

from hotich_contracts import topics
from hotich_contracts.units import default_registry
from hotich_intake.adapters.memory import InMemoryRecordStore
from hotich_intake.service_layer import records
from hotich_intake.service_layer.ports import IdempotencyConflict
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.factories import record

CLERK = Principal("clerk3", "25459", Role.CLERK)


class DownPublisher(FakePublisher):
    async def publish(self, topic, events):  # type: ignore[no-untyped-def]
        raise RetryableError("kafka down")


async def test_submission_is_published_then_marked_and_visible_to_its_unit() -> None:
    store, pub = InMemoryRecordStore(), FakePublisher()
    result = await records.submit_record(
        store, pub, CLERK, record(), idempotency_key=None, correlation_id="c"
    )
    [event] = pub.events(topics.RECORD_ENTERED)
    assert event.record_id == result.record_id
    assert event.unit_code == "25459"
    assert store.outbox == {}
    assert await records.get_record(store, default_registry(), CLERK, result.record_id) is not None
    other_commune = Principal("x", "25456", Role.CLERK)
    assert (
        await records.get_record(store, default_registry(), other_commune, result.record_id) is None
    )
    district = Principal("d", "703", Role.DISTRICT_OFFICER)
    assert (
        await records.get_record(store, default_registry(), district, result.record_id) is not None
    )


async def test_same_idempotency_key_same_body_returns_same_record_and_other_body_conflicts() -> (
    None
):
    store, pub = InMemoryRecordStore(), FakePublisher()
    first = await records.submit_record(
        store, pub, CLERK, record(), idempotency_key="k1", correlation_id="c"
    )
    again = await records.submit_record(
        store, pub, CLERK, record(), idempotency_key="k1", correlation_id="c"
    )
    assert again.record_id == first.record_id
    assert again.repeated
    assert len(pub.events(topics.RECORD_ENTERED)) == 1
    with pytest.raises(IdempotencyConflict):
        await records.submit_record(
            store, pub, CLERK, record(entry_number="99"), idempotency_key="k1", correlation_id="c"
        )


async def test_kafka_down_leaves_nothing_half_written_and_the_key_free() -> None:
    store = InMemoryRecordStore()
    with pytest.raises(RetryableError):
        await records.submit_record(
            store, DownPublisher(), CLERK, record(), idempotency_key="k", correlation_id="c"
        )
    assert store.views == {}
    assert store.keys == {}
    ok = await records.submit_record(
        store, FakePublisher(), CLERK, record(), idempotency_key="k", correlation_id="c"
    )
    assert not ok.repeated


async def test_officers_may_not_enter_records() -> None:
    with pytest.raises(records.NotAllowed):
        await records.submit_record(
            InMemoryRecordStore(),
            FakePublisher(),
            Principal("o", "703", Role.DISTRICT_OFFICER),
            record(),
            idempotency_key=None,
            correlation_id="c",
        )
