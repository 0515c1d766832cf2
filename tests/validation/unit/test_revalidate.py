"""Re-validation after a plan change: new outcomes, with event ids of their own."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import RecordEntered, RecordStatus
from hotich_contracts.plan import load_plan
from hotich_contracts.records import RecordType
from hotich_contracts.units import default_registry
from hotich_validation.domain.consistency import ConsistencyRules
from hotich_validation.service_layer.handlers import (
    STAGE,
    Validator,
    revalidate,
    revalidation_stage,
)
from tests.factories import entered, record

OTHER_PLAN = Path(__file__).parents[2] / "contracts" / "data" / "plan_test_single_group.yaml"
ENTERED_AT = datetime(2022, 3, 1, 3, tzinfo=UTC)  # phase 1 of the test plan

TAY_NINH = Validator(plan=load_plan(), registry=default_registry())
OTHER = Validator(plan=load_plan(OTHER_PLAN), registry=default_registry())


def events() -> list[RecordEntered]:
    # The birth, registered 15/03/2010: phase 1 in Tây Ninh, after the test plan's 2009
    # cutoff. Parentage recognition: in no phase of Tây Ninh's plan, phase 1 of the other.
    parentage = record(RecordType.PARENTAGE_RECOGNITION, registration_date="2005-03-15")
    return [
        entered(rec).model_copy(update={"occurred_at": ENTERED_AT})
        for rec in (parentage, record(RecordType.BIRTH))
    ]


def test_new_plan_new_outcomes_new_ids() -> None:
    entered_events = events()
    first = [TAY_NINH.validate(e) for e in entered_events]
    again = revalidate(entered_events, OTHER)
    assert [o.payload.phase for o in first] == [None, 1]
    assert [o.payload.status for o in first] == [RecordStatus.REJECTED, RecordStatus.VALID]
    # Parentage recognition is phase 1 in the test plan; the birth is after its cutoff.
    assert [o.payload.phase for o in again] == [1, None]
    assert [o.payload.status for o in again] == [RecordStatus.VALID, RecordStatus.REJECTED]
    assert [r.code for r in again[1].payload.reasons] == ["out_of_scope_date"]
    for before, after, cause in zip(first, again, entered_events, strict=True):
        assert after.event_id != before.event_id
        assert after.event_id == derived_event_id(cause.event_id, f"{STAGE}:{OTHER.fingerprint()}")
        assert (after.record_id, after.record_version) == (cause.record_id, cause.record_version)
        assert after.correlation_id == cause.correlation_id


def test_same_rules_same_ids_other_rules_other_ids() -> None:
    entered_events = events()
    ids = [o.event_id for o in revalidate(entered_events, OTHER)]
    assert ids == [o.event_id for o in revalidate(entered_events, OTHER)]
    same_plan_revalidated = [o.event_id for o in revalidate(entered_events, TAY_NINH)]
    first = [TAY_NINH.validate(e).event_id for e in entered_events]
    assert not set(same_plan_revalidated) & set(first)
    assert not set(same_plan_revalidated) & set(ids)
    labelled = [o.event_id for o in revalidate(entered_events, OTHER, label="2022-03-02")]
    assert not set(labelled) & set(ids)


def test_fingerprint_covers_every_input_of_the_rules() -> None:
    assert TAY_NINH.fingerprint() == Validator(load_plan(), default_registry()).fingerprint()
    assert OTHER.fingerprint() != TAY_NINH.fingerprint()
    stricter = Validator(
        plan=load_plan(),
        registry=default_registry(),
        rules=ConsistencyRules(impossible_marriage_age=16),
    )
    assert stricter.fingerprint() != TAY_NINH.fingerprint()
    assert revalidation_stage(OTHER) == f"validated:{OTHER.fingerprint()}"
    assert revalidation_stage(OTHER, "x") == f"validated:{OTHER.fingerprint()}:x"


def test_plan_fingerprint_follows_rules_not_layout(tmp_path: Path) -> None:
    plan = load_plan()
    assert plan.fingerprint() == load_plan().fingerprint()
    text = OTHER_PLAN.read_text(encoding="utf-8")
    copy = tmp_path / "copy.yaml"
    copy.write_text("# another comment\n" + text, encoding="utf-8")
    assert load_plan(copy).fingerprint() == load_plan(OTHER_PLAN).fingerprint()
    changed = tmp_path / "changed.yaml"
    changed.write_text(text.replace("2009-12-31", "2010-12-31"), encoding="utf-8")
    assert load_plan(changed).fingerprint() != load_plan(OTHER_PLAN).fingerprint()
    switched = plan.model_copy(update={"group_cutoff_applies_to_all_phases": False})
    assert switched.fingerprint() != plan.fingerprint()


def test_outcome_time_is_given_or_the_entry() -> None:
    entered_events = events()
    at = datetime(2030, 1, 1, tzinfo=UTC)
    assert all(o.occurred_at == at for o in revalidate(entered_events, OTHER, at=at))
    assert [o.occurred_at for o in revalidate(entered_events, OTHER)] == [
        e.occurred_at for e in entered_events
    ]
