"""Consistency checks: dates at their precision, ages, identity numbers, unit codes."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from hotich_contracts.examples import example_details
from hotich_contracts.mandatory import resolve_field_path
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import RECORD_MODELS, Person, RecordType
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_validation.domain.consistency import (
    AGE_AT_EVENT,
    CCCD_PROVINCE_CODES,
    DEFAULT_RULES,
    EARLIER_ACT_DATES,
    MARRIAGE_AGE_ERAS,
    UNIT_CODE_FIELDS,
    ConsistencyRules,
    check_consistency,
    check_identity_number,
    check_registration_day,
)
from hotich_validation.domain.phases import RuleReason
from tests.factories import record

ENTERED = date(2021, 9, 1)


@pytest.fixture(scope="module")
def registry() -> UnitRegistry:
    return default_registry()


def check(
    registry: UnitRegistry,
    record_type: RecordType,
    *,
    entered_on: date = ENTERED,
    rules: ConsistencyRules = DEFAULT_RULES,
    **overrides: Any,
) -> list[RuleReason]:
    return check_consistency(
        record(record_type, **overrides), entered_on=entered_on, registry=registry, rules=rules
    )


def found(reasons: list[RuleReason]) -> list[tuple[str, str | None, str]]:
    return [(str(r.code), r.field, r.severity) for r in reasons]


def test_examples_are_consistent(registry: UnitRegistry) -> None:
    for record_type in RecordType:
        assert check(registry, record_type) == [], record_type


def test_tables_name_real_fields() -> None:
    for record_type, acts in EARLIER_ACT_DATES.items():
        model = RECORD_MODELS[RecordType(record_type)]
        for path, label_vi, label_en in acts:
            assert resolve_field_path(model, path) is not None, path
            assert label_vi
            assert label_en
    for record_type, units in UNIT_CODE_FIELDS.items():
        model = RECORD_MODELS[RecordType(record_type)]
        for code_path, date_path, _, _ in units:
            assert resolve_field_path(model, code_path) is not None
            assert resolve_field_path(model, date_path) is not None
    for record_type, persons in AGE_AT_EVENT.items():
        model = RECORD_MODELS[RecordType(record_type)]
        for person_path, (date_path, when_vi, when_en) in persons.items():
            assert resolve_field_path(model, person_path) is not None, person_path
            assert resolve_field_path(model, date_path) is not None, date_path
            assert when_vi
            assert when_en
    assert len(CCCD_PROVINCE_CODES) == 63
    assert CCCD_PROVINCE_CODES["072"] == "Tây Ninh"


# -- registration date and the events before it ----------------------------------------


def test_registration_date_in_the_future(registry: UnitRegistry) -> None:
    assert check_registration_day(ENTERED, ENTERED) == []
    reasons = check(registry, RecordType.BIRTH, entered_on=date(2010, 3, 14))
    assert found(reasons) == [("inconsistent_dates", "registration_date", "error")]
    assert "15/03/2010" in reasons[0].detail_vi
    assert "14/03/2010" in reasons[0].detail_en
    assert "tương lai" in reasons[0].detail_vi


@pytest.mark.parametrize(
    ("child_born", "flagged"),
    [
        ("2010-03-15", False),  # the registration day itself
        ("2010-03-16", True),
        ("2010-03", False),  # may be 1..15 March
        ("2010-04", True),
        ("2010", False),  # may be before 15 March
        ("2011", True),
    ],
)
def test_birth_after_registration_at_the_dates_precision(
    registry: UnitRegistry, child_born: str, flagged: bool
) -> None:
    data = example_details(RecordType.BIRTH)
    data["child"]["date_of_birth"] = child_born
    reasons = check(registry, RecordType.BIRTH, details=data)
    expected = [("inconsistent_dates", "details.child.date_of_birth", "error")] if flagged else []
    assert found(reasons) == expected
    if flagged:
        assert "người con" in reasons[0].detail_vi
        assert "after the registration date 15/03/2010" in reasons[0].detail_en


def test_any_person_born_after_registration(registry: UnitRegistry) -> None:
    data = example_details(RecordType.BIRTH)
    data["mother"]["date_of_birth"] = "2012"
    reasons = check(registry, RecordType.BIRTH, details=data)
    assert found(reasons) == [("inconsistent_dates", "details.mother.date_of_birth", "error")]
    assert "người mẹ" in reasons[0].detail_vi
    requester = {"full_name": "Trần Văn Hùng", "date_of_birth": "2011-01-01"}
    reasons = check(registry, RecordType.DEATH, requester=requester)
    assert found(reasons) == [("inconsistent_dates", "requester.date_of_birth", "error")]


@pytest.mark.parametrize(
    ("died", "flagged"),
    [("2010-03-15", False), ("2010-03", False), ("2010-03-16", True), ("2010-04", True)],
)
def test_death_not_after_registration(registry: UnitRegistry, died: str, flagged: bool) -> None:
    data = example_details(RecordType.DEATH)
    data["date_of_death"] = died
    data.pop("death_notice")
    expected = [("inconsistent_dates", "details.date_of_death", "error")] if flagged else []
    assert found(check(registry, RecordType.DEATH, details=data)) == expected


@pytest.mark.parametrize(
    ("born", "died", "flagged"),
    [
        ("1931", "2010-03-10", False),
        ("2010-03-10", "2010-03-10", False),
        ("2010-03-11", "2010-03-10", True),
        ("2010", "2009-12", True),
        ("2010-02", "2010", False),  # may be the same year, in order
        ("2010-03", "2010-03-01", False),
    ],
)
def test_death_after_birth(registry: UnitRegistry, born: str, died: str, flagged: bool) -> None:
    data = example_details(RecordType.DEATH)
    data["deceased"]["date_of_birth"] = born
    data["date_of_death"] = died
    data.pop("death_notice")
    reasons = check(registry, RecordType.DEATH, details=data)
    expected = [("inconsistent_dates", "details.date_of_death", "error")] if flagged else []
    assert found(reasons) == expected
    if flagged:
        assert "trước ngày sinh" in reasons[0].detail_vi


@pytest.mark.parametrize(
    ("record_type", "path", "key", "value"),
    [
        (RecordType.DEATH, "details.death_notice.issued_on", "death_notice", "2010-04-01"),
        (
            RecordType.MARRIAGE_RECORDING,
            "details.foreign_registration.issued_on",
            "foreign_registration",
            "2011",
        ),
        (
            RecordType.DIVORCE_RECORDING,
            "details.foreign_judgment.issued_on",
            "foreign_judgment",
            "2010-06",
        ),
        (
            RecordType.CHANGE_CORRECTION,
            "details.original_registration.registration_date",
            "original_registration",
            "2010-03-16",
        ),
        (RecordType.SEX_REDETERMINATION, "details.decision.issued_on", "decision", "2010-03-20"),
        (RecordType.ADOPTION, "details.decision.issued_on", "decision", "2010-12-31"),
    ],
)
def test_earlier_acts_may_not_follow_the_registration(
    registry: UnitRegistry, record_type: RecordType, path: str, key: str, value: str
) -> None:
    data = example_details(record_type)
    field_name = path.rsplit(".", 1)[1]
    data[key][field_name] = value
    reasons = check(registry, record_type, details=data)
    assert ("inconsistent_dates", path, "error") in found(reasons)
    reason = next(r for r in reasons if r.field == path)
    assert "sau ngày đăng ký 15/03/2010" in reason.detail_vi


# -- ages --------------------------------------------------------------------------------


def marriage(registered: str, husband_born: str, wife_born: str) -> dict[str, Any]:
    data = example_details(RecordType.MARRIAGE)
    data["husband"]["date_of_birth"] = husband_born
    data["wife"]["date_of_birth"] = wife_born
    for spouse in ("husband", "wife"):
        data[spouse].pop("identity_number")
        data[spouse].pop("identity_document_type")
    return {"registration_date": registered, "details": data}


@pytest.mark.parametrize(
    ("registered", "husband_born", "wife_born", "expected"),
    [
        # 2014 law, from 2015: men 20, women 18 full years.
        ("2016-05-10", "1996-05-10", "1998-05-10", []),
        ("2016-05-10", "1996-05-11", "1998-05-10", [("husband", "warning")]),
        ("2016-05-10", "1996-05-10", "1998-05-11", [("wife", "warning")]),
        # 1959/1986/2000 laws read as "in the 20th/18th year": 19 and 17 full years.
        ("2010-03-15", "1991-03-15", "1993-03-15", []),
        ("2010-03-15", "1991-03-16", "1993-03-15", [("husband", "warning")]),
        ("2010-03-15", "1991-03-15", "1993-03-16", [("wife", "warning")]),
        # Before 1977: 18 and 15.
        ("1970-06-01", "1952-06-01", "1955-06-01", []),
        ("1970-06-01", "1952-06-02", "1955-06-02", [("husband", "warning"), ("wife", "warning")]),
        # Clearly impossible: under 13, an error whatever the era.
        ("2010-03-15", "1984", "1998-01-01", [("wife", "error")]),
        ("1970-06-01", "1958-01-01", "1950", [("husband", "error")]),
        # A year of birth: flagged only when every day of it is under age.
        ("2016-05-10", "1996", "1998", []),
        ("2016-05-10", "1997", "1998", [("husband", "warning")]),
    ],
)
def test_marriage_ages_by_era(
    registry: UnitRegistry,
    registered: str,
    husband_born: str,
    wife_born: str,
    expected: list[tuple[str, str]],
) -> None:
    reasons = check(
        registry,
        RecordType.MARRIAGE,
        entered_on=date(2021, 1, 1),
        **marriage(registered, husband_born, wife_born),
    )
    assert found(reasons) == [
        ("implausible_age", f"details.{role}.date_of_birth", severity)
        for role, severity in expected
    ]


def test_marriage_age_messages(registry: UnitRegistry) -> None:
    (warning,) = check(registry, RecordType.MARRIAGE, **marriage("2016-05-10", "1990", "1999-01"))
    assert "dưới tuổi kết hôn theo luật" in warning.detail_vi
    assert "(18 tuổi tròn)" in warning.detail_vi
    assert "still entered" in warning.detail_en
    (error,) = check(registry, RecordType.MARRIAGE, **marriage("2016-05-10", "2006", "1990"))
    assert "không thể có" in error.detail_vi
    assert "10 at the marriage" in error.detail_en


def test_marriage_age_from_a_written_age(registry: UnitRegistry) -> None:
    data = marriage("2016-05-10", "1990", "1990")
    data["details"]["wife"].pop("date_of_birth")
    data["details"]["wife"]["age"] = 16
    assert found(check(registry, RecordType.MARRIAGE, **data)) == [
        ("implausible_age", "details.wife.age", "warning")
    ]


def test_recorded_marriage_is_aged_at_the_foreign_registration(registry: UnitRegistry) -> None:
    data = example_details(RecordType.MARRIAGE_RECORDING)
    data["wife"]["date_of_birth"] = "1991-12-10"  # 18 at registration, 17 at the marriage
    data["foreign_registration"]["issued_on"] = "2009-12-05"
    reasons = check(registry, RecordType.MARRIAGE_RECORDING, details=data)
    assert found(reasons) == []  # 17 full years is the minimum before 2015
    data["foreign_registration"]["issued_on"] = "2008-12-05"
    reasons = check(registry, RecordType.MARRIAGE_RECORDING, details=data)
    assert found(reasons) == [("implausible_age", "details.wife.date_of_birth", "warning")]
    assert "05/12/2008" in reasons[0].detail_vi


def test_thresholds_are_configuration(registry: UnitRegistry) -> None:
    strict = ConsistencyRules(impossible_marriage_age=20)
    data = marriage("2016-05-10", "1990", "1997-01-01")
    assert found(check(registry, RecordType.MARRIAGE, rules=strict, **data)) == [
        ("implausible_age", "details.wife.date_of_birth", "error")
    ]
    assert check(registry, RecordType.MARRIAGE, **data) == []
    assert strict.fingerprint() != DEFAULT_RULES.fingerprint()
    assert ConsistencyRules().fingerprint() == DEFAULT_RULES.fingerprint()
    assert DEFAULT_RULES.legal_marriage_ages(date(2015, 1, 1)) == MARRIAGE_AGE_ERAS[2]
    assert DEFAULT_RULES.legal_marriage_ages(date(1900, 1, 1)) == MARRIAGE_AGE_ERAS[0]


def test_nobody_is_older_than_the_maximum(registry: UnitRegistry) -> None:
    data = example_details(RecordType.DEATH)
    data["deceased"]["date_of_birth"] = "1880"
    reasons = check(registry, RecordType.DEATH, details=data)
    assert found(reasons) == [("implausible_age", "details.deceased.date_of_birth", "error")]
    assert "129" in reasons[0].detail_en
    data["deceased"]["date_of_birth"] = "1885"  # 124 or 125
    assert check(registry, RecordType.DEATH, details=data) == []


def test_the_deceased_is_aged_at_death_not_at_a_late_registration(
    registry: UnitRegistry,
) -> None:
    # A death of 1974 registered again in 2014: 94 at death, "133" at registration.
    data = example_details(RecordType.DEATH)
    data["deceased"]["date_of_birth"] = "1880"
    data["date_of_death"] = "1974-12-02"
    late = {"registration_date": "2014-10-15", "registration_kind": "re_registration"}
    assert check(registry, RecordType.DEATH, details=data, **late) == []
    # Over the maximum at death: still an error, said "at death".
    data["deceased"]["date_of_birth"] = "1840"
    reasons = check(registry, RecordType.DEATH, details=data, **late)
    assert found(reasons) == [("implausible_age", "details.deceased.date_of_birth", "error")]
    assert "133 at death" in reasons[0].detail_en
    assert "133 tuổi khi chết" in reasons[0].detail_vi
    # No date of death: aged at registration, as before.
    data["deceased"]["date_of_birth"] = "1880"
    del data["date_of_death"]
    reasons = check(registry, RecordType.DEATH, details=data, **late)
    assert found(reasons) == [("implausible_age", "details.deceased.date_of_birth", "error")]
    assert "133 at registration" in reasons[0].detail_en
    assert "133 tuổi vào ngày đăng ký" in reasons[0].detail_vi
    # An age as written (no date of birth): at registration too.
    del data["deceased"]["date_of_birth"]
    data["deceased"]["age"] = 130
    reasons = check(registry, RecordType.DEATH, details=data, **late)
    assert found(reasons) == [("implausible_age", "details.deceased.age", "error")]
    assert "130 at registration" in reasons[0].detail_en


def test_parents_are_aged_at_the_birth(registry: UnitRegistry) -> None:
    data = example_details(RecordType.BIRTH)
    data["child"]["date_of_birth"] = "1930-05-01"
    data["mother"]["date_of_birth"] = "1900"
    late = {"registration_date": "2030-01-02", "registration_kind": "re_registration"}
    # 130 at registration, 29 or 30 at the birth; entered in 2030 so the date is not future.
    assert (
        check(registry, RecordType.BIRTH, details=data, entered_on=date(2030, 6, 1), **late) == []
    )


# -- identity numbers ----------------------------------------------------------------


def person(number: str, kind: str | None = "cccd", **fields: Any) -> Person:
    data: dict[str, Any] = {"full_name": "Nguyễn Văn An", "identity_number": number}
    if kind is not None:
        data["identity_document_type"] = kind
    data.update(fields)
    return Person.model_validate(data)


@pytest.mark.parametrize(
    ("number", "fields"),
    [
        ("072085001234", {"sex": "male", "date_of_birth": "1985-04-02"}),
        ("079191001234", {"sex": "female", "date_of_birth": "1991"}),
        ("080205001234", {"sex": "male", "date_of_birth": "2005-01"}),
        ("001303001234", {"sex": "female", "date_of_birth": "2003"}),
        ("072085001234", {}),  # nothing to compare but the prefix
        ("072185001234", {"sex": "undetermined", "date_of_birth": "1985"}),
    ],
)
def test_well_formed_cccd(number: str, fields: dict[str, Any]) -> None:
    assert check_identity_number(person(number, **fields), "details.husband") == []


@pytest.mark.parametrize(
    ("number", "fields", "problem_en"),
    [
        ("003085001234", {}, "'003' are not a province code"),
        ("172085001234", {}, "'172' are not a province code"),
        ("072185001234", {"sex": "male"}, "means female, not the sex registered"),
        ("072085001234", {"sex": "female"}, "means male, not the sex registered"),
        ("072285001234", {"date_of_birth": "1985"}, "born 2000-2099, the year of birth is 1985"),
        ("072086001234", {"date_of_birth": "1985-07-01"}, "differ from the year of birth 1985"),
        ("072485001234", {}, "born in 2100 or later"),
    ],
)
def test_cccd_mismatches_are_errors_with_the_field(
    number: str, fields: dict[str, Any], problem_en: str
) -> None:
    reasons = check_identity_number(person(number, **fields), "details.wife")
    assert [(r.code, r.field, r.severity) for r in reasons] == [
        (ReasonCode.INVALID_IDENTITY_NUMBER, "details.wife.identity_number", "error")
    ]
    assert problem_en in reasons[0].detail_en
    assert "người vợ" in reasons[0].detail_vi
    assert number in reasons[0].detail_vi


def test_every_cccd_problem_is_reported() -> None:
    reasons = check_identity_number(
        person("003186001234", sex="male", date_of_birth="1985"), "details.subject"
    )
    assert len(reasons) == 3  # province, sex, year digits


def test_cccd_needs_twelve_digits() -> None:
    (reason,) = check_identity_number(person("290812345"), "details.mother")
    assert reason.code == ReasonCode.INVALID_IDENTITY_NUMBER
    assert "12 chữ số" in reason.detail_vi


@pytest.mark.parametrize("kind", ["cmnd", None])
def test_nine_digit_cmnd_has_nothing_to_check(kind: str | None) -> None:
    assert check_identity_number(person("290812345", kind, sex="female"), "x") == []


@pytest.mark.parametrize("kind", ["cmnd", None])
def test_twelve_digit_number_not_declared_cccd_warns(kind: str | None) -> None:
    (reason,) = check_identity_number(person("072185001234", kind, sex="male"), "details.father")
    assert (reason.code, reason.severity) == (ReasonCode.INVALID_IDENTITY_NUMBER, "warning")


def test_passports_are_not_checked() -> None:
    assert check_identity_number(person("N0123456", "passport"), "x") == []


def test_sex_redetermination_may_encode_the_former_sex(registry: UnitRegistry) -> None:
    data = example_details(RecordType.SEX_REDETERMINATION)
    data["subject"].update(
        sex="male", identity_document_type="cccd", identity_number="079195001234"
    )  # digit 1: female, the sex before
    assert check(registry, RecordType.SEX_REDETERMINATION, details=data) == []
    data["sex_before"] = "male"
    reasons = check(registry, RecordType.SEX_REDETERMINATION, details=data)
    assert found(reasons) == [
        ("invalid_identity_number", "details.subject.identity_number", "error")
    ]


def test_identity_numbers_of_every_person_are_checked(registry: UnitRegistry) -> None:
    data = example_details(RecordType.BIRTH)
    data["father"].update(identity_document_type="cccd", identity_number="072083001234")
    reasons = check(registry, RecordType.BIRTH, details=data)
    assert found(reasons) == [
        ("invalid_identity_number", "details.father.identity_number", "error")
    ]  # born 1982, the number says 1983


# -- unit codes ------------------------------------------------------------------------


def test_place_of_birth_unit_must_exist_then(registry: UnitRegistry) -> None:
    data = example_details(RecordType.BIRTH)
    data["place_of_birth_unit_code"] = "25459"
    assert check(registry, RecordType.BIRTH, details=data) == []
    data["place_of_birth_unit_code"] = "26734"  # a commune of another province
    reasons = check(registry, RecordType.BIRTH, details=data)
    assert found(reasons) == [("unknown_unit", "details.place_of_birth_unit_code", "warning")]
    assert "26734" in reasons[0].detail_vi
    # Phước Lưu (25726) ended on 2020-01-31.
    data["place_of_birth_unit_code"] = "25726"
    data["child"]["date_of_birth"] = "2020-02-15"
    reasons = check(registry, RecordType.BIRTH, details=data, registration_date="2020-03-01")
    assert found(reasons) == [("unknown_unit", "details.place_of_birth_unit_code", "warning")]
    assert "Phước Lưu" in reasons[0].detail_vi
    data["child"]["date_of_birth"] = "2020"  # may be January
    assert check(registry, RecordType.BIRTH, details=data, registration_date="2020-03-01") == []


def test_unit_of_the_original_registration(registry: UnitRegistry) -> None:
    data = example_details(RecordType.CHANGE_CORRECTION)
    data["original_registration"]["registering_authority_code"] = "99999"
    reasons = check(registry, RecordType.CHANGE_CORRECTION, details=data)
    assert found(reasons) == [
        ("unknown_unit", "details.original_registration.registering_authority_code", "warning")
    ]
