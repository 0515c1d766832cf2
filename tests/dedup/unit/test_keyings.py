"""Other keyings of one register entry: how they count in dedup's decisions.

A record rejected as an exact duplicate (the same register entry keyed again) keeps its
profile beside the record's (``MatchProfile.as_keying_of``). What the stores keep, drop
and list is tested on the fake and on MongoDB in tests/dedup/integration/test_store.py;
these are the decisions around it.
"""

from hotich_contracts.events import RecordStatus
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.domain.model import ReviewState
from tests.dedup.builders import (
    corrected,
    death_at,
    keyed_again_before_its_copy,
    keyed_twice_with_another_slip,
    one_by_one,
    statuses,
)


async def test_a_corrected_keying_is_its_own_record_again() -> None:
    # Another death keyed with the entry's number by mistake: rejected as its exact
    # duplicate, its content kept beside the entry. Corrected (its own entry number),
    # it is accepted, and a copy of it elsewhere is held against it, not the entry.
    entry = death_at("25456", "Nguyễn Ngọc Nhân", book_number="01/1978")
    mistaken = death_at("25456", "Trần Văn Bình", book_number="01/1978")
    copy = death_at("25582", "Trần Văn Bình", book_number="1/1980", entry_number="3")
    store = InMemoryDedupStore()
    out = await one_by_one(store, entry, mistaken, corrected(mistaken, entry_number="99"), copy)
    assert statuses(out) == [
        RecordStatus.ACCEPTED,
        RecordStatus.REJECTED,
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
    ]
    assert [c.record_id for c in out[3].payload.candidates] == [mistaken.record_id]


async def test_a_pair_held_through_a_keying_is_not_named_linked() -> None:
    # The copy was held against the record through the entry's keying: compared and
    # matched. A later death matching both names no pair.
    entry, again, copy = keyed_again_before_its_copy()
    later = death_at("25456", "Nguyễn Ngọc Nhân", book_number="02/1978", entry_number="8")
    store = InMemoryDedupStore()
    out = await one_by_one(store, again, entry, copy, later)
    assert statuses(out)[2:] == [RecordStatus.DUPLICATE_SUSPECTED] * 2
    assert {c.record_id for c in out[3].payload.candidates} >= {again.record_id, copy.record_id}
    suspects = await store.list_suspects(units=None, state=None, limit=10, after=None)
    assert {d.record_id: d.linked for d in suspects}[later.record_id] == ()


async def test_a_rejection_naming_a_pair_is_in_the_scope_of_the_record_it_keys_again() -> None:
    # The entry's second keying was entered by another unit (the district's copy of the
    # register): a reviewer of that unit sees the rejection naming its record.
    original, copy, again = keyed_twice_with_another_slip()
    by_another_unit = again.model_copy(update={"unit_code": "25585"})
    store = InMemoryDedupStore()
    await one_by_one(store, by_another_unit, original, copy)
    [listed] = await store.list_suspects(
        units=["25585"], state=ReviewState.OPEN, limit=10, after=None, linked=True
    )
    assert listed.record_id == copy.record_id
    assert set(listed.units) == {copy.unit_code, "25585", original.unit_code}
