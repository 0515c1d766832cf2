"""The survey baseline lists exactly the books the generator fills."""

from __future__ import annotations

from collections import Counter

from hotich_contracts.records import RECORD_ADAPTER
from hotich_local.synth import GenerationConfig, Item, survey_rows


def test_survey_counts_match_the_generated_entries_per_book(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    rows = list(survey_rows(sample_config))
    assert len({row.book_id for row in rows}) == len(rows)
    entries = Counter[str]()
    migrated = Counter[str]()
    for item in sample:
        truth = item["truth"]
        if truth["duplicate_kind"] == "exact":
            continue
        entries[truth["book_id"]] += 1
        migrated[truth["book_id"]] += truth["source"] == "migration"
    assert {row.book_id: row.entries for row in rows} == dict(entries)
    assert {row.book_id: row.migrated_entries for row in rows if row.migrated_entries} == {
        book: n for book, n in migrated.items() if n
    }
    exact = sum(i["truth"]["duplicate_kind"] == "exact" for i in sample)
    assert sum(row.entries for row in rows) == len(sample) - exact


def test_items_carry_their_books_coordinates(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    rows = {row.book_id: row for row in survey_rows(sample_config)}
    for item in sample:
        truth = item["truth"]
        row = rows[truth["book_id"]]
        record = item["record"]
        assert record["record_type"] == row.record_type
        assert record["book_number"] == row.book_number
        if not truth["malformed"]:
            parsed = RECORD_ADAPTER.validate_python(record)
            assert parsed.registration_date.year == row.year_from == row.year_to
            number = int(parsed.entry_number.split("/")[0])
            assert row.first_entry <= number < row.first_entry + row.entries
            if row.registering_authority_known:
                assert parsed.registering_authority_code == row.unit_code
            else:
                assert parsed.registering_authority_code is None


def test_not_enterable_entries_come_from_damaged_books(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    condition = {row.book_id: row.condition for row in survey_rows(sample_config)}
    torn = [i for i in sample if "not_enterable" in i["truth"]["noise"]]
    assert torn
    assert all(condition[i["truth"]["book_id"]] == "damaged" for i in torn)
    assert Counter(condition.values())["intact"] > Counter(condition.values())["damaged"]


def test_books_of_a_year_number_on_and_stay_within_capacity() -> None:
    config = GenerationConfig(
        seed=8, total=10_000, province_level=0, units=("25459",), book_capacity=50
    )
    by_register: dict[tuple[str, str, int], list[tuple[int, int, int]]] = {}
    for row in survey_rows(config):
        assert 1 <= row.entries <= 50
        by_register.setdefault((row.unit_code, row.record_type, row.year_from), []).append(
            (int(row.book_number.split("/")[0]), row.first_entry, row.entries)
        )
    assert any(len(books) > 1 for books in by_register.values())
    for books in by_register.values():
        expected_first = 1
        for sequence, (number, first, count) in enumerate(sorted(books), start=1):
            assert number == sequence
            assert first == expected_first
            expected_first += count
