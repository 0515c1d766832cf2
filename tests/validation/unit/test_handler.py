from datetime import UTC, datetime

from hotich_contracts import topics
from hotich_contracts.events import RecordStatus
from hotich_contracts.plan import load_plan
from hotich_contracts.records import RecordType
from hotich_contracts.units import default_registry
from hotich_runtime.ports import FakePublisher
from hotich_validation.service_layer.handlers import Validator, validate_batch
from tests.factories import entered, record

VALIDATOR = Validator(plan=load_plan(), registry=default_registry())


async def test_phase_1_birth_is_valid_and_repeat_has_the_same_event_id() -> None:
    event = entered(record(RecordType.BIRTH))
    pub = FakePublisher()
    await validate_batch([event, event], validator=VALIDATOR, publisher=pub)
    first, again = pub.events(topics.RECORD_VALIDATED)
    assert first.payload.status == RecordStatus.VALID
    assert first.payload.phase == 1
    assert first.event_id == again.event_id


def test_all_reasons_are_reported_at_once() -> None:
    # parentage recognition is out of every phase, and a district clerk may not enter
    # an event registered by a commune
    event = entered(record(RecordType.PARENTAGE_RECOGNITION), unit_code="703")
    outcome = VALIDATOR.validate(event)
    codes = {r.code for r in outcome.payload.reasons}
    assert outcome.payload.status == RecordStatus.REJECTED
    assert {"out_of_scope_type", "wrong_entering_unit"} <= codes
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
