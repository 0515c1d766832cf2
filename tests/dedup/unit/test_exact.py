from hotich_contracts import topics
from hotich_contracts.events import RecordStatus
from hotich_contracts.reasons import ReasonCode
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_dedup.service_layer.ports import InMemoryExactKeyIndex
from hotich_runtime.ports import FakePublisher
from tests.factories import record, validated


async def test_second_record_with_same_coordinates_is_rejected_with_the_original_id() -> None:
    keys, pub = InMemoryExactKeyIndex(), FakePublisher()
    first, second = validated(record(entry_number="15")), validated(record(entry_number="015"))
    await deduplicate([first, second], keys=keys, publisher=pub)
    out = pub.events(topics.RECORD_DEDUPLICATED)
    assert [o.payload.status for o in out] == [RecordStatus.ACCEPTED, RecordStatus.REJECTED]
    reason = out[1].payload.reasons[0]
    assert reason.code == ReasonCode.DUPLICATE_EXACT
    assert reason.related_record_id == first.record_id
    assert "Trùng" in reason.message_vi


async def test_redelivery_gives_the_same_outcome_and_event_id() -> None:
    keys, pub = InMemoryExactKeyIndex(), FakePublisher()
    event = validated()
    await deduplicate([event], keys=keys, publisher=pub)
    await deduplicate([event], keys=keys, publisher=pub)
    first, again = pub.events(topics.RECORD_DEDUPLICATED)
    assert first.event_id == again.event_id
    assert again.payload.status == RecordStatus.ACCEPTED


async def test_rejected_records_pass_by_and_other_books_are_distinct() -> None:
    keys, pub = InMemoryExactKeyIndex(), FakePublisher()
    rejected = validated(status=RecordStatus.REJECTED, phase=None)
    other_book = validated(record(book_number="02/2010"))
    await deduplicate([rejected, validated(), other_book], keys=keys, publisher=pub)
    out = pub.events(topics.RECORD_DEDUPLICATED)
    assert len(out) == 2
    assert all(o.payload.status == RecordStatus.ACCEPTED for o in out)
