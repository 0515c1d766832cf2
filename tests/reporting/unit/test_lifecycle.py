"""The per-record fold and the counters derived from it."""

from __future__ import annotations

import itertools
from random import Random

import pytest

from hotich_reporting.adapters.memory import MemoryProjection
from hotich_reporting.domain.lifecycle import (
    EventView,
    RecordFacts,
    contributions,
    fold,
    merge,
    plan_changes,
    totals,
)

FACTS = RecordFacts("birth", "25459|birth|1/2010", "000000015")


def view(
    event_type: str,
    status: str,
    *,
    version: int = 1,
    at: str = "2020-01-01T00:00:00.000000+00:00",
    record_id: str = "r1",
    phase: str | None = "1",
    reasons: tuple[str, ...] = (),
    late: bool = False,
    not_enterable: bool = False,
    facts: RecordFacts | None = FACTS,
    event_id: str | None = None,
) -> EventView:
    return EventView(
        event_id=event_id or f"{record_id}:{version}:{event_type}:{status}:{at}",
        event_type=event_type,
        occurred_at=at,
        record_id=record_id,
        version=version,
        unit_code="25459",
        status=status,
        phase=None if event_type == "record.entered" else phase,
        late=late,
        not_enterable=not_enterable,
        reasons=reasons,
        facts=None if event_type == "record.exported" else facts,
    )


LIFE = [
    view("record.entered", "received"),
    view("record.validated", "valid", late=True),
    view("record.deduplicated", "duplicate_suspected"),
    view("record.deduplicated", "accepted", at="2020-01-02T00:00:00.000000+00:00"),
    view("record.exported", "exported"),
]


def test_the_fold_does_not_depend_on_order_or_repeats() -> None:
    states = {fold(order) for order in itertools.permutations(LIFE)}
    assert len(states) == 1
    state = states.pop()
    assert state is not None
    assert (state.status, state.bucket, state.late) == ("exported", "1", True)
    repeated = fold([*LIFE, *reversed(LIFE), LIFE[2]])
    assert repeated == state


def test_a_new_version_starts_over_and_old_events_change_nothing() -> None:
    rejected = fold(
        [
            view("record.entered", "received"),
            view("record.validated", "rejected", reasons=("wrong_entering_unit",), late=True),
        ]
    )
    corrected = merge(rejected, view("record.entered", "received", version=2))
    assert corrected.status == "received"
    assert corrected.bucket == "pending"
    assert not corrected.late
    # a late-arriving event of version 1 does not bring the old status back
    again = merge(corrected, view("record.deduplicated", "accepted", version=1))
    assert again.status == "received"
    done = fold(
        [
            view("record.validated", "valid", version=2),
            view("record.exported", "exported", version=2),
        ],
        again,
    )
    assert done is not None
    assert done.status == "exported"


def test_contributions_count_the_record_once_in_its_status() -> None:
    state = fold(LIFE)
    assert state is not None
    c = contributions(state)
    assert c.cell == ("1", "25459", "birth")
    assert set(c.metrics) == {"entered", "s_exported", "valid", "accepted", "exported", "late"}
    assert c.slot == ("25459|birth|1/2010", "000000015")
    assert c.member == ("1", "25459")

    torn = fold(
        [
            view("record.entered", "received"),
            view("record.validated", "rejected", reasons=("not_enterable",), not_enterable=True),
        ]
    )
    assert torn is not None
    c = contributions(torn)
    assert {"rejected", "r_not_enterable", "not_enterable"} <= set(c.metrics)
    assert "valid" not in c.metrics
    assert c.slot is not None  # a torn entry is settled: nothing left to key
    assert c.member is None

    duplicate = fold(
        [
            view("record.validated", "valid"),
            view("record.deduplicated", "rejected", reasons=("duplicate_exact",)),
        ]
    )
    assert duplicate is not None
    c = contributions(duplicate)
    assert {"valid", "rejected", "duplicate_confirmed", "r_duplicate_exact"} <= set(c.metrics)
    assert c.slot is None  # the original accounts for the entry

    wrong_unit = fold([view("record.validated", "rejected", reasons=("wrong_entering_unit",))])
    assert wrong_unit is not None
    assert contributions(wrong_unit).slot is None  # must be keyed again, by the right unit


def test_exported_before_anything_else_counts_as_unknown_type_until_the_record_arrives() -> None:
    first = fold([view("record.exported", "exported")])
    assert first is not None
    assert contributions(first).cell == ("1", "25459", "unknown")
    later = merge(first, view("record.entered", "received"))
    assert later.status == "exported"
    assert contributions(later).cell == ("1", "25459", "birth")


def _random_events(seed: int) -> list[EventView]:
    rng = Random(seed)
    events: list[EventView] = []
    for n in range(60):
        rid = f"r{n}"
        facts = RecordFacts("death", f"25459|death|{n % 4}/2001", str(n % 7).zfill(9))
        events.append(view("record.entered", "received", record_id=rid, facts=facts))
        outcome = rng.random()
        if outcome < 0.2:
            events.append(
                view(
                    "record.validated",
                    "rejected",
                    record_id=rid,
                    reasons=("out_of_scope_date",),
                    phase=None,
                    facts=facts,
                )
            )
        elif outcome < 0.3:
            events.append(
                view(
                    "record.validated",
                    "rejected",
                    record_id=rid,
                    reasons=("wrong_entering_unit",),
                    facts=facts,
                )
            )
            events.append(view("record.entered", "received", record_id=rid, version=2, facts=facts))
            events.append(
                view("record.validated", "valid", record_id=rid, version=2, phase="2", facts=facts)
            )
        else:
            events.append(
                view(
                    "record.validated",
                    "valid",
                    record_id=rid,
                    phase="2",
                    late=outcome > 0.9,
                    facts=facts,
                )
            )
            events.append(
                view("record.deduplicated", "accepted", record_id=rid, phase="2", facts=facts)
            )
            if outcome < 0.8:
                events.append(view("record.exported", "exported", record_id=rid, phase="2"))
    return events


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_incremental_counters_equal_counters_of_the_final_states(seed: int) -> None:
    events = _random_events(seed)
    rng = Random(seed)
    shuffled = events + rng.sample(events, len(events) // 3)  # redelivered copies
    rng.shuffle(shuffled)
    live = MemoryProjection()
    for start in range(0, len(shuffled), 17):
        await live.apply(shuffled[start : start + 17])
    by_record: dict[str, list[EventView]] = {}
    for event in events:
        by_record.setdefault(event.record_id, []).append(event)
    states = [s for s in (fold(v) for v in by_record.values()) if s is not None]
    rebuilt = MemoryProjection()
    await rebuilt.load(states)
    assert (await live.dump()).differences(await rebuilt.dump()) == []
    result = totals(states)
    assert sum(c["entered"] for c in result.cells.values()) == 60


def test_plan_changes_reports_nothing_for_a_repeat() -> None:
    state = fold(LIFE)
    assert state is not None
    changes = plan_changes({"r1": state}, LIFE)
    assert not changes.states
    assert not changes.cells
