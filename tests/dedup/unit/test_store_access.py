"""Dedup asks its store per batch, and only what can matter (the store is the bottleneck).

A fresh record has no state, so no decision is looked up for it; only pairs that score
as duplicates are looked up among the pairs reviewers marked distinct.
"""

from collections import Counter
from collections.abc import Mapping, Sequence

from hotich_contracts.events import RecordStatus
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.adapters.mongo_store import pack_groups
from hotich_dedup.domain.matching import pair_id
from hotich_dedup.domain.model import Decision
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import birth, validated


class CountingStore(InMemoryDedupStore):
    """The in-memory store, noting what the handler asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.asked_decisions: list[tuple[str, int]] = []
        self.asked_pairs: list[str] = []

    async def decisions(
        self, keys: Sequence[tuple[str, int]]
    ) -> Mapping[tuple[str, int], Decision]:
        self.calls["decisions"] += 1
        self.asked_decisions += keys
        return await super().decisions(keys)

    async def distinct_pairs(self, pair_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        self.calls["distinct_pairs"] += 1
        self.asked_pairs += pair_ids
        return await super().distinct_pairs(pair_ids)


def family(n: int) -> dict[str, str]:
    names = ("An", "Bình", "Cường", "Dũng", "Giang", "Hải", "Khánh", "Long")
    return {
        "child": f"Lê Văn {names[n]}",
        "mother": f"Võ Thị {names[n]}",
        "father": f"Lê Văn {names[-1 - n]}",
        "born": f"2009-0{1 + n}-1{n}",
    }


async def test_a_fresh_batch_looks_up_no_decision_and_only_matching_pairs() -> None:
    store = CountingStore()
    events = [validated(birth(entry_number=str(10 + n), **family(n))) for n in range(6)]
    # The same child registered again in another book: the one probable duplicate.
    again = validated(birth(entry_number="99", book_number="02/2010", **family(0)))
    out = await deduplicate([*events, again], store=store, publisher=FakePublisher())
    assert [o.payload.status for o in out].count(RecordStatus.DUPLICATE_SUSPECTED) == 1
    assert store.asked_decisions == []  # no record had a state yet
    assert store.asked_pairs == [pair_id(events[0].record_id, again.record_id)]

    # A redelivery: now every record has a state, so its decision is found and repeated.
    repeat = await deduplicate([*events, again], store=store, publisher=FakePublisher())
    assert [o.event_id for o in repeat] == [o.event_id for o in out]
    assert len(store.asked_decisions) == len(events) + 1
    assert store.calls["distinct_pairs"] == 1  # nothing decided afresh


def test_pack_groups_keeps_each_group_in_one_query() -> None:
    groups = [["a", "b", "c"], ["d", "e", "f"], ["b", "g"], ["i" + str(n) for n in range(12)]]
    assert pack_groups(groups, 5) == [
        ["a", "b", "c"],  # "d", "e", "f" would not fit: a query of their own
        ["d", "e", "f", "g"],  # "b" is placed already
        ["i0", "i1", "i2", "i3", "i4"],  # a group larger than a query is split
        ["i5", "i6", "i7", "i8", "i9"],
        ["i10", "i11"],
    ]
    assert pack_groups([], 10) == []
    assert pack_groups([["a"], ["a"]], 10) == [["a"]]
