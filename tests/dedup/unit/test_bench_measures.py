"""The measures the dedup bench scripts report: their figures rest on these.

``bench/dedup_quality.py`` scores dedup's outcomes against the generator's truth
(``evaluate``: precision and recall; ``evaluate_linked``: how many linked pairs are one
event). ``bench/dedup_order.py`` replays a duplicate group in other orders
(``outcomes``) and says whether its two accepted records are named linked
(``Outcome.flagged``). The scripts are not a package: loaded from their files.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from hotich_contracts.events import RecordDeduplicated, RecordStatus, RecordValidated
from hotich_dedup.adapters.memory import InMemoryDedupStore
from hotich_dedup.domain.model import Decision
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.ports import FakePublisher
from tests.dedup.builders import birth_at, copies_too_far_apart, other_child, validated

BENCH = Path(__file__).resolve().parents[3] / "bench"


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


quality = _script("dedup_quality")
order = _script("dedup_order")


def _truth(
    event: RecordValidated, *, duplicate_of: str | None = None, kind: str | None = None
) -> dict[str, Any]:
    return {
        "id": event.record_id,
        "duplicate_of": duplicate_of,
        "duplicate_kind": kind,
        "noise": ["typo"] if kind == "probable" else [],
        "record_type": "birth",
    }


async def _dedup(*events: RecordValidated) -> tuple[list[RecordDeduplicated], list[Decision]]:
    """Outcomes one at a time, and the suspects naming linked candidates."""
    store = InMemoryDedupStore()
    out: list[RecordDeduplicated] = []
    for event in events:
        out += await deduplicate([event], store=store, publisher=FakePublisher())
    linked = await store.list_suspects(units=None, state=None, limit=10, after=None, linked=True)
    return out, linked


async def test_a_linked_pair_of_one_event_counts_as_one_and_namesakes_do_not() -> None:
    first, second, entry = copies_too_far_apart()
    _, linked = await _dedup(first, second, entry)
    one_event = [
        _truth(entry),
        _truth(first, duplicate_of=entry.record_id, kind="probable"),
        _truth(second, duplicate_of=entry.record_id, kind="probable"),
    ]
    assert quality.evaluate_linked(one_event, linked) == {
        "suspects_naming_linked": 1,
        "pairs": 1,
        "pairs_one_event": 1,
    }
    # The truth says the two copies are other events (nobody's duplicates): the pair
    # named is not one event.
    apart = [_truth(entry), _truth(first), _truth(second)]
    assert quality.evaluate_linked(apart, linked)["pairs_one_event"] == 0


async def test_precision_and_recall_count_suspects_by_the_truths_clusters() -> None:
    first, second, entry = copies_too_far_apart()
    stranger = validated(other_child(book_number="09/2011"), unit_code="25462")
    out, _ = await _dedup(entry, first, second, stranger)
    assert [o.payload.status for o in out] == [
        RecordStatus.ACCEPTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.DUPLICATE_SUSPECTED,
        RecordStatus.ACCEPTED,
    ]
    outcomes = {o.record_id: o for o in out}
    truths = [
        _truth(entry),
        _truth(first, duplicate_of=entry.record_id, kind="probable"),
        # The truth calls the second copy a namesake: its suspicion is a false alarm.
        _truth(second),
        # And the stranger a duplicate dedup did not find.
        _truth(stranger, duplicate_of=entry.record_id, kind="probable"),
    ]
    figures = quality.evaluate(truths, outcomes)
    assert {k: figures["probable"][k] for k in ("tp", "fp", "fn")} == {"tp": 1, "fp": 1, "fn": 1}
    assert figures["probable"]["precision"] == figures["probable"]["recall"] == 0.5
    assert figures["probable_recall_by_variant"] == {"typo": 0.5}
    assert figures["exact"] == {
        "tp": 0,
        "fp": 0,
        "fn": 0,
        "precision": 1.0,
        "recall": 1.0,
        "f1": 1.0,
    }


async def test_an_exact_re_keying_is_a_true_positive_only_of_its_own_cluster() -> None:
    entry = birth_at("25462")
    again = birth_at("25462")  # the same register entry keyed again
    out, _ = await _dedup(entry, again)
    assert out[1].payload.status == RecordStatus.REJECTED
    outcomes = {o.record_id: o for o in out}
    own = [_truth(entry), _truth(again, duplicate_of=entry.record_id, kind="exact")]
    assert quality.evaluate(own, outcomes)["exact"]["tp"] == 1
    other = [_truth(entry), _truth(again)]
    assert quality.evaluate(other, outcomes)["exact"]["fp"] == 1


async def test_an_order_accepting_both_copies_is_flagged_when_they_are_named_linked() -> None:
    first, second, entry = copies_too_far_apart()
    copies_first = await order.outcomes([first, second, entry], one_by_one=True)
    assert copies_first.counts == {"accepted": 2, "duplicate_suspected": 1}
    assert sorted(copies_first.accepted) == sorted((first.record_id, second.record_id))
    assert copies_first.flagged
    entry_first = await order.outcomes([entry, first, second], one_by_one=True)
    assert entry_first.counts == {"accepted": 1, "duplicate_suspected": 2}
    assert not entry_first.flagged
    # Two accepted records nobody named linked are not flagged.
    unnamed = order.Outcome(copies_first.counts, copies_first.accepted, set())
    assert not unnamed.flagged
