from datetime import UTC, datetime, timedelta
from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import RecordDeduplicated, RecordStatus
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import RecordType, Source
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import birth, record_of, validated


async def run(store: InMemoryDedupStore, *events: object) -> list[RecordDeduplicated]:
    return await deduplicate(list(events), store=store, publisher=FakePublisher())  # type: ignore[arg-type]


async def test_second_record_with_same_coordinates_is_rejected_with_the_original_id() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    first = validated(birth(entry_number="15"))
    second = validated(birth(entry_number="015", child="Trần Minh Khoi"))
    out = await deduplicate([first, second], store=store, publisher=pub)
    assert pub.events(topics.RECORD_DEDUPLICATED) == out
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED, RecordStatus.REJECTED]
    reason = out[1].payload.reasons[0]
    assert reason.code == ReasonCode.DUPLICATE_EXACT
    assert reason.related_record_id == first.record_id
    assert "Trùng" in reason.message_vi


async def test_book_numbers_compare_by_value_and_manual_meets_migration() -> None:
    store = InMemoryDedupStore()
    manual = validated(birth(book_number="01/2010"))
    migrated = validated(birth(book_number="1/2010", source=Source.MIGRATION.value))
    out = await run(store, manual, migrated)
    assert out[1].payload.status == RecordStatus.REJECTED
    assert out[1].payload.reasons[0].related_record_id == manual.record_id


async def test_unknown_authorities_are_told_apart_by_the_storing_unit() -> None:
    store = InMemoryDedupStore()
    common: dict[str, Any] = {
        "registering_authority_code": None,
        "registering_authority_name": "Không rõ",
    }
    a = validated(birth(storing_unit_code="25459", **common))
    b = validated(birth(storing_unit_code="25462", child="Lê Văn Tám", **common))
    again = validated(birth(storing_unit_code="25459", child="Lê Văn Tám", **common))
    out = await run(store, a, b, again)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
    ]


async def test_redelivery_gives_the_same_outcome_and_event_id() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    event = validated(birth())
    [first] = await deduplicate([event], store=store, publisher=pub)
    [again] = await deduplicate([event], store=store, publisher=pub)
    assert first.event_id == again.event_id
    assert again.payload.status == RecordStatus.ACCEPTED


async def test_outcomes_carry_when_their_records_were_entered() -> None:
    entered_at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    original = validated(birth()).model_copy(update={"entered_at": entered_at})
    repeat = validated(birth()).model_copy(update={"entered_at": entered_at + timedelta(days=1)})
    accepted, rejected = await run(InMemoryDedupStore(), original, repeat)
    assert rejected.payload.status == RecordStatus.REJECTED
    assert (accepted.entered_at, rejected.entered_at) == (entered_at, repeat.entered_at)


async def test_rejected_records_pass_by_and_other_books_are_distinct() -> None:
    store = InMemoryDedupStore()
    rejected = validated(birth(), status=RecordStatus.REJECTED)
    other_book = validated(birth(book_number="02/2010", child="Lê Văn Tám"))
    out = await run(store, rejected, validated(birth()), other_book)
    assert len(out) == 2
    assert all(o.payload.status == RecordStatus.ACCEPTED for o in out)


async def test_a_new_version_with_new_coordinates_releases_the_old_key() -> None:
    store = InMemoryDedupStore()
    v1 = validated(birth(entry_number="15"))
    v2 = validated(birth(entry_number="16"), record_id=v1.record_id, version=2)
    other = validated(birth(entry_number="15", child="Lê Thị Hoa", born="2010-05-02"))
    taken = validated(birth(entry_number="16", child="Lê Văn Tám", born="2010-06-01"))
    out = await run(store, v1, v2, other, taken)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.ACCEPTED,  # v2 keeps its own record: no self-duplicate
        RecordStatus.ACCEPTED,  # entry 15 is free again
        RecordStatus.REJECTED,  # entry 16 belongs to the record's v2
    ]
    assert out[3].payload.reasons[0].related_record_id == v1.record_id
    # a replay of v1 afterwards republishes its outcome and claims nothing
    again = await run(store, v1)
    assert again[0].event_id == out[0].event_id
    assert store.owners[next(k for k in store.owners if "|15|" in k)] == other.record_id


async def test_a_new_version_onto_another_records_coordinates_is_rejected_and_frees_its_own() -> (
    None
):
    store = InMemoryDedupStore()
    a = validated(birth(entry_number="15"))
    b = validated(birth(entry_number="16", child="Lê Văn Tám", born="2010-06-01"))
    b2 = validated(
        birth(entry_number="15", child="Lê Văn Tám", born="2010-06-01"),
        record_id=b.record_id,
        version=2,
    )
    c = validated(birth(entry_number="16", child="Lê Thị Hoa", born="2010-05-02"))
    out = await run(store, a, b, b2, c)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
        RecordStatus.ACCEPTED,
    ]


async def test_repeatable_acts_are_only_checked_for_exact_duplicates() -> None:
    store = InMemoryDedupStore()
    first = validated(record_of(RecordType.MARITAL_STATUS))
    second = validated(record_of(RecordType.MARITAL_STATUS, entry_number="16"))
    out = await run(store, first, second)
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED, RecordStatus.ACCEPTED]
