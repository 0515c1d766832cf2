"""Noise rates are honoured: exactly where allocated, within tolerance where drawn."""

from __future__ import annotations

from collections import Counter

import pytest

from hotich_local.synth import GenerationConfig, Item, NoiseRates, generate, survey_rows
from tests.synth.conftest import SAMPLE_PROVINCE, SAMPLE_TOTAL


def _share(hits: int, population: int) -> float:
    assert population > 0
    return hits / population


def _entries(sample: list[Item]) -> list[Item]:
    """Distinct register entries: re-keyed exact duplicates left out."""
    return [i for i in sample if i["truth"]["duplicate_kind"] != "exact"]


def _book_year(item: Item) -> int:
    return int(item["truth"]["book_id"].split("/")[2])


def test_allocated_kinds_have_exactly_their_share(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    rates = sample_config.rates
    local = SAMPLE_TOTAL - SAMPLE_PROVINCE
    duplicates = {
        "province": round(SAMPLE_PROVINCE * rates.duplicate_exact),
        "local": round(local * rates.duplicate_exact),
    }
    exact = [i for i in sample if i["truth"]["duplicate_kind"] == "exact"]
    assert len(exact) == sum(duplicates.values())
    entries = {
        "province": SAMPLE_PROVINCE - duplicates["province"],
        "local": local - duplicates["local"],
    }

    def planned(rate: float) -> int:
        return sum(round(n * rate) for n in entries.values())

    distinct = _entries(sample)
    sources = Counter(i["truth"]["source"] for i in distinct)
    noise = Counter(n for i in distinct for n in i["truth"]["noise"])
    assert sources["migration"] == planned(rates.migration)
    assert noise["out_of_scope_date"] == planned(rates.out_of_scope_date)
    assert noise["out_of_scope_type"] == planned(rates.out_of_scope_type)


@pytest.mark.parametrize(
    ("kind", "tolerance"),
    [
        ("not_enterable", 0.25),
        ("damaged_readable", 0.35),
        ("wrong_entering_unit", 0.35),
        ("malformed", 0.6),
    ],
)
def test_entry_level_rejections_match_their_rate(
    sample: list[Item], sample_config: GenerationConfig, kind: str, tolerance: float
) -> None:
    in_scope_manual = [
        i
        for i in _entries(sample)
        if i["truth"]["source"] == "manual"
        and not {"out_of_scope_date", "out_of_scope_type"} & set(i["truth"]["noise"])
    ]
    hits = sum(kind in i["truth"]["noise"] for i in in_scope_manual)
    expected = getattr(sample_config.rates, kind)
    assert _share(hits, len(in_scope_manual)) == pytest.approx(expected, rel=tolerance)


@pytest.mark.parametrize("kind", ["typo", "diacritic_variant"])
def test_name_noise_matches_its_rate(
    sample: list[Item], sample_config: GenerationConfig, kind: str
) -> None:
    plain = [i for i in _entries(sample) if i["truth"]["duplicate_kind"] is None]
    hits = sum(kind in i["truth"]["noise"] for i in plain)
    assert _share(hits, len(plain)) == pytest.approx(getattr(sample_config.rates, kind), rel=0.2)


def test_partial_dates_match_their_rate_in_old_registers(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    old = [
        i
        for i in _entries(sample)
        if i["truth"]["duplicate_kind"] is None
        and i["truth"]["source"] == "manual"
        and _book_year(i) <= sample_config.old_register_until
    ]
    hits = sum("partial_date" in i["truth"]["noise"] for i in old)
    # A few partial draws find nothing left to cut (a date already unreadable).
    assert _share(hits, len(old)) == pytest.approx(sample_config.rates.partial_date, rel=0.15)


def test_marital_status_for_other_purposes_matches_its_rate(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    certificates = [
        i
        for i in _entries(sample)
        if i["truth"]["record_type"] == "marital_status"
        and not {"out_of_scope_date", "malformed", "wrong_entering_unit", "not_enterable"}
        & set(i["truth"]["noise"])
    ]
    other = [i for i in certificates if i["record"]["details"]["purpose"] == "other"]
    assert all(i["truth"]["reasons"] == ["marital_status_not_for_marriage"] for i in other), (
        "a certificate for another purpose is rejected for that reason only"
    )
    assert _share(len(other), len(certificates)) == pytest.approx(
        sample_config.rates.marital_status_other, rel=0.3
    )


def test_probable_duplicates_match_their_rate(
    sample: list[Item], sample_config: GenerationConfig
) -> None:
    eligible = [
        i
        for i in _entries(sample)
        if i["truth"]["record_type"] in {"birth", "death", "marriage"}
        and i["truth"]["source"] == "manual"
        and (i["truth"]["outcome"] == "valid")
    ]
    hits = sum(i["truth"]["duplicate_kind"] == "probable" for i in eligible)
    # Early entries find no earlier event to repeat, hence the wider tolerance.
    assert _share(hits, len(eligible)) == pytest.approx(
        sample_config.rates.duplicate_probable, rel=0.35
    )


def test_unknown_authorities_match_their_rate_among_old_commune_books(
    sample_config: GenerationConfig,
) -> None:
    books = [
        row
        for row in survey_rows(sample_config)
        if row.level == "commune" and row.year_from <= 1990
    ]
    unknown = sum(not row.registering_authority_known for row in books)
    assert _share(unknown, len(books)) == pytest.approx(
        sample_config.rates.unknown_authority, rel=0.35
    )


def test_zero_rates_give_a_clean_stream() -> None:
    zero = NoiseRates(**dict.fromkeys(NoiseRates.model_fields, 0.0))
    config = GenerationConfig(seed=4, total=3_000, province_level=60, rates=zero)
    items = list(generate(config))
    assert len(items) == 3_000
    assert all(i["truth"]["noise"] == [] for i in items)
    assert all(i["truth"]["final_status"] == "accepted" for i in items)
    assert all(i["truth"]["phase"] in (1, 2, 3) for i in items)


def test_a_high_exact_duplicate_rate_is_still_exact() -> None:
    config = GenerationConfig(
        seed=4, total=2_001, province_level=101, rates=NoiseRates(duplicate_exact=0.2)
    )
    kinds = Counter(i["truth"]["duplicate_kind"] for i in generate(config))
    assert kinds["exact"] == round(101 * 0.2) + round(1_900 * 0.2)
