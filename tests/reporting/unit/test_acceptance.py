"""Acceptance lots: reproducible samples, verdicts, decisions, rework and payment."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from hotich_contracts.units import default_registry
from hotich_reporting.adapters.memory import MemoryAcceptance, MemoryProjection
from hotich_reporting.domain import acceptance as rules
from hotich_reporting.domain.acceptance import LotError
from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.service_layer.acceptance import Acceptance
from hotich_reporting.service_layer.ports import ConflictError
from hotich_reporting.service_layer.queries import OutOfScope
from hotich_runtime.auth import Principal, Role

IDS = [f"rec-{n:04d}" for n in range(600)]
DEPARTMENT = Principal("so", "72", Role.DEPARTMENT_OFFICER)
CLERK = Principal("clerk", "25459", Role.CLERK)


def test_samples_are_reproducible_from_the_seed_and_independent_of_order() -> None:
    first = rules.draw_sample(IDS, 50, "seed-1")
    again = rules.draw_sample(list(reversed(IDS)), 50, "seed-1")
    other = rules.draw_sample(IDS, 50, "seed-2")
    assert first == again
    assert first != other
    assert len(set(first)) == 50
    assert set(first) <= set(IDS)


def test_a_lot_passes_with_at_most_ac_defectives() -> None:
    lot = rules.new_lot("1", "25459", IDS, aql="1.0", seed="s", at="t0", by="so")
    current = lot.current
    assert current is not None
    assert (current.plan.code_letter, current.plan.sample_size) == ("J", 80)
    assert (current.plan.acceptance_number, current.plan.rejection_number) == (2, 3)
    for index, record_id in enumerate(current.sample):
        assert lot.status == "inspecting"
        lot = rules.record_verdict(lot, record_id, "defective" if index < 2 else "correct", at="t1")
    assert lot.status == "passed"
    assert lot.passed_size == 600
    with pytest.raises(LotError):
        rules.record_verdict(lot, current.sample[0], "correct", at="t2")


def test_a_failed_lot_is_sampled_again_after_rework() -> None:
    lot = rules.new_lot("1", "25459", IDS, aql="1.0", seed="s", at="t0", by="so")
    assert lot.current is not None
    for index, record_id in enumerate(lot.current.sample):
        lot = rules.record_verdict(lot, record_id, "defective" if index < 3 else "correct", at="t1")
    assert lot.status == "failed"
    assert lot.passed_size == 0
    with pytest.raises(LotError, match="no round being inspected"):
        rules.record_verdict(lot, lot.rounds[0].sample[0], "correct", at="t1")
    reworked = rules.resample(lot, IDS[:590], at="t2", by="so")
    assert reworked.current is not None
    assert reworked.current.number == 2
    assert reworked.current.seed == "s:2"
    assert reworked.current.plan.lot_size == 590
    assert reworked.current.sample != lot.rounds[0].sample
    with pytest.raises(LotError, match="not in the sample"):
        rules.record_verdict(reworked, "someone-else", "correct", at="t2")
    with pytest.raises(LotError, match="only a failed lot"):
        rules.resample(reworked, IDS, at="t3", by="so")


def _accepted(record_id: str) -> list[EventView]:
    common = {
        "occurred_at": "2020-05-01T00:00:00.000000+00:00",
        "record_id": record_id,
        "version": 1,
        "unit_code": "25459",
        "phase": "1",
    }
    return [
        EventView(
            event_id=f"{record_id}-v", event_type="record.validated", status="valid", **common
        ),  # type: ignore[arg-type]
        EventView(
            event_id=f"{record_id}-d", event_type="record.deduplicated", status="accepted", **common
        ),  # type: ignore[arg-type]
    ]


async def test_acceptance_use_cases_over_the_projection() -> None:
    projection = MemoryProjection()
    await projection.apply([v for rid in IDS[:100] for v in _accepted(rid)])
    service = Acceptance(
        MemoryAcceptance(), projection, default_registry(), lambda: datetime(2020, 8, 1, tzinfo=UTC)
    )
    with pytest.raises(OutOfScope):
        await service.open_lot(CLERK, "1", "25459", aql="1.0", seed=None)
    lot = await service.open_lot(DEPARTMENT, "1", "25459", aql="2.5", seed="abc")
    assert lot.current is not None
    assert lot.current.plan.lot_size == 100
    assert lot.current.plan.sample_size == 20  # F, 2.5 -> 1/2
    with pytest.raises(LotError, match="exists"):
        await service.open_lot(DEPARTMENT, "1", "25459", aql="2.5", seed="abc")
    for record_id in lot.current.sample:
        lot = await service.record(DEPARTMENT, lot.id, record_id, "correct", "")
    assert lot.status == "passed"
    assert lot.revision == 21
    assert (await service.get(CLERK, lot.id)).status == "passed"  # the commune sees its lot
    with pytest.raises(OutOfScope):
        await service.get(Principal("other", "25489", Role.CLERK), lot.id)


async def test_a_stale_write_is_refused() -> None:
    store = MemoryAcceptance()
    lot = rules.new_lot("1", "25459", IDS, aql="1.0", seed="s", at="t0", by="so")
    await store.put(lot, None)
    with pytest.raises(ConflictError):
        await store.put(lot, None)
    stored = await store.get(lot.id)
    assert stored is not None
    await store.put(stored, stored.revision)
    with pytest.raises(ConflictError):
        await store.put(stored, stored.revision)
