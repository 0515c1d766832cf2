from datetime import UTC, datetime

import pytest

from hotich_contracts import topics
from hotich_contracts.envelope import derived_event_id
from hotich_contracts.events import RecordStatus, RecordValidated
from hotich_contracts.examples import example_details
from hotich_contracts.plan import load_plan
from hotich_contracts.reasons import Severity
from hotich_contracts.records import RecordType
from hotich_contracts.units import default_registry
from hotich_runtime.ports import FakePublisher
from hotich_validation.config import ValidationSettings
from hotich_validation.service_layer.handlers import Validator, validate_batch
from tests.factories import entered, record

VALIDATOR = Validator(plan=load_plan(), registry=default_registry())
IN_PHASE_1 = datetime(2020, 3, 1, 5, tzinfo=UTC)


async def test_phase_1_birth_is_valid_and_repeat_has_the_same_event_id() -> None:
    event = entered(record(RecordType.BIRTH))
    pub = FakePublisher()
    await validate_batch([event, event], validator=VALIDATOR, publisher=pub)
    first, again = pub.events(topics.RECORD_VALIDATED)
    assert isinstance(first, RecordValidated)
    assert first.payload.status == RecordStatus.VALID
    assert first.payload.phase == 1
    assert first.event_id == again.event_id == derived_event_id(event.event_id, "validated")


def test_the_outcome_carries_when_the_record_was_entered() -> None:
    # Whenever validation gets to it (a re-validation years later included), the outcome
    # says when the record version was entered: the status view reads by it.
    event = entered(record(RecordType.BIRTH)).model_copy(update={"occurred_at": IN_PHASE_1})
    first = VALIDATOR.validate(event)
    later = VALIDATOR.validate(event, at=datetime(2026, 1, 1, tzinfo=UTC))
    assert first.entered_at == later.entered_at == IN_PHASE_1
    assert RecordValidated.model_validate_json(later.model_dump_json()).entered_at == IN_PHASE_1


def test_all_reasons_are_reported_at_once() -> None:
    # parentage recognition is out of every phase, and a district clerk may not enter
    # an event registered by a commune
    event = entered(record(RecordType.PARENTAGE_RECOGNITION), unit_code="703")
    outcome = VALIDATOR.validate(event.model_copy(update={"occurred_at": IN_PHASE_1}))
    found = {(r.code, r.field) for r in outcome.payload.reasons}
    assert outcome.payload.status == RecordStatus.REJECTED
    assert {
        ("out_of_scope_type", "record_type"),
        ("wrong_entering_unit", "registering_authority_code"),
    } <= found
    assert all(r.message_vi and r.message_en for r in outcome.payload.reasons)


def test_every_rule_speaks_in_one_outcome_errors_and_warnings_apart() -> None:
    data = example_details(RecordType.BIRTH)
    data.pop("birth_kind")
    data["child"]["date_of_birth"] = "2012-06-01"  # after the registration
    # Born 1985; the number says 1986: an error for a declared CCCD.
    data["mother"].update(identity_document_type="cccd", identity_number="072186001234")
    # Born 1982; the number says 1983: a warning when the kind is not given.
    data["father"]["identity_number"] = "072083001234"
    rec = record(
        RecordType.BIRTH,
        registration_date="2012-05-05",  # after group A's cutoff
        details=data,
        unreadable_fields=["details.place_of_birth"],
    )
    event = entered(rec, unit_code="703").model_copy(update={"occurred_at": IN_PHASE_1})
    outcome = VALIDATOR.validate(event)
    assert outcome.payload.status == RecordStatus.REJECTED
    assert not outcome.payload.not_enterable
    assert [(r.code, r.field) for r in outcome.payload.reasons] == [
        ("out_of_scope_date", "registration_date"),
        ("wrong_entering_unit", "registering_authority_code"),
        ("missing_mandatory_field", "details.birth_kind"),
        ("inconsistent_dates", "details.child.date_of_birth"),
        ("invalid_identity_number", "details.mother.identity_number"),
    ]
    assert all(r.severity is Severity.ERROR for r in outcome.payload.reasons)
    assert [(w.code, w.field, w.severity) for w in outcome.payload.warnings] == [
        ("unreadable_field", "details.place_of_birth", Severity.WARNING),
        ("invalid_identity_number", "details.father.identity_number", Severity.WARNING),
    ]
    assert all(r.message_vi and r.message_en for r in outcome.payload.reasons)


def test_entry_after_the_window_is_valid_but_flagged_late() -> None:
    event = entered(record(RecordType.BIRTH)).model_copy(
        update={"occurred_at": datetime(2024, 1, 1, tzinfo=UTC)}
    )
    outcome = VALIDATOR.validate(event)
    assert outcome.payload.status == RecordStatus.VALID
    assert outcome.payload.late
    assert [w.code for w in outcome.payload.warnings] == ["late_entry"]


def test_unreadable_mandatory_field_is_not_enterable() -> None:
    rec = record(RecordType.BIRTH, unreadable_fields=["book_number"], book_number="")
    outcome = VALIDATOR.validate(entered(rec))
    assert outcome.payload.status == RecordStatus.REJECTED
    assert outcome.payload.not_enterable
    assert outcome.payload.reasons[0].code == "not_enterable"


def test_validate_is_a_function_of_its_inputs() -> None:
    event = entered(record(RecordType.DEATH)).model_copy(update={"occurred_at": IN_PHASE_1})
    first = VALIDATOR.validate(event)
    again = Validator(plan=load_plan(), registry=default_registry()).validate(event)
    assert first == again
    assert first.occurred_at == event.occurred_at
    stamped = VALIDATOR.validate(event, at=datetime(2030, 1, 1, tzinfo=UTC))
    assert stamped.occurred_at == datetime(2030, 1, 1, tzinfo=UTC)
    assert stamped.event_id == first.event_id


def test_outcomes_survive_the_wire() -> None:
    rec = record(RecordType.BIRTH, unreadable_fields=["details.place_of_birth"])
    outcome = VALIDATOR.validate(entered(rec))
    assert RecordValidated.model_validate_json(outcome.model_dump_json()) == outcome


async def test_outcomes_go_to_the_configured_topic() -> None:
    pub = FakePublisher()
    [outcome] = await validate_batch(
        [entered(record(RecordType.BIRTH))], validator=VALIDATOR, publisher=pub, topic="t.valid"
    )
    assert pub.events("t.valid") == [outcome]
    assert pub.events(topics.RECORD_VALIDATED) == []


def test_the_topics_are_settings_defaulting_to_the_contract(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    default = ValidationSettings()
    assert (default.source_topic, default.validated_topic) == (
        topics.RECORD_ENTERED,
        topics.RECORD_VALIDATED,
    )
    monkeypatch.setenv("HOTICH_VALIDATION_SOURCE_TOPIC", "t.in")
    monkeypatch.setenv("HOTICH_VALIDATION_VALIDATED_TOPIC", "t.out")
    moved = ValidationSettings()
    assert (moved.source_topic, moved.validated_topic) == ("t.in", "t.out")
