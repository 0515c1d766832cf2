"""Principle 3 applied: missing (clerk's error), not enterable (torn register), optional unreadable."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from hotich_contracts.events import RecordStatus, RecordValidated
from hotich_contracts.examples import example_details
from hotich_contracts.mandatory import load_mandatory_fields, parse_mandatory_fields
from hotich_contracts.plan import load_plan
from hotich_contracts.reasons import ReasonCode, Severity
from hotich_contracts.records import RecordType
from hotich_contracts.units import default_registry
from hotich_validation.domain.mandatory import MandatoryFieldCheck
from hotich_validation.service_layer.handlers import Validator
from tests.factories import entered, record

CHECK = MandatoryFieldCheck(load_mandatory_fields())
VALIDATOR = Validator(plan=load_plan(), registry=default_registry())
IN_PHASE_1 = datetime(2020, 3, 1, 5, tzinfo=UTC)


def details(record_type: RecordType, **changes: Any) -> dict[str, Any]:
    data = example_details(record_type)
    for dotted, value in changes.items():
        target = data
        *parents, last = dotted.split("__")
        for part in parents:
            target = target[part]
        if value is None:
            target.pop(last, None)
        else:
            target[last] = value
    return data


def validate(rec: Any) -> RecordValidated:
    event = entered(rec).model_copy(update={"occurred_at": IN_PHASE_1})
    return VALIDATOR.validate(event)


def codes_and_fields(reasons: list[Any]) -> list[tuple[str, str | None]]:
    return [(str(r.code), r.field) for r in reasons]


def test_complete_examples_pass() -> None:
    for record_type in RecordType:
        assert CHECK.check(record(record_type)) == [], record_type


def test_each_missing_field_is_its_own_clerk_error() -> None:
    rec = record(
        RecordType.BIRTH,
        details=details(RecordType.BIRTH, child__date_of_birth=None, child__sex=None),
    )
    outcome = validate(rec)
    assert outcome.payload.status == RecordStatus.REJECTED
    assert not outcome.payload.not_enterable
    assert codes_and_fields(outcome.payload.reasons) == [
        ("missing_mandatory_field", "details.child.date_of_birth"),
        ("missing_mandatory_field", "details.child.sex"),
    ]
    reason = outcome.payload.reasons[0]
    assert "Thiếu trường bắt buộc" in reason.message_vi
    assert "ít nhất là năm sinh" in reason.message_vi
    assert "Mandatory field missing" in reason.message_en
    assert reason.severity is Severity.ERROR


def test_unreadable_mandatory_field_is_not_enterable_not_a_clerk_error() -> None:
    rec = record(
        RecordType.DEATH,
        details=details(RecordType.DEATH, date_of_death=None),
        unreadable_fields=["details.date_of_death"],
        register_condition="damaged",
    )
    outcome = validate(rec)
    assert outcome.payload.status == RecordStatus.REJECTED
    assert outcome.payload.not_enterable
    assert codes_and_fields(outcome.payload.reasons) == [("not_enterable", "details.date_of_death")]
    assert "nguyên tắc 3" in outcome.payload.reasons[0].message_vi
    assert "not as a clerk's error" in outcome.payload.reasons[0].message_en


def test_unreadable_book_number_is_not_enterable() -> None:
    rec = record(RecordType.BIRTH, unreadable_fields=["book_number"], book_number="")
    outcome = validate(rec)
    assert outcome.payload.not_enterable
    assert codes_and_fields(outcome.payload.reasons) == [("not_enterable", "book_number")]


def test_listed_unreadable_even_if_something_was_keyed() -> None:
    # The clerk guessed a date but says the register cannot be read there.
    rec = record(RecordType.DEATH, unreadable_fields=["details.date_of_death"])
    assert codes_and_fields(validate(rec).payload.reasons) == [
        ("not_enterable", "details.date_of_death")
    ]


def test_unreadable_parent_path_hides_every_mandatory_field_below_it() -> None:
    data = details(RecordType.BIRTH)
    data["child"] = {"full_name": ""}
    rec = record(RecordType.BIRTH, details=data, unreadable_fields=["details.child"])
    outcome = validate(rec)
    assert outcome.payload.not_enterable
    assert codes_and_fields(outcome.payload.reasons) == [
        ("not_enterable", "details.child.full_name"),
        ("not_enterable", "details.child.date_of_birth"),
        ("not_enterable", "details.child.sex"),
    ]
    assert outcome.payload.warnings == []


def test_unreadable_part_of_a_mandatory_object() -> None:
    rec = record(
        RecordType.SEX_REDETERMINATION,
        registration_date="2010-03-15",
        details=details(RecordType.SEX_REDETERMINATION, decision=None),
        unreadable_fields=["details.decision.number"],
    )
    assert codes_and_fields(CHECK.check(rec)) == [("not_enterable", "details.decision")]


def test_unreadable_optional_field_is_accepted_with_a_warning() -> None:
    rec = record(
        RecordType.BIRTH,
        details=details(RecordType.BIRTH, place_of_birth=None),
        unreadable_fields=["details.place_of_birth", "page"],
        register_condition="damaged",
    )
    outcome = validate(rec)
    assert outcome.payload.status == RecordStatus.VALID
    assert not outcome.payload.not_enterable
    assert outcome.payload.reasons == []
    warnings = outcome.payload.warnings
    assert codes_and_fields(warnings) == [
        ("unreadable_field", "details.place_of_birth"),
        ("unreadable_field", "page"),
    ]
    assert all(w.severity is Severity.WARNING for w in warnings)
    assert "không phải trường bắt buộc" in warnings[0].message_vi


def test_torn_and_missing_and_optional_together() -> None:
    rec = record(
        RecordType.MARRIAGE,
        details=details(RecordType.MARRIAGE, wife__date_of_birth=None, husband__full_name=""),
        unreadable_fields=["details.husband.full_name", "details.wife.place_of_residence"],
    )
    outcome = validate(rec)
    assert outcome.payload.not_enterable
    assert codes_and_fields(outcome.payload.reasons) == [
        ("not_enterable", "details.husband.full_name"),
        ("missing_mandatory_field", "details.wife.date_of_birth"),
    ]
    assert codes_and_fields(outcome.payload.warnings) == [
        ("unreadable_field", "details.wife.place_of_residence")
    ]


@pytest.mark.parametrize(
    ("birth_kind", "drop", "expected"),
    [
        ("both_parents_known", "mother", ["details.mother.full_name"]),
        ("both_parents_known", "father", ["details.father.full_name"]),
        ("father_unknown", "father", []),
        ("father_unknown", "mother", ["details.mother.full_name"]),
        ("mother_unknown", "mother", []),
        ("neither_parent_known", "mother", []),
        ("abandoned_child", "father", []),
    ],
)
def test_parent_names_depend_on_the_birth_kind(
    birth_kind: str, drop: str, expected: list[str]
) -> None:
    data = details(RecordType.BIRTH, birth_kind=birth_kind)
    data.pop(drop)
    found = CHECK.check(record(RecordType.BIRTH, details=data))
    assert [(r.code, r.field) for r in found] == [
        (ReasonCode.MISSING_MANDATORY_FIELD, path) for path in expected
    ]


def test_an_age_stands_in_for_a_spouses_date_of_birth() -> None:
    data = details(RecordType.MARRIAGE, husband__date_of_birth=None)
    assert CHECK.check(record(RecordType.MARRIAGE, details=data)) != []
    data["husband"]["age"] = 26
    assert CHECK.check(record(RecordType.MARRIAGE, details=data)) == []


def test_one_adoptive_parent_is_enough() -> None:
    data = details(RecordType.ADOPTION, adoptive_father=None)
    rec = record(RecordType.ADOPTION, details=data)
    assert CHECK.check(rec) == []
    data.pop("adoptive_mother")
    (reason,) = CHECK.check(record(RecordType.ADOPTION, details=data))
    assert reason.field == "details.adoptive_father.full_name"
    assert "details.adoptive_mother.full_name" in reason.detail_en


def test_an_empty_list_is_missing() -> None:
    rec = record(
        RecordType.CHANGE_CORRECTION,
        details=details(RecordType.CHANGE_CORRECTION, changes=[]),
    )
    assert [(r.code, r.field) for r in CHECK.check(rec)] == [
        (ReasonCode.MISSING_MANDATORY_FIELD, "details.changes")
    ]


def test_another_table_is_another_file() -> None:
    text = "types:\n" + "\n".join(
        f"  {t.value}: []"
        if t is not RecordType.BIRTH
        else "  birth:\n    - {path: details.place_of_birth, label_vi: Nơi sinh, label_en: place}"
        for t in RecordType
    )
    other = Validator(
        plan=load_plan(), registry=default_registry(), mandatory=parse_mandatory_fields(text)
    )
    rec = record(
        RecordType.BIRTH,
        details=details(RecordType.BIRTH, place_of_birth=None, child__date_of_birth=None),
    )
    event = entered(rec).model_copy(update={"occurred_at": IN_PHASE_1})
    assert codes_and_fields(other.validate(event).payload.reasons) == [
        ("missing_mandatory_field", "details.place_of_birth")
    ]
    assert codes_and_fields(VALIDATOR.validate(event).payload.reasons) == [
        ("missing_mandatory_field", "details.child.date_of_birth")
    ]
    assert other.fingerprint() != VALIDATOR.fingerprint()
