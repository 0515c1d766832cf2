"""The generator: determinism, valid records, exact counts, duplicates, plan agreement."""

from __future__ import annotations

import io
import itertools
import random
from collections import Counter
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from hotich_contracts.dates import PartialDate
from hotich_contracts.plan import Plan
from hotich_contracts.records import RECORD_ADAPTER, DeathRecord, natural_key, subject_names
from hotich_contracts.units import UnitRegistry
from hotich_local.synth import (
    PROBABLE_PROVINCE_LEVEL,
    GenerationConfig,
    Item,
    generate,
)
from hotich_local.synth.generator import date_in_words
from hotich_local.synth.writers import write_ndjson
from hotich_validation.domain.entering_unit import check_entering_unit
from hotich_validation.domain.phases import assign_phase


def ndjson(config: GenerationConfig) -> bytes:
    out = io.StringIO()
    write_ndjson(generate(config), out)
    return out.getvalue().encode("utf-8")


# -- determinism ------------------------------------------------------------------------


def test_same_seed_gives_identical_bytes_and_another_seed_does_not() -> None:
    config = GenerationConfig(seed=5, total=3_000, province_level=60)
    first, again = ndjson(config), ndjson(config)
    assert first == again
    assert len(first) > 3_000 * 500  # a real stream of full records
    other = ndjson(config.model_copy(update={"seed": 6}))
    assert other != first
    assert other.count(b"\n") == first.count(b"\n") == 3_000


def test_a_prefix_of_the_stream_does_not_depend_on_how_far_it_is_read() -> None:
    config = GenerationConfig(seed=9, total=2_000, province_level=40)
    head = list(itertools.islice(generate(config), 300))
    assert head == list(generate(config))[:300]


# -- records ----------------------------------------------------------------------------


def test_every_record_not_meant_to_be_malformed_validates(sample: list[Item]) -> None:
    malformed = 0
    for item in sample:
        if item["truth"]["malformed"]:
            malformed += 1
            with pytest.raises(ValidationError):
                RECORD_ADAPTER.validate_python(item["record"])
        else:
            record = RECORD_ADAPTER.validate_python(item["record"])
            assert record.record_type.value == item["truth"]["record_type"]
            assert record.source.value == item["truth"]["source"]
    assert malformed > 0


def test_ids_are_unique_and_duplicates_point_backwards(sample: list[Item]) -> None:
    position = {item["truth"]["id"]: i for i, item in enumerate(sample)}
    assert len(position) == len(sample)
    for i, item in enumerate(sample):
        original = item["truth"]["duplicate_of"]
        if original is not None:
            assert position[original] < i


# -- counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "province"),
    [(20_000, 400), (7_331, PROBABLE_PROVINCE_LEVEL // 100), (1_000, 0), (500, 500)],
)
def test_counts_add_up_exactly(total: int, province: int) -> None:
    config = GenerationConfig(seed=3, total=total, province_level=province)
    levels = Counter(item["truth"]["level"] for item in generate(config))
    assert sum(levels.values()) == total
    assert levels["province"] == province


def test_a_unit_selection_limits_the_registers_and_keeps_the_total() -> None:
    config = GenerationConfig(seed=3, total=2_000, province_level=100, units=("709",))
    items = list(generate(config))
    assert len(items) == 2_000
    units = {item["truth"]["book_id"].split("/")[0] for item in items}
    assert "709" in units
    assert all(code == "709" or code.startswith("256") for code in units)
    assert Counter(item["truth"]["level"] for item in items)["province"] == 0


def test_the_province_alone_takes_the_whole_total() -> None:
    config = GenerationConfig(seed=3, total=300, province_level=10, units=("72",))
    assert {item["truth"]["level"] for item in generate(config)} == {"province"}
    assert sum(1 for _ in generate(config)) == 300


def test_an_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="99999"):
        next(generate(GenerationConfig(total=10, province_level=0, units=("99999",))))


# -- duplicates -------------------------------------------------------------------------


def test_exact_duplicates_share_the_natural_key_of_their_original(
    sample: list[Item], by_id: dict[str, Item]
) -> None:
    exact = [i for i in sample if i["truth"]["duplicate_kind"] == "exact"]
    assert exact
    for item in exact:
        original_id = item["truth"]["duplicate_of"]
        assert original_id is not None
        original = by_id[original_id]
        assert item["truth"]["book_id"] == original["truth"]["book_id"]
        assert item["truth"]["outcome"] == "rejected"
        if original["truth"]["malformed"]:
            assert item["truth"]["malformed"]
            assert item["truth"]["reasons"] == ["malformed"]
            continue
        dup = RECORD_ADAPTER.validate_python(item["record"])
        first = RECORD_ADAPTER.validate_python(original["record"])
        assert natural_key(dup) == natural_key(first)
        if original["truth"]["reasons"]:
            assert item["truth"]["reasons"] == original["truth"]["reasons"]
        else:
            assert item["truth"]["reasons"] == ["duplicate_exact"]


def test_probable_duplicates_are_the_same_event_under_other_coordinates(
    sample: list[Item], by_id: dict[str, Item]
) -> None:
    probable = [i for i in sample if i["truth"]["duplicate_kind"] == "probable"]
    assert len(probable) > 50
    other_unit = 0
    for item in probable:
        truth = item["truth"]
        assert truth["duplicate_of"] is not None
        original = by_id[truth["duplicate_of"]]
        assert truth["final_status"] == "duplicate_suspected"
        assert truth["outcome"] == "valid"
        assert original["truth"]["final_status"] == "accepted"
        assert original["truth"]["record_type"] == truth["record_type"]
        dup = RECORD_ADAPTER.validate_python(item["record"])
        first = RECORD_ADAPTER.validate_python(original["record"])
        assert natural_key(dup) != natural_key(first)
        assert len(subject_names(dup)) == len(subject_names(first))
        assert dup.registration_date >= first.registration_date
        other_unit += dup.registering_authority_code != first.registering_authority_code
    assert other_unit > 0  # some are registered at another unit, not only re-registered


# -- agreement with the plan's rules ----------------------------------------------------


def _purpose(record: dict[str, Any]) -> str | None:
    if record["record_type"] != "marital_status":
        return None
    return str(record["details"]["purpose"])


def test_truth_agrees_with_the_plan_rules_on_a_sample(
    sample: list[Item], plan: Plan, registry: UnitRegistry
) -> None:
    rng = random.Random(1)
    candidates = [
        i for i in sample if not i["truth"]["malformed"] and i["truth"]["duplicate_kind"] != "exact"
    ]
    checked = Counter[str]()
    for item in rng.sample(candidates, 3_000):
        record, truth = item["record"], item["truth"]
        registration = date.fromisoformat(record["registration_date"])
        entered = date.fromisoformat(truth["entered_on"])
        decision = assign_phase(
            record_type=record["record_type"],
            registration_date=registration,
            unit_code=truth["entering_unit_code"],
            source=record["source"],
            marital_purpose=_purpose(record),
            entered_on=entered,
            plan=plan,
            registry=registry,
        )
        unit_reasons = check_entering_unit(
            clerk_unit=truth["entering_unit_code"],
            registering_authority_code=record["registering_authority_code"],
            storing_unit_code=record["storing_unit_code"],
            registration_date=registration,
            entered_on=entered,
            registry=registry,
        )
        unreadable = record.get("unreadable_fields", [])
        mandatory_unreadable = any(
            path.endswith(("full_name", "date_of_birth", "date_of_death")) for path in unreadable
        )
        expected = [str(r.code) for r in decision.reasons] + [str(r.code) for r in unit_reasons]
        if mandatory_unreadable:
            expected.append("not_enterable")
        assert decision.phase == truth["phase"], truth
        assert not decision.late, truth
        assert expected == truth["reasons"], truth
        checked[str(truth["phase"])] += 1
        checked[truth["outcome"]] += 1
    assert {"1", "2", "3", "migration", "None", "valid", "rejected"} <= set(checked)


def test_defunct_and_unknown_authorities_are_entered_by_the_storing_unit(
    sample: list[Item], registry: UnitRegistry
) -> None:
    unknown = [i for i in sample if "unknown_authority" in i["truth"]["noise"]]
    assert unknown
    for item in unknown:
        record = item["record"]
        assert record["registering_authority_code"] is None
        assert record["registering_authority_name"]
        assert item["truth"]["entering_unit_code"] == record["storing_unit_code"]
    # Phước Lưu (25726) merged into Phước Bình (25729) on 2020-02-01.
    config = GenerationConfig(seed=2, total=3_000, province_level=0, units=("25726",))
    entered_after = 0
    for item in generate(config):
        record, truth = item["record"], item["truth"]
        if "wrong_entering_unit" in truth["noise"]:
            continue
        if date.fromisoformat(truth["entered_on"]) > date(2020, 1, 31):
            entered_after += 1
            assert truth["entering_unit_code"] == record["storing_unit_code"] == "25729"
        else:
            assert truth["entering_unit_code"] == "25726"
    assert entered_after > 0


# -- content ----------------------------------------------------------------------------


def _full(value: str | None) -> date | None:
    if value is None or len(value) != 10:
        return None
    return date.fromisoformat(value)


def test_person_dates_are_consistent_with_the_registration(sample: list[Item]) -> None:
    for item in sample:
        if item["truth"]["malformed"]:
            continue
        record = item["record"]
        registered = date.fromisoformat(record["registration_date"])
        details = record["details"]
        kind = record["record_type"]
        if kind == "birth":
            born = details["child"].get("date_of_birth")
            if born is not None:
                assert PartialDate.parse(born).earliest() <= registered
        elif kind == "death":
            died = details.get("date_of_death")
            born = details["deceased"].get("date_of_birth")
            if died is not None:
                assert PartialDate.parse(died).earliest() <= registered
                if born is not None:
                    assert PartialDate.parse(born).earliest() <= PartialDate.parse(died).latest()
        elif kind == "marriage" and item["truth"]["duplicate_kind"] is None:
            for spouse, minimum in (("husband", 20), ("wife", 18)):
                born = _full(details[spouse].get("date_of_birth"))
                if born is not None:
                    assert (registered - born).days >= minimum * 365


def test_identity_numbers_fit_the_era_sex_and_birth_year(sample: list[Item]) -> None:
    seen = Counter[str]()

    def persons(value: Any) -> Any:
        if isinstance(value, dict):
            if "identity_number" in value:
                yield value
            for child in value.values():
                yield from persons(child)

    for item in sample:
        if item["truth"]["malformed"]:
            continue
        registered = date.fromisoformat(item["record"]["registration_date"])
        for person in persons(item["record"]["details"]):
            number = person["identity_number"]
            kind = person.get("identity_document_type")
            seen[kind] += 1
            if kind == "cmnd":
                assert len(number) == 9
                assert number.isdigit()
            elif kind == "cccd":
                assert registered.year >= 2016
                assert len(number) == 12
                assert number[:3] in {"072", "079", "080"}
                born = person["date_of_birth"][:4]
                century = (int(born) // 100 - 19) * 2
                assert number[3] == str(century + (0 if person["sex"] == "male" else 1))
                assert number[4:6] == born[2:]
    assert seen["cmnd"] > 1_000
    assert seen["cccd"] > 0
    assert seen["passport"] > 0


def test_partial_dates_appear_in_old_registers_only(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    old_partial = 0
    for item in sample:
        if "partial_date" not in item["truth"]["noise"]:
            continue
        record = item["record"]
        book_year = int(item["truth"]["book_id"].split("/")[2])
        assert book_year <= sample_config.old_register_until
        assert record["source"] == "manual"
        if not item["truth"]["malformed"]:
            parsed = RECORD_ADAPTER.validate_python(record)
            dates = [p.date_of_birth for p in parsed.details.subjects()]
            if isinstance(parsed, DeathRecord):
                dates.append(parsed.details.date_of_death)
            if any(d is not None and d.precision.value != "day" for d in dates):
                old_partial += 1
    assert old_partial > 200


def test_dates_in_words_read_like_the_registers() -> None:
    assert date_in_words(date(2010, 2, 27)) == (
        "Ngày hai mươi bảy, tháng hai, năm hai nghìn không trăm mười"
    )
    assert date_in_words(date(1985, 4, 21)) == (
        "Ngày hai mươi mốt, tháng tư, năm một nghìn chín trăm tám mươi lăm"
    )
    assert date_in_words(date(2005, 11, 15)).endswith("năm hai nghìn không trăm linh năm")
