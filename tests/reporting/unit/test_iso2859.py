"""ISO 2859-1 tables (level II, single sampling, normal inspection) against published values."""

from __future__ import annotations

import pytest

from hotich_reporting.domain.iso2859 import (
    AQLS,
    CODE_LETTERS,
    SAMPLE_SIZES,
    TABLE_2A,
    code_letter,
    plan_for,
    single_sampling_plan,
)

# Table 1, general inspection level II: lot size boundaries and their code letters.
TABLE_1 = [
    (2, "A"), (8, "A"), (9, "B"), (15, "B"), (16, "C"), (25, "C"), (26, "D"), (50, "D"),
    (51, "E"), (90, "E"), (91, "F"), (150, "F"), (151, "G"), (280, "G"), (281, "H"),
    (500, "H"), (501, "J"), (1200, "J"), (1201, "K"), (3200, "K"), (3201, "L"),
    (10000, "L"), (10001, "M"), (35000, "M"), (35001, "N"), (150000, "N"),
    (150001, "P"), (500000, "P"), (500001, "Q"), (1366849, "Q"),
]  # fmt: skip

# Table 2-A as published (MIL-STD-105E Table II-A, identical in ISO 2859-1), columns
# AQL 0.65 1.0 1.5 2.5 4.0 6.5 10: the rejection number Re of each plan, "v" / "^" for
# the arrows. Transcribed row by row from the printed table.
PUBLISHED_RE = {
    "A": "v v v v v 1 ^",
    "B": "v v v v 1 ^ v",
    "C": "v v v 1 ^ v 2",
    "D": "v v 1 ^ v 2 3",
    "E": "v 1 ^ v 2 3 4",
    "F": "1 ^ v 2 3 4 6",
    "G": "^ v 2 3 4 6 8",
    "H": "v 2 3 4 6 8 11",
    "J": "2 3 4 6 8 11 15",
    "K": "3 4 6 8 11 15 22",
    "L": "4 6 8 11 15 22 ^",
    "M": "6 8 11 15 22 ^ ^",
    "N": "8 11 15 22 ^ ^ ^",
    "P": "11 15 22 ^ ^ ^ ^",
    "Q": "15 22 ^ ^ ^ ^ ^",
}
COLUMNS = ("0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10")


@pytest.mark.parametrize(("lot_size", "letter"), TABLE_1)
def test_code_letters_of_level_two(lot_size: int, letter: str) -> None:
    assert code_letter(lot_size) == letter


def test_sample_sizes_of_the_code_letters() -> None:
    assert SAMPLE_SIZES == {
        "A": 2, "B": 3, "C": 5, "D": 8, "E": 13, "F": 20, "G": 32, "H": 50,
        "J": 80, "K": 125, "L": 200, "M": 315, "N": 500, "P": 800, "Q": 1250, "R": 2000,
    }  # fmt: skip
    assert tuple("ABCDEFGHJKLMNPQR") == CODE_LETTERS
    assert AQLS[0] == "0.010"
    assert AQLS[-1] == "10"


@pytest.mark.parametrize("letter", sorted(PUBLISHED_RE))
def test_table_2a_matches_the_published_table(letter: str) -> None:
    for aql, printed in zip(COLUMNS, PUBLISHED_RE[letter].split(), strict=True):
        cell = TABLE_2A[letter][aql]
        if printed in ("v", "^"):
            assert cell == printed, (letter, aql)
        else:
            assert isinstance(cell, tuple), (letter, aql)
            assert cell[1] == int(printed), (letter, aql)
            assert cell[0] == cell[1] - 1  # single sampling: Re = Ac + 1


def test_acceptance_numbers_run_along_the_diagonals() -> None:
    series = [0, 1, 2, 3, 5, 7, 10, 14, 21]
    for letter, row in TABLE_2A.items():
        numbers = [cell[0] for cell in row.values() if isinstance(cell, tuple)]
        assert numbers == sorted(numbers)
        assert set(numbers) <= set(series), letter


@pytest.mark.parametrize(
    ("lot_size", "aql", "expected"),
    [
        # frequently quoted plans: (sample size, Ac, Re)
        (1000, "2.5", (80, 5, 6)),
        (1000, "1.0", (80, 2, 3)),
        (1000, "4.0", (80, 7, 8)),
        (2000, "2.5", (125, 7, 8)),
        (2000, "1.5", (125, 5, 6)),
        (5000, "2.5", (200, 10, 11)),
        (5000, "0.65", (200, 3, 4)),
        (400, "2.5", (50, 3, 4)),
        (200, "2.5", (32, 2, 3)),
        (120, "2.5", (20, 1, 2)),
        # arrows: E / AQL 2.5 points down to F's plan, D / 2.5 up to C's
        (60, "2.5", (20, 1, 2)),
        (40, "2.5", (5, 0, 1)),
        (20000, "0.10", (500, 1, 2)),  # M / 0.10 points down to N
        (200000, "1.0", (800, 14, 15)),
        (1366849, "1.0", (1250, 21, 22)),
        (1366849, "0.010", (1250, 0, 1)),
        (600000, "0.025", (2000, 1, 2)),
    ],
)
def test_sampling_plans(lot_size: int, aql: str, expected: tuple[int, int, int]) -> None:
    plan = single_sampling_plan(lot_size, aql)
    assert (plan.sample_size, plan.acceptance_number, plan.rejection_number) == expected


def test_small_lots_are_inspected_whole() -> None:
    plan = single_sampling_plan(4, "0.65")  # A -> down to F (n=20, 0/1): more than the lot
    assert plan.full_inspection
    assert plan.sample_size == 4
    assert (plan.plan_letter, plan.acceptance_number, plan.rejection_number) == ("F", 0, 1)
    assert single_sampling_plan(1, "1.0").sample_size == 1


def test_an_arrow_off_the_table_is_followed_the_other_way() -> None:
    # Row A under AQL 10 points up, above the table: the first plan below is used.
    assert plan_for("A", "10") == ("C", 1, 2)


@pytest.mark.parametrize("aql", ["1", 1.0, "1.00"])
def test_aql_spellings(aql: object) -> None:
    assert single_sampling_plan(1000, aql).aql == "1.0"  # type: ignore[arg-type]


def test_aqls_outside_the_table_are_refused() -> None:
    with pytest.raises(ValueError, match="not in ISO 2859-1"):
        single_sampling_plan(1000, "0.3")
    with pytest.raises(ValueError, match="at least one"):
        single_sampling_plan(0, "1.0")
