"""The generator's probable duplicates are pairs dedup's documented rules can flag."""

from __future__ import annotations

import pytest

from hotich_contracts.records import parse_record
from hotich_dedup.domain.names import name_form, name_similarity
from hotich_dedup.domain.profile import build_profile
from hotich_dedup.domain.scoring import compare
from hotich_local.synth import GenerationConfig, Item, generate
from hotich_local.synth.names import typo


@pytest.fixture(scope="module")
def items() -> list[Item]:
    # Province-level books included: foreign spouses' hyphenated names (Sung-ho).
    return list(generate(GenerationConfig(seed=2547, total=40_000, province_level=800)))


def test_every_probable_duplicate_scores_as_one_against_its_original(items: list[Item]) -> None:
    by_id = {item["truth"]["id"]: item for item in items}
    pairs = 0
    for item in items:
        truth = item["truth"]
        if truth["duplicate_kind"] != "probable" or truth["final_status"] == "rejected":
            continue
        original = by_id[truth["duplicate_of"] or ""]
        copy, first = (
            build_profile(
                parse_record(i["record"]), record_id=i["truth"]["id"], version=1, unit_code="u"
            )
            for i in (item, original)
        )
        assert copy is not None
        assert first is not None
        assert set(copy.blocking_keys) & set(first.blocking_keys), truth
        assert compare(copy, first).is_match, (truth, item["record"]["details"])
        assert compare(first, copy).points == compare(copy, first).points
        if truth["record_type"] == "birth":
            # A parentless birth holds only what namesakes share: never re-registered.
            assert copy.related, truth
        pairs += 1
    assert pairs > 250


@pytest.mark.parametrize("name", ["Park Sung-ho", "Lin Kuo-Hua", "Kim Dong-hyun", "Lê Thị Vy"])
def test_a_slip_in_a_hyphenated_name_stays_one_slip(name: str) -> None:
    steps = [i / 40 for i in range(40)]
    for u in steps:
        for v in steps:
            slipped = typo(name, u, v)
            assert slipped != name
            original, variant = name_form(name), name_form(slipped)
            assert original is not None
            assert variant is not None
            assert name_similarity(original, variant) >= 0.9, (u, v, slipped)
