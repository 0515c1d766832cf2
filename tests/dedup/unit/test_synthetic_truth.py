"""Dedup agrees with the synthetic generator's ground truth, record by record.

The generator's items go through the real validator, then through dedup's use case on
the in-memory store, in batches, as the end-to-end benchmark sends them (its
``generation_config``: seed 2547, 6,000 items, no province-level books, no
wrong-entering-unit noise). In stream order every outcome is the truth's. Records are
keyed by id over several partitions in production, so dedup sees them in another
order, and a duplicate pair may arrive either way round: shuffled, which record of a
pair is flagged changes, but not how many, nor which pairs.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Sequence

import pytest

from hotich_contracts import topics
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordStatus,
    RecordValidated,
)
from hotich_contracts.plan import load_plan
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import default_registry
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_local.synth import GenerationConfig, Item, NoiseRates, generate
from hotich_local.synth.events import entered_event
from hotich_local.synth.model import Truth
from hotich_runtime.ports import FakePublisher
from hotich_validation.service_layer.handlers import Validator

BENCH_CONFIG = GenerationConfig(
    seed=2547, total=6_000, province_level=0, rates=NoiseRates(wrong_entering_unit=0)
)
"""What ``hotich_local.bench.generation_config(6000, 2547)`` gives (kept apart here)."""

BATCH = 250
SHUFFLE_SEEDS = (1, 2, 3)

EXPECTED = {
    "accepted": RecordStatus.ACCEPTED,
    "duplicate_suspected": RecordStatus.DUPLICATE_SUSPECTED,
    "rejected": RecordStatus.REJECTED,  # only exact duplicates of valid records get here
}


class Stream:
    """The generated items, their truths, and what validation lets through to dedup."""

    def __init__(self, items: Iterable[Item]) -> None:
        validator = Validator(plan=load_plan(), registry=default_registry())
        self.truth: dict[str, Truth] = {}
        self.valid: list[RecordValidated] = []
        for item in items:
            truth = item["truth"]
            self.truth[truth["id"]] = truth
            if truth["malformed"]:
                continue  # refused at intake
            entered = entered_event(item, actor="clerk")
            outcome = validator.validate(entered)
            # An exact copy of a valid record is valid: catching it is dedup's business.
            expected_valid = not [c for c in truth["reasons"] if c != ReasonCode.DUPLICATE_EXACT]
            assert (outcome.payload.status == RecordStatus.VALID) == expected_valid, truth
            if expected_valid:
                self.valid.append(outcome)
        self.cluster = _clusters(self.truth.values())

    @property
    def ids(self) -> set[str]:
        """Ids of the records dedup sees."""
        return {e.record_id for e in self.valid}

    def expected(self, record_id: str) -> RecordStatus:
        return EXPECTED[self.truth[record_id]["final_status"]]


def _clusters(truths: Iterable[Truth]) -> dict[str, str]:
    """Each record's cluster (its original's id): records linked by ``duplicate_of``."""
    parent: dict[str, str] = {}

    def root(rid: str) -> str:
        while parent.get(rid, rid) != rid:
            rid = parent[rid]
        return rid

    for truth in truths:
        if truth["duplicate_of"] is not None:
            parent[root(truth["id"])] = root(truth["duplicate_of"])
    return {rid: root(rid) for rid in parent} | {
        t["id"]: root(t["id"]) for t in truths if t["id"] not in parent
    }


async def _deduplicate(events: Sequence[RecordValidated]) -> dict[str, RecordDeduplicated]:
    store, publisher = InMemoryDedupStore(), FakePublisher()
    returned: list[RecordDeduplicated] = []
    for start in range(0, len(events), BATCH):
        returned += await deduplicate(
            events[start : start + BATCH], store=store, publisher=publisher
        )
    published = publisher.events(topics.RECORD_DEDUPLICATED)
    assert published == returned
    outcomes = {o.record_id: o for o in returned}
    assert len(outcomes) == len(events)
    return outcomes


@pytest.fixture(scope="module")
def stream() -> Stream:
    return Stream(generate(BENCH_CONFIG))


def test_the_stream_holds_what_the_benchmark_counts(stream: Stream) -> None:
    finals = Counter(t["final_status"] for t in stream.truth.values())
    assert sum(finals.values()) == BENCH_CONFIG.total
    assert finals["accepted"] > 5_000
    assert finals["duplicate_suspected"] > 20
    kinds = Counter(t["duplicate_kind"] for t in stream.truth.values() if t["id"] in stream.ids)
    assert kinds["probable"] == finals["duplicate_suspected"]
    assert kinds["exact"] > 20


async def test_in_stream_order_every_outcome_is_the_truths(stream: Stream) -> None:
    outcomes = await _deduplicate(stream.valid)
    wrong = {
        rid: (stream.truth[rid]["final_status"], o.payload.status.value, stream.truth[rid])
        for rid, o in outcomes.items()
        if o.payload.status != stream.expected(rid)
    }
    assert not wrong
    for rid, outcome in outcomes.items():
        truth = stream.truth[rid]
        if outcome.payload.status == RecordStatus.DUPLICATE_SUSPECTED:
            assert truth["duplicate_of"] in {c.record_id for c in outcome.payload.candidates}
        elif outcome.payload.status == RecordStatus.REJECTED:
            [reason] = outcome.payload.reasons
            assert reason.code == ReasonCode.DUPLICATE_EXACT
            assert reason.related_record_id == truth["duplicate_of"]
        else:
            assert not outcome.payload.candidates
            assert not outcome.payload.reasons


@pytest.mark.parametrize("seed", SHUFFLE_SEEDS)
async def test_in_any_order_the_counts_and_pairs_are_the_truths(stream: Stream, seed: int) -> None:
    events = list(stream.valid)
    random.Random(seed).shuffle(events)
    outcomes = await _deduplicate(events)
    statuses = Counter(o.payload.status for o in outcomes.values())
    assert statuses == Counter(stream.expected(rid) for rid in outcomes)
    # Per cluster (an original and its duplicates): as many rejected and as many
    # suspected as the truth says, whichever member arrived first.
    got: dict[str, Counter[RecordStatus]] = {}
    expected: dict[str, Counter[RecordStatus]] = {}
    for rid, outcome in outcomes.items():
        cluster = stream.cluster[rid]
        got.setdefault(cluster, Counter())[outcome.payload.status] += 1
        expected.setdefault(cluster, Counter())[stream.expected(rid)] += 1
    assert got == expected
    # Nothing is flagged or rejected against a record of another event.
    for rid, outcome in outcomes.items():
        related = {c.record_id for c in outcome.payload.candidates} | {
            r.related_record_id for r in outcome.payload.reasons
        }
        assert all(stream.cluster[other] == stream.cluster[rid] for other in related if other)
