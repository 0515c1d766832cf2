import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from hotich_contracts import topics
from hotich_contracts.envelope import EventBase
from hotich_contracts.events import (
    DuplicateResolution,
    RecordDeduplicated,
    RecordStatus,
    RecordValidated,
    resolves_suspicion,
)
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import default_registry
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.config import DedupSettings
from hotich_dedup.domain.model import ReviewState
from hotich_dedup.service_layer import review
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import birth, copies_too_far_apart, other_child, validated

REGISTRY = default_registry()
DISTRICT = Principal("phong-tp", "703", Role.DISTRICT_OFFICER)  # Tây Ninh city, has 25459
OTHER_DISTRICT = Principal("phong-tp-go-dau", "710", Role.DISTRICT_OFFICER)
DEPARTMENT = Principal("so-tp", "72", Role.DEPARTMENT_OFFICER)
CLERK = Principal("clerk", "25459", Role.CLERK)


async def suspect(store: InMemoryDedupStore) -> tuple[RecordValidated, RecordValidated]:
    a, b = validated(birth(entry_number="1")), validated(birth(entry_number="2"))
    out = await deduplicate([a, b], store=store, publisher=FakePublisher())
    assert out[1].payload.status == RecordStatus.DUPLICATE_SUSPECTED
    return a, b


async def test_officers_list_the_suspects_of_their_scope() -> None:
    store = InMemoryDedupStore()
    _, b = await suspect(store)
    for who in (DISTRICT, DEPARTMENT):
        found = await review.list_suspects(store, REGISTRY, who, state=ReviewState.OPEN)
        assert [d.record_id for d in found] == [b.record_id]
    assert await review.list_suspects(store, REGISTRY, OTHER_DISTRICT, state=None) == []
    with pytest.raises(review.OutOfScope):
        await review.list_suspects(store, REGISTRY, CLERK, state=None)
    with pytest.raises(review.OutOfScope):
        await review.list_suspects(store, REGISTRY, DISTRICT, state=None, unit_code="710")


async def test_officers_list_the_suspects_linking_two_accepted_records() -> None:
    store = InMemoryDedupStore()
    lone, again = (validated(other_child(entry_number=n)) for n in ("1", "2"))
    await deduplicate([lone, again], store=store, publisher=FakePublisher())
    first, second, entry = copies_too_far_apart()
    await deduplicate([first, second, entry], store=store, publisher=FakePublisher())
    everyone = await review.list_suspects(store, REGISTRY, DEPARTMENT, state=ReviewState.OPEN)
    assert len(everyone) == 2
    [linking] = await review.list_suspects(
        store, REGISTRY, DEPARTMENT, state=ReviewState.OPEN, linked=True
    )
    assert linking.record_id == entry.record_id
    assert set(*linking.linked) == {first.record_id, second.record_id}


async def test_resolving_distinct_accepts_the_record_and_it_is_not_flagged_again() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    a, b = await suspect(store)
    decision = await review.resolve(
        store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    [event] = pub.events(topics.RECORD_DEDUPLICATED)
    assert isinstance(event, RecordDeduplicated)
    assert resolves_suspicion(event)
    assert event.event_id == decision.review_event_id
    assert (event.record_id, event.record_version) == (b.record_id, 1)
    assert event.payload.status == RecordStatus.ACCEPTED
    assert event.payload.review is not None
    assert event.payload.review.reviewer == "phong-tp"
    assert event.payload.record == b.payload.record
    assert await review.list_suspects(store, REGISTRY, DISTRICT, state=ReviewState.OPEN) == []

    # a new version with the same content is not flagged again; a changed one is
    same = validated(b.payload.record, record_id=b.record_id, version=2)
    [out] = await deduplicate([same], store=store, publisher=pub)
    assert out.payload.status == RecordStatus.ACCEPTED
    changed = validated(
        birth(entry_number="2", child="Trần Minh Khoi"), record_id=b.record_id, version=3
    )
    [out] = await deduplicate([changed], store=store, publisher=pub)
    assert out.payload.status == RecordStatus.DUPLICATE_SUSPECTED
    assert out.payload.candidates[0].record_id == a.record_id


async def test_the_resolution_carries_when_the_record_was_entered() -> None:
    # As every stage's event: intake's status view reads its topics in step by it.
    store, pub = InMemoryDedupStore(), FakePublisher()
    entered_at = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
    a = validated(birth(entry_number="1"))
    b = validated(birth(entry_number="2")).model_copy(update={"entered_at": entered_at})
    [_, held] = await deduplicate([a, b], store=store, publisher=FakePublisher())
    assert held.entered_at == entered_at
    await review.resolve(
        store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    [event] = pub.events(topics.RECORD_DEDUPLICATED)
    assert event.entered_at == entered_at


async def test_resolving_duplicate_rejects_the_record_and_drops_it_as_a_candidate() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    a, b = await suspect(store)
    await review.resolve(
        store, pub, REGISTRY, DEPARTMENT, b.record_id, resolution=DuplicateResolution.DUPLICATE
    )
    [event] = pub.events(topics.RECORD_DEDUPLICATED)
    assert isinstance(event, RecordDeduplicated)
    assert event.payload.status == RecordStatus.REJECTED
    [reason] = event.payload.reasons
    assert reason.code == ReasonCode.DUPLICATE_PROBABLE
    assert reason.related_record_id == a.record_id
    c = validated(birth(entry_number="3"))
    [out] = await deduplicate([c], store=store, publisher=pub)
    assert [x.record_id for x in out.payload.candidates] == [a.record_id]


async def test_redelivery_after_review_repeats_the_suspicion_and_revalidation_the_review() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    _, b = await suspect(store)
    await review.resolve(
        store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    [again] = await deduplicate([b], store=store, publisher=pub)
    assert again.payload.status == RecordStatus.DUPLICATE_SUSPECTED  # same id: dropped downstream
    revalidated = b.model_copy(update={"event_id": validated(b.payload.record).event_id})
    [out] = await deduplicate([revalidated], store=store, publisher=pub)
    assert out.payload.status == RecordStatus.ACCEPTED
    assert out.payload.review is not None


async def test_a_second_resolution_conflicts_unless_it_is_the_same() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    _, b = await suspect(store)
    first = await review.resolve(
        store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    same = await review.resolve(
        store, pub, REGISTRY, DEPARTMENT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    assert same.review == first.review
    ids = {e.event_id for e in pub.events(topics.RECORD_DEDUPLICATED)}
    assert ids == {first.review_event_id}
    with pytest.raises(review.Conflict):
        await review.resolve(
            store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DUPLICATE
        )


async def test_scope_and_candidates_are_checked() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    a, b = await suspect(store)
    with pytest.raises(review.OutOfScope):
        await review.resolve(
            store,
            pub,
            REGISTRY,
            OTHER_DISTRICT,
            b.record_id,
            resolution=DuplicateResolution.DISTINCT,
        )
    with pytest.raises(review.NotFound):
        await review.resolve(
            store, pub, REGISTRY, DISTRICT, a.record_id, resolution=DuplicateResolution.DISTINCT
        )
    with pytest.raises(review.InvalidResolution):
        await review.resolve(
            store,
            pub,
            REGISTRY,
            DISTRICT,
            b.record_id,
            resolution=DuplicateResolution.DUPLICATE,
            duplicate_of="not-a-candidate",
        )


class FailingPublisher(FakePublisher):
    def __init__(self) -> None:
        super().__init__()
        self.down = True

    async def publish(self, topic: str, events: Sequence[EventBase]) -> None:
        if self.down:
            raise RetryableError("Kafka is down")
        await super().publish(topic, events)


async def test_a_resolution_interrupted_before_publishing_is_completed_by_the_relay() -> None:
    store, pub = InMemoryDedupStore(), FailingPublisher()
    _, b = await suspect(store)
    with pytest.raises(RetryableError):
        await review.resolve(
            store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
        )
    with pytest.raises(RetryableError):
        await review.publish_pending(store, pub)  # still down: the resolution waits
    pub.down = False
    assert await review.publish_pending(store, pub) == 1
    [event] = pub.events(topics.RECORD_DEDUPLICATED)
    assert event.payload.status == RecordStatus.ACCEPTED  # type: ignore[attr-defined]
    assert await review.publish_pending(store, pub) == 0


async def test_outcomes_and_resolutions_go_to_the_configured_topic() -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    a, b = validated(birth(entry_number="1")), validated(birth(entry_number="2"))
    out = await deduplicate([a, b], store=store, publisher=pub, topic="t.dedup")
    assert pub.events("t.dedup") == out
    await review.resolve(
        store,
        pub,
        REGISTRY,
        DISTRICT,
        b.record_id,
        resolution=DuplicateResolution.DISTINCT,
        topic="t.dedup",
    )
    assert len(pub.events("t.dedup")) == 3
    assert pub.events(topics.RECORD_DEDUPLICATED) == []


def test_the_topics_are_settings_defaulting_to_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = DedupSettings()
    assert (default.source_topic, default.deduplicated_topic) == (
        topics.RECORD_VALIDATED,
        topics.RECORD_DEDUPLICATED,
    )
    monkeypatch.setenv("HOTICH_DEDUP_SOURCE_TOPIC", "t.in")
    monkeypatch.setenv("HOTICH_DEDUP_DEDUPLICATED_TOPIC", "t.out")
    moved = DedupSettings()
    assert (moved.source_topic, moved.deduplicated_topic) == ("t.in", "t.out")


async def test_one_review_that_cannot_be_completed_holds_none_of_the_others_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, pub = InMemoryDedupStore(), FakePublisher()
    a, b = await suspect(store)
    await review.resolve(
        store, pub, REGISTRY, DISTRICT, b.record_id, resolution=DuplicateResolution.DISTINCT
    )
    # Two pending: a's decision, unpublished without the record its event needs (a
    # broken document), and b's resolution, its event lost.
    key_a, key_b = (f"{r}:v{1:010d}" for r in (a.record_id, b.record_id))
    store.kept[key_a] = dataclasses.replace(
        store.kept[key_a], published=False, review=store.kept[key_b].review, record=None
    )
    store.kept[key_b] = dataclasses.replace(store.kept[key_b], published=False)
    assert await review.publish_pending(store, pub) == 1
    assert "could not be completed" in caplog.text
    assert [d.record_id for d in await store.unpublished_reviews(10)] == [a.record_id]
    assert len(pub.events(topics.RECORD_DEDUPLICATED)) == 2  # b's, published again
