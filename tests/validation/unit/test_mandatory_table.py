"""The mandatory-field table (contracts/.../mandatory_fields.yaml) and its loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotich_contracts.mandatory import (
    MANDATORY_FIELDS_ENV,
    MandatoryFields,
    MandatoryFieldsError,
    load_mandatory_fields,
    parse_mandatory_fields,
    resolve_field_path,
)
from hotich_contracts.records import RECORD_MODELS, BirthKind, RecordType

MINIMAL_TYPES = "\n".join(f"  {t.value}: []" for t in RecordType if t is not RecordType.BIRTH)


def table_text(birth: str, common: str = "[]") -> str:
    return f"common: {common}\ntypes:\n  birth:\n{birth}\n{MINIMAL_TYPES}\n"


@pytest.fixture(scope="module")
def table() -> MandatoryFields:
    return load_mandatory_fields()


def paths(table: MandatoryFields, record_type: RecordType) -> list[str]:
    return [f.path for f in table.for_type(record_type)]


def test_packaged_table_lists_every_type_and_real_fields(table: MandatoryFields) -> None:
    assert set(table.types) == set(RecordType)
    for record_type in RecordType:
        for requirement in table.for_type(record_type):
            assert requirement.label_vi.strip()
            assert requirement.label_en.strip()
            for path in requirement.paths:
                assert resolve_field_path(RECORD_MODELS[record_type], path) is not None


def test_packaged_table_says_it_is_a_reasoned_default() -> None:
    text = (
        Path(__file__).parents[3] / "contracts/src/hotich_contracts/data/mandatory_fields.yaml"
    ).read_text(encoding="utf-8")
    assert "1437/BTP-CNTT" in text
    assert "could NOT be found" in text
    assert "REASONED DEFAULT" in text


@pytest.mark.parametrize(
    ("record_type", "expected"),
    [
        (
            RecordType.BIRTH,
            [
                "details.child.full_name",
                "details.child.date_of_birth",
                "details.child.sex",
                "details.birth_kind",
                "details.mother.full_name",
                "details.father.full_name",
            ],
        ),
        (RecordType.DEATH, ["details.deceased.full_name", "details.date_of_death"]),
        (
            RecordType.MARRIAGE,
            [
                "details.husband.full_name",
                "details.wife.full_name",
                "details.husband.date_of_birth",
                "details.wife.date_of_birth",
            ],
        ),
        (RecordType.MARITAL_STATUS, ["details.subject.full_name"]),
        (
            RecordType.CHANGE_CORRECTION,
            ["details.subject.full_name", "details.subject.date_of_birth", "details.changes"],
        ),
        (
            RecordType.SEX_REDETERMINATION,
            [
                "details.subject.full_name",
                "details.subject.date_of_birth",
                "details.sex_after",
                "details.decision",
            ],
        ),
        (
            RecordType.ADOPTION,
            ["details.child.full_name", "details.adoptive_father.full_name"],
        ),
        (RecordType.GUARDIANSHIP, ["details.ward.full_name", "details.guardian.full_name"]),
        (RecordType.DIVORCE_RECORDING, ["details.husband.full_name", "details.wife.full_name"]),
    ],
)
def test_the_reasoned_default(
    table: MandatoryFields, record_type: RecordType, expected: list[str]
) -> None:
    metadata = ["book_number", "entry_number", "registration_date"]
    assert paths(table, record_type) == metadata + expected


def test_conditions_and_alternatives(table: MandatoryFields) -> None:
    birth = {f.path: f for f in table.for_type(RecordType.BIRTH)}
    mother = birth["details.mother.full_name"].when
    assert mother is not None
    assert mother.path == "details.birth_kind"
    assert mother.values == {BirthKind.BOTH_PARENTS_KNOWN, BirthKind.FATHER_UNKNOWN}
    marriage = {f.path: f for f in table.for_type(RecordType.MARRIAGE)}
    assert marriage["details.wife.date_of_birth"].alternatives == ("details.wife.age",)
    adoption = {f.path: f for f in table.for_type(RecordType.ADOPTION)}
    assert adoption["details.adoptive_father.full_name"].paths == (
        "details.adoptive_father.full_name",
        "details.adoptive_mother.full_name",
    )


REQ = "    - {{path: {path}, label_vi: x, label_en: x}}"


@pytest.mark.parametrize(
    ("birth", "message"),
    [
        (REQ.format(path="details.child.nickname"), "details.child.nickname is not a field"),
        (REQ.format(path="details.changes"), "details.changes is not a field of BirthRecord"),
        (REQ.format(path="details.child.full_name.first"), "is not a field"),
        (
            "    - {path: details.mother.full_name, label_vi: x, label_en: x,"
            " when: {path: details.birth_kind, in: [twins]}}",
            "['twins'] are not among",
        ),
        (
            "    - {path: details.mother.full_name, label_vi: x, label_en: x,"
            " when: {path: details.kind, in: [a]}}",
            "condition field details.kind is not a field",
        ),
        (
            "    - {path: details.child.full_name, label_vi: x, label_en: x,"
            " alternatives: [details.child.alias]}",
            "details.child.alias is not a field",
        ),
        (REQ.format(path="book_number"), "book_number is listed twice"),
        (REQ.format(path="Details.Child"), "should match pattern"),
        ("    - {path: details.child.full_name, label_vi: '', label_en: x}", "at least 1"),
    ],
)
def test_bad_tables_are_refused_with_the_reason(birth: str, message: str) -> None:
    text = table_text(birth, common="[{path: book_number, label_vi: x, label_en: x}]")
    with pytest.raises(MandatoryFieldsError, match="mandatory.yaml") as caught:
        parse_mandatory_fields(text, where="mandatory.yaml")
    assert message in str(caught.value)


def test_every_type_must_be_listed() -> None:
    with pytest.raises(MandatoryFieldsError, match="record types not listed") as caught:
        parse_mandatory_fields("types:\n  birth: []\n")
    assert "parentage_recognition" in str(caught.value)


def test_unknown_type_and_non_mapping_are_refused() -> None:
    with pytest.raises(MandatoryFieldsError, match="birthday"):
        parse_mandatory_fields(table_text("    []") + "  birthday: []\n")
    with pytest.raises(MandatoryFieldsError, match="must hold a mapping"):
        parse_mandatory_fields("- a\n- b\n")
    with pytest.raises(MandatoryFieldsError, match="not valid YAML"):
        parse_mandatory_fields("types: [unclosed\n")


def test_env_override_and_explicit_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    custom = tmp_path / "mandatory.yaml"
    custom.write_text(table_text(REQ.format(path="details.place_of_birth")), encoding="utf-8")
    monkeypatch.setenv(MANDATORY_FIELDS_ENV, str(custom))
    from_env = load_mandatory_fields()
    assert [f.path for f in from_env.for_type(RecordType.BIRTH)] == ["details.place_of_birth"]
    assert from_env == load_mandatory_fields(custom)
    monkeypatch.delenv(MANDATORY_FIELDS_ENV)
    assert load_mandatory_fields() != from_env
    with pytest.raises(MandatoryFieldsError, match="does not exist"):
        load_mandatory_fields(tmp_path / "missing.yaml")


def test_fingerprint_follows_content_not_layout(table: MandatoryFields, tmp_path: Path) -> None:
    assert table.fingerprint() == load_mandatory_fields().fingerprint()
    one = parse_mandatory_fields(table_text(REQ.format(path="details.place_of_birth")))
    spaced = parse_mandatory_fields(
        "# a comment\n" + table_text(REQ.format(path="details.place_of_birth"))
    )
    other = parse_mandatory_fields(table_text(REQ.format(path="details.birth_kind")))
    assert one.fingerprint() == spaced.fingerprint()
    assert one.fingerprint() != other.fingerprint()
    assert len(one.fingerprint()) == 64
