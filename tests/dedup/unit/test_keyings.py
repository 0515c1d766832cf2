"""Other keyings of one register entry: kept beside the record, and when they go.

A record rejected as an exact duplicate (the same register entry keyed again) keeps its
profile beside the record's (``MatchProfile.as_keying_of``). These tests cover what
happens to that profile when the rejected record is corrected, how pairs held through it
are told, and the review list's rejections that name a pair.
"""

import uuid
from typing import Any

from hotich_contracts.events import RecordDeduplicated, RecordStatus, RecordValidated
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.domain.model import ReviewState
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import (
    death_at,
    keyed_again_before_its_copy,
    keyed_twice_with_another_slip,
)


async def one_by_one(
    store: InMemoryDedupStore, *events: RecordValidated
) -> list[RecordDeduplicated]:
    out: list[RecordDeduplicated] = []
    for event in events:
        out += await deduplicate([event], store=store, publisher=FakePublisher())
    return out


def corrected(event: RecordValidated, **changes: Any) -> RecordValidated:
    """The record's version 2, with ``changes`` to its record."""
    record = event.payload.record.model_copy(update=changes)
    payload = event.payload.model_copy(update={"record": record})
    return event.model_copy(
        update={"record_version": 2, "event_id": uuid.uuid4(), "payload": payload}
    )


async def test_a_corrected_keying_takes_its_content_away_from_the_record() -> None:
    # Another death keyed with the entry's number by mistake: rejected as its exact
    # duplicate, its content kept beside the entry. Corrected (its own entry number),
    # it is its own record again, not a suspect of the entry it was mistaken for.
    entry = death_at("25456", "Nguyễn Ngọc Nhân", book_number="01/1978")
    mistaken = death_at("25456", "Trần Văn Bình", book_number="01/1978")
    store = InMemoryDedupStore()
    out = await one_by_one(store, entry, mistaken)
    assert out[1].payload.status == RecordStatus.REJECTED
    assert store.record_states[mistaken.record_id].keying_of == entry.record_id
    [fixed] = await one_by_one(store, corrected(mistaken, entry_number="99"))
    assert fixed.payload.status == RecordStatus.ACCEPTED
    # and a copy of the corrected death elsewhere is held against it, not the entry
    copy = death_at("25582", "Trần Văn Bình", book_number="1/1980", entry_number="3")
    [held] = await one_by_one(store, copy)
    assert [c.record_id for c in held.payload.candidates] == [mistaken.record_id]


async def test_a_pair_held_through_a_keying_is_not_named_linked() -> None:
    # The copy was held against the record through the entry's keying: compared and
    # matched. A later death matching both names no pair.
    entry, again, copy = keyed_again_before_its_copy()
    store = InMemoryDedupStore()
    out = await one_by_one(store, again, entry, copy)
    assert out[2].payload.status == RecordStatus.DUPLICATE_SUSPECTED
    later = death_at("25456", "Nguyễn Ngọc Nhân", book_number="02/1978", entry_number="8")
    [held] = await one_by_one(store, later)
    assert {c.record_id for c in held.payload.candidates} >= {again.record_id, copy.record_id}
    [decision] = [
        d
        for d in await store.list_suspects(units=None, state=None, limit=10, after=None)
        if d.record_id == later.record_id
    ]
    assert decision.linked == ()


async def test_a_rejection_naming_a_pair_shows_the_record_it_keys_again_first() -> None:
    original, copy, again = keyed_twice_with_another_slip()
    store = InMemoryDedupStore()
    await one_by_one(store, again, original, copy)
    [listed] = await store.list_suspects(
        units=None, state=ReviewState.OPEN, limit=10, after=None, linked=True
    )
    assert [c.record_id for c in listed.candidates] == [again.record_id, original.record_id]
    assert set(listed.units) == {again.unit_code, original.unit_code}


async def test_a_rejection_naming_a_pair_is_superseded_by_its_records_new_version() -> None:
    original, copy, again = keyed_twice_with_another_slip()
    store = InMemoryDedupStore()
    await one_by_one(store, again, original, copy)
    await one_by_one(store, corrected(copy, entry_number="77"))
    listed = await store.list_suspects(
        units=None, state=ReviewState.OPEN, limit=10, after=None, linked=True
    )
    assert (copy.record_id, 1) not in {(d.record_id, d.version) for d in listed}
    superseded = await store.list_suspects(
        units=None, state=ReviewState.SUPERSEDED, limit=10, after=None, linked=True
    )
    assert [(d.record_id, d.version) for d in superseded] == [(copy.record_id, 1)]
