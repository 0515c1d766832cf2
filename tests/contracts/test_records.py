from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from hotich_contracts.dates import PartialDate
from hotich_contracts.examples import EXAMPLE_UNIT_CODE, example_details, example_record
from hotich_contracts.records import (
    RECORD_ADAPTER,
    RECORD_MODELS,
    BirthRecord,
    DeathRecord,
    MaritalStatusPurpose,
    MaritalStatusRecord,
    RecordType,
    Sex,
    Source,
    natural_key,
    parse_record,
    parse_record_json,
    subject_names,
)

ALL_TYPES = list(RecordType)


def errors_of(data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as caught:
        parse_record(data)
    return [dict(e) for e in caught.value.errors()]


def one_error(data: Any) -> dict[str, Any]:
    errors = errors_of(data)
    assert len(errors) == 1, errors
    return errors[0]


# -- every type ---------------------------------------------------------------------------


def test_there_are_twelve_record_types_with_a_model_each() -> None:
    assert len(ALL_TYPES) == 12
    assert set(RECORD_MODELS) == set(ALL_TYPES)
    assert "parentage_recognition" in {t.value for t in ALL_TYPES}


@pytest.mark.parametrize("record_type", ALL_TYPES)
def test_discriminator_picks_the_model_of_the_type(record_type: RecordType) -> None:
    record = parse_record(example_record(record_type))
    assert type(record) is RECORD_MODELS[record_type]
    assert record.record_type is record_type


@pytest.mark.parametrize("record_type", ALL_TYPES)
def test_round_trips_through_json(record_type: RecordType) -> None:
    record = parse_record(example_record(record_type))
    text = RECORD_ADAPTER.dump_json(record)
    again = parse_record_json(text)
    assert again == record
    assert type(again) is type(record)
    assert RECORD_ADAPTER.dump_json(again) == text


@pytest.mark.parametrize("record_type", ALL_TYPES)
def test_json_dump_keeps_what_was_given(record_type: RecordType) -> None:
    given = example_record(record_type)
    dumped = RECORD_ADAPTER.dump_python(parse_record(given), mode="json", exclude_none=True)
    # Defaults (source, empty lists, guardianship action) appear; nothing given is lost.
    assert _contains(dumped, given)


@pytest.mark.parametrize("record_type", ALL_TYPES)
def test_python_dump_round_trips(record_type: RecordType) -> None:
    record = parse_record(example_record(record_type))
    assert parse_record(RECORD_ADAPTER.dump_python(record)) == record


def _contains(big: Any, small: Any) -> bool:
    if isinstance(small, dict):
        return isinstance(big, dict) and all(
            k in big and _contains(big[k], v) for k, v in small.items()
        )
    if isinstance(small, list):
        return (
            isinstance(big, list)
            and len(big) == len(small)
            and all(_contains(b, s) for b, s in zip(big, small, strict=True))
        )
    return bool(big == small)


def test_partial_dates_keep_their_precision_through_json() -> None:
    record = parse_record(example_record(RecordType.BIRTH))
    assert isinstance(record, BirthRecord)
    assert record.details.mother is not None
    assert record.details.mother.date_of_birth == PartialDate(1985)
    dumped = RECORD_ADAPTER.dump_python(record, mode="json")
    assert dumped["details"]["mother"]["date_of_birth"] == "1985"
    assert dumped["details"]["child"]["date_of_birth"] == "2010-02-27"
    assert dumped["registration_date"] == "2010-03-15"


def test_record_models_parse_directly_too() -> None:
    record = DeathRecord.model_validate(example_record(RecordType.DEATH))
    assert record.details.date_of_death == PartialDate(2010, 3, 10)
    assert record.registration_date == date(2010, 3, 15)


# -- discriminator ------------------------------------------------------------------------


def test_unknown_record_type_is_rejected() -> None:
    error = one_error(example_record(RecordType.BIRTH, record_type="naturalisation"))
    assert error["type"] == "union_tag_invalid"


def test_missing_record_type_is_rejected() -> None:
    data = example_record(RecordType.BIRTH)
    del data["record_type"]
    assert one_error(data)["type"] == "union_tag_not_found"


def test_details_must_match_the_type() -> None:
    data = example_record(RecordType.DEATH, details=example_details(RecordType.BIRTH))
    locs = {e["loc"] for e in errors_of(data)}
    assert ("death", "details", "deceased") in locs
    assert ("death", "details", "child") in locs


def test_record_type_of_a_model_is_fixed() -> None:
    with pytest.raises(ValidationError) as caught:
        BirthRecord.model_validate(example_record(RecordType.DEATH))
    assert ("record_type",) in {e["loc"] for e in caught.value.errors()}


# -- common fields ------------------------------------------------------------------------


def test_null_authority_code_requires_the_name() -> None:
    error = one_error(example_record(RecordType.BIRTH, registering_authority_code=None))
    assert error["type"] == "authority_name_required"
    assert error["loc"] == ("birth", "registering_authority_name")

    blank = example_record(
        RecordType.BIRTH, registering_authority_code=None, registering_authority_name="   "
    )
    assert one_error(blank)["loc"] == ("birth", "registering_authority_name")

    named = parse_record(
        example_record(
            RecordType.BIRTH,
            registering_authority_code=None,
            registering_authority_name="UBND xã Ninh Sơn, thị xã Tây Ninh",
        )
    )
    assert named.registering_authority_code is None
    assert named.registering_authority_name == "UBND xã Ninh Sơn, thị xã Tây Ninh"


def test_authority_code_key_is_required_even_if_null() -> None:
    data = example_record(RecordType.BIRTH, registering_authority_name="UBND Phường 3")
    del data["registering_authority_code"]
    error = one_error(data)
    assert error["type"] == "missing"
    assert error["loc"] == ("birth", "registering_authority_code")


def test_code_and_name_may_both_be_given() -> None:
    record = parse_record(
        example_record(RecordType.BIRTH, registering_authority_name="UBND Phường 3")
    )
    assert record.registering_authority_code == EXAMPLE_UNIT_CODE


@pytest.mark.parametrize("code", ["2545", "254590", "ab459", "", "25 459"])
def test_unit_codes_are_gso_shaped(code: str) -> None:
    errors = errors_of(example_record(RecordType.BIRTH, storing_unit_code=code))
    assert [e["loc"] for e in errors] == [("birth", "storing_unit_code")]


@pytest.mark.parametrize("code", ["72", "703", "25459"])
def test_province_district_and_commune_codes_are_accepted(code: str) -> None:
    record = parse_record(example_record(RecordType.BIRTH, registering_authority_code=code))
    assert record.registering_authority_code == code


def test_source_defaults_to_manual_and_accepts_migration() -> None:
    data = example_record(RecordType.BIRTH)
    del data["source"]
    assert parse_record(data).source is Source.MANUAL
    assert (
        parse_record(example_record(RecordType.BIRTH, source="migration")).source
        is Source.MIGRATION
    )
    assert one_error(example_record(RecordType.BIRTH, source="scan"))["loc"] == ("birth", "source")


@pytest.mark.parametrize(
    "value", ["2010-03", "2010", "15/03/2010", 1268611200, "2010-03-15T00:00:00", "2010-02-30"]
)
def test_registration_date_must_be_a_full_date(value: Any) -> None:
    error = one_error(example_record(RecordType.BIRTH, registration_date=value))
    assert error["loc"] == ("birth", "registration_date")


def test_page_is_positive_or_null() -> None:
    assert parse_record(example_record(RecordType.BIRTH, page=None)).page is None
    error = one_error(example_record(RecordType.BIRTH, page=0))
    assert (error["type"], error["loc"]) == ("greater_than_equal", ("birth", "page"))


def test_book_and_entry_numbers_are_kept_as_written() -> None:
    record = parse_record(
        example_record(RecordType.BIRTH, book_number=" 01/2010 ", entry_number="015")
    )
    assert record.book_number == "01/2010"
    assert record.entry_number == "015"


def test_extra_fields_are_rejected_at_every_level() -> None:
    error = one_error(example_record(RecordType.BIRTH, clerk_comment="x"))
    assert (error["type"], error["loc"]) == ("extra_forbidden", ("birth", "clerk_comment"))

    details = example_details(RecordType.BIRTH)
    details["child"]["nickname"] = "Bé"
    error = one_error(example_record(RecordType.BIRTH, details=details))
    assert (error["type"], error["loc"]) == (
        "extra_forbidden",
        ("birth", "details", "child", "nickname"),
    )


def test_errors_are_all_reported_with_locations() -> None:
    details = example_details(RecordType.BIRTH)
    details["child"]["date_of_birth"] = "2019-02-30"
    details["child"]["sex"] = "boy"
    errors = errors_of(example_record(RecordType.BIRTH, page=-1, details=details))
    assert {e["loc"] for e in errors} == {
        ("birth", "page"),
        ("birth", "details", "child", "date_of_birth"),
        ("birth", "details", "child", "sex"),
    }


def test_records_are_frozen() -> None:
    record = parse_record(example_record(RecordType.BIRTH))
    with pytest.raises(ValidationError):
        record.book_number = "02/2010"  # type: ignore[misc]


# -- persons ------------------------------------------------------------------------------


def test_names_are_stored_nfc_stripped_and_otherwise_as_written() -> None:
    nfd = unicodedata.normalize("NFD", "Nguyễn  Thị Hoà")
    assert nfd != unicodedata.normalize("NFC", nfd)
    details = example_details(RecordType.BIRTH)
    details["child"]["full_name"] = f"  {nfd} "
    record = parse_record(example_record(RecordType.BIRTH, details=details))
    assert isinstance(record, BirthRecord)
    # NFC, stripped; the double space and the tone placement are kept as written.
    assert record.details.child.full_name == "Nguyễn  Thị Hoà"
    assert unicodedata.is_normalized("NFC", record.details.child.full_name)


def test_other_texts_are_nfc_and_blank_means_absent() -> None:
    details = example_details(RecordType.BIRTH)
    details["place_of_birth"] = unicodedata.normalize("NFD", "Bệnh viện Hòa Thành")
    details["date_of_birth_in_words"] = "   "
    record = parse_record(example_record(RecordType.BIRTH, details=details, notes=""))
    assert isinstance(record, BirthRecord)
    assert record.details.place_of_birth == "Bệnh viện Hòa Thành"
    assert record.details.date_of_birth_in_words is None
    assert record.notes is None


def test_the_length_limit_of_a_text_counts_it_as_sent() -> None:
    # 400 composed letters sent decomposed are 1,200 code points: over the 1,000 limit,
    # refused as before normalization; 300 of them (900) pass and are stored composed.
    details = example_details(RecordType.BIRTH)
    details["place_of_birth"] = unicodedata.normalize("NFD", "ễ" * 400)
    with pytest.raises(ValidationError) as refused:
        parse_record(example_record(RecordType.BIRTH, details=details))
    assert [e["type"] for e in refused.value.errors()] == ["string_too_long"]
    details["place_of_birth"] = unicodedata.normalize("NFD", "ễ" * 300) + "  "
    record = parse_record(example_record(RecordType.BIRTH, details=details))
    assert isinstance(record, BirthRecord)
    assert record.details.place_of_birth == "ễ" * 300


@pytest.mark.parametrize(
    ("kind", "number", "ok"),
    [
        (None, "290812345", True),
        ("cmnd", "290812345", True),
        ("cmnd", "072090001234", True),
        ("cccd", "072090001234", True),
        ("cccd", "29081234", False),
        (None, "2908123456", False),
        ("cmnd", "29081234X", False),
        ("cccd", "０７２０９０００１２３４", False),
        ("passport", "N0123456", True),
        ("other", "QĐ-123", True),
    ],
)
def test_identity_number_shape(kind: str | None, number: str, ok: bool) -> None:
    details = example_details(RecordType.BIRTH)
    details["mother"]["identity_document_type"] = kind
    details["mother"]["identity_number"] = number
    data = example_record(RecordType.BIRTH, details=details)
    if ok:
        record = parse_record(data)
        assert isinstance(record, BirthRecord)
        assert record.details.mother is not None
        assert record.details.mother.identity_number == number
    else:
        error = one_error(data)
        assert error["type"] == "identity_number_shape"
        assert error["loc"] == ("birth", "details", "mother", "identity_number")


def test_person_enums_and_age() -> None:
    details = example_details(RecordType.DEATH)
    details["deceased"].update({"sex": "female", "age": 87, "date_of_birth": None})
    record = parse_record(example_record(RecordType.DEATH, details=details))
    assert isinstance(record, DeathRecord)
    assert record.details.deceased.sex is Sex.FEMALE
    assert record.details.deceased.age == 87
    details["deceased"]["age"] = -1
    assert one_error(example_record(RecordType.DEATH, details=details))["loc"] == (
        "death",
        "details",
        "deceased",
        "age",
    )


def test_subject_name_is_required() -> None:
    details = example_details(RecordType.BIRTH)
    del details["child"]["full_name"]
    error = one_error(example_record(RecordType.BIRTH, details=details))
    assert (error["type"], error["loc"]) == ("missing", ("birth", "details", "child", "full_name"))


def test_both_spouses_are_required_for_a_marriage() -> None:
    details = example_details(RecordType.MARRIAGE)
    del details["wife"]
    error = one_error(example_record(RecordType.MARRIAGE, details=details))
    assert error["loc"] == ("marriage", "details", "wife")


# -- torn registers (principle 3) ---------------------------------------------------------


def test_empty_name_needs_an_unreadable_marker() -> None:
    details = example_details(RecordType.DEATH)
    details["deceased"]["full_name"] = ""
    error = one_error(example_record(RecordType.DEATH, details=details))
    assert error["type"] == "empty_unless_unreadable"
    assert error["loc"] == ("death", "details", "deceased", "full_name")

    record = parse_record(
        example_record(
            RecordType.DEATH,
            details=details,
            register_condition="damaged",
            unreadable_fields=["details.deceased.full_name", "details.date_of_death"],
        )
    )
    assert record.unreadable_fields == ["details.deceased.full_name", "details.date_of_death"]
    assert subject_names(record) == []


def test_a_marked_parent_covers_the_name_below_it() -> None:
    details = example_details(RecordType.BIRTH)
    details["mother"] = {"full_name": ""}
    parse_record(
        example_record(RecordType.BIRTH, details=details, unreadable_fields=["details.mother"])
    )


def test_empty_entry_number_needs_an_unreadable_marker() -> None:
    error = one_error(example_record(RecordType.BIRTH, entry_number=""))
    assert (error["type"], error["loc"]) == ("empty_unless_unreadable", ("birth", "entry_number"))
    record = parse_record(
        example_record(RecordType.BIRTH, entry_number="", unreadable_fields=["entry_number"])
    )
    assert record.entry_number == ""


@pytest.mark.parametrize(
    "path",
    ["details.child.date_of_birth", "details.mother.identity_number", "page", "registration_date"],
)
def test_unreadable_paths_must_name_fields_of_the_type(path: str) -> None:
    assert parse_record(
        example_record(RecordType.BIRTH, unreadable_fields=[path])
    ).unreadable_fields == [path]


@pytest.mark.parametrize(
    "path",
    [
        "details.deceased.full_name",
        "details.child.shoe_size",
        "details.child.full_name.x",
        "Details.child",
        "details..child",
    ],
)
def test_unknown_unreadable_paths_are_rejected(path: str) -> None:
    error = one_error(example_record(RecordType.BIRTH, unreadable_fields=[path]))
    assert error["loc"] == ("birth", "unreadable_fields", 0)


def test_unreadable_paths_may_index_lists() -> None:
    record = parse_record(
        example_record(RecordType.CHANGE_CORRECTION, unreadable_fields=["details.changes.0.before"])
    )
    assert record.unreadable_fields == ["details.changes.0.before"]
    error = one_error(
        example_record(RecordType.CHANGE_CORRECTION, unreadable_fields=["details.changes.x"])
    )
    assert error["type"] == "unreadable_field_unknown"


# -- type-specific rules ------------------------------------------------------------------


def test_marital_status_carries_its_purpose() -> None:
    record = parse_record(example_record(RecordType.MARITAL_STATUS))
    assert isinstance(record, MaritalStatusRecord)
    assert record.details.purpose is MaritalStatusPurpose.MARRIAGE
    assert record.details.is_for_marriage

    details = example_details(RecordType.MARITAL_STATUS)
    details["purpose"] = "other"
    other = parse_record(example_record(RecordType.MARITAL_STATUS, details=details))
    assert isinstance(other, MaritalStatusRecord)
    assert not other.details.is_for_marriage

    del details["purpose"]
    error = one_error(example_record(RecordType.MARITAL_STATUS, details=details))
    assert (error["type"], error["loc"]) == ("missing", ("marital_status", "details", "purpose"))


def test_death_date_may_be_partial() -> None:
    details = example_details(RecordType.DEATH)
    details["date_of_death"] = "1968-02"
    record = parse_record(example_record(RecordType.DEATH, details=details))
    assert isinstance(record, DeathRecord)
    assert record.details.date_of_death == PartialDate(1968, 2)


# -- natural key and subjects -------------------------------------------------------------


def test_natural_key_joins_the_register_coordinates() -> None:
    record = parse_record(example_record(RecordType.BIRTH))
    assert natural_key(record) == "25459|01/2010|15|birth"


def test_natural_key_drops_leading_zeros_of_a_numeric_entry() -> None:
    a = parse_record(example_record(RecordType.BIRTH, entry_number="015"))
    b = parse_record(example_record(RecordType.BIRTH, entry_number="15"))
    assert natural_key(a) == natural_key(b)
    zero = parse_record(example_record(RecordType.BIRTH, entry_number="000"))
    assert natural_key(zero).split("|")[2] == "0"
    kept = parse_record(example_record(RecordType.BIRTH, entry_number="015/2010"))
    assert natural_key(kept).split("|")[2] == "015/2010"


def test_natural_key_differs_by_type_book_entry_and_authority() -> None:
    base = natural_key(parse_record(example_record(RecordType.BIRTH)))
    others = [
        example_record(RecordType.DEATH),
        example_record(RecordType.BIRTH, book_number="02/2010"),
        example_record(RecordType.BIRTH, entry_number="16"),
        example_record(RecordType.BIRTH, registering_authority_code="25462"),
    ]
    keys = {natural_key(parse_record(data)) for data in others}
    assert base not in keys
    assert len(keys) == len(others)


def test_natural_key_ignores_the_storing_unit() -> None:
    # Commune and district copies of one register are the same entries (principle 1).
    a = parse_record(example_record(RecordType.BIRTH, storing_unit_code="703"))
    b = parse_record(example_record(RecordType.BIRTH))
    assert natural_key(a) == natural_key(b)


def test_natural_key_normalizes_the_authority_name_when_there_is_no_code() -> None:
    a = parse_record(
        example_record(
            RecordType.MARRIAGE,
            registering_authority_code=None,
            registering_authority_name="UBND  huyện Hòa Thành",
            book_number="01/1999 ",
        )
    )
    b = parse_record(
        example_record(
            RecordType.MARRIAGE,
            registering_authority_code=None,
            registering_authority_name=unicodedata.normalize("NFD", "ubnd huyện HOÀ THÀNH"),
            book_number="01/1999",
        )
    )
    assert natural_key(a) == natural_key(b) == "ubnd huyện hòa thành|01/1999|15|marriage"


def test_natural_key_escapes_the_separator() -> None:
    record = parse_record(example_record(RecordType.BIRTH, book_number="01|2010"))
    assert natural_key(record) == "25459|01%7C2010|15|birth"
    assert len(natural_key(record).split("|")) == 4


@pytest.mark.parametrize(
    ("record_type", "names"),
    [
        (RecordType.BIRTH, ["Trần Minh Khôi"]),
        (RecordType.DEATH, ["Lê Văn Tám"]),
        (RecordType.MARRIAGE, ["Phạm Quốc Bảo", "Võ Thị Ngọc Hân"]),
        (RecordType.MARRIAGE_RECORDING, ["Sok Chanthy", "Đặng Thị Hoà"]),
        (RecordType.MARITAL_STATUS, ["Huỳnh Thị Kim Loan"]),
        (RecordType.CHANGE_CORRECTION, ["Nguyễn Hoàng Thuỷ Tiên"]),
        (RecordType.ETHNICITY_REDETERMINATION, ["Thạch Thị Sa Rên"]),
        (RecordType.SEX_REDETERMINATION, ["Trương Minh An"]),
        (RecordType.ADOPTION, ["Ngô Thanh Tâm", "Ngô Văn Lợi", "Đỗ Thị Mai"]),
        (RecordType.GUARDIANSHIP, ["Lâm Gia Huy", "Lâm Văn Quý"]),
        (RecordType.DIVORCE_RECORDING, ["Kim Sokha", "Châu Thị Bích Ngọc"]),
        (RecordType.PARENTAGE_RECOGNITION, ["Dương Văn Nhân", "Dương Thị Mỹ Duyên"]),
    ],
)
def test_subject_names(record_type: RecordType, names: list[str]) -> None:
    assert subject_names(parse_record(example_record(record_type))) == names


def test_subject_names_leave_out_absent_adopters() -> None:
    details = example_details(RecordType.ADOPTION)
    del details["adoptive_father"]
    record = parse_record(example_record(RecordType.ADOPTION, details=details))
    assert subject_names(record) == ["Ngô Thanh Tâm", "Đỗ Thị Mai"]


# -- examples -----------------------------------------------------------------------------


def test_examples_use_the_agreed_coordinates() -> None:
    for record_type in ALL_TYPES:
        data = example_record(record_type)
        assert data["record_type"] == record_type.value
        assert data["registering_authority_code"] == data["storing_unit_code"] == "25459"
        assert (data["book_number"], data["entry_number"]) == ("01/2010", "15")
        assert data["registration_date"] == "2010-03-15"


def test_examples_are_fresh_and_take_overrides() -> None:
    first = example_record(RecordType.BIRTH, entry_number="99", page=None)
    first["details"]["child"]["full_name"] = "changed"
    second = example_record(RecordType.BIRTH)
    assert second["details"]["child"]["full_name"] == "Trần Minh Khôi"
    assert (first["entry_number"], first["page"]) == ("99", None)
    assert second["entry_number"] == "15"


# -- schema descriptions ------------------------------------------------------------------


def test_every_field_has_a_description() -> None:
    schema = RECORD_ADAPTER.json_schema()
    missing = [
        f"{name}.{field}"
        for name, definition in schema["$defs"].items()
        for field, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []
