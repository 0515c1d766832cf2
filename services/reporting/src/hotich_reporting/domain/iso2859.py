"""ISO 2859-1 sampling by attributes: general inspection level II, single sampling.

Normal inspection; the same tables as MIL-STD-105E and ANSI/ASQ Z1.4.

Two tables, kept as data exactly as the standard prints them:

* **Table 1**, sample size code letters by lot size, column "general inspection
  level II";
* **Table 2-A**, single sampling plans for normal inspection (master table): the sample
  size of each code letter, and for each AQL the acceptance and rejection numbers
  (``Ac/Re``), or an arrow: ``v`` use the first plan below the arrow (a larger sample),
  ``^`` the first plan above it (a smaller sample).

Only the AQL columns up to 10 are kept: acceptance of digitized records counts
*nonconforming items* (a record is correct or defective), and the standard reserves
the AQLs above 10 for nonconformities per hundred items.

Where an arrow would lead out of the table (``^`` in row A under AQL 10, ``v`` in row
R), the plan is looked for in the other direction; of these, level II can only reach
row A under AQL 10, for lots of 2 to 8 records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "AQLS",
    "CODE_LETTERS",
    "LEVEL_II_CODE_LETTERS",
    "SAMPLE_SIZES",
    "SamplingPlan",
    "TABLE_2A",
    "code_letter",
    "plan_for",
    "single_sampling_plan",
]

LEVEL_II_CODE_LETTERS: Final[tuple[tuple[int, int | None, str], ...]] = (
    (2, 8, "A"),
    (9, 15, "B"),
    (16, 25, "C"),
    (26, 50, "D"),
    (51, 90, "E"),
    (91, 150, "F"),
    (151, 280, "G"),
    (281, 500, "H"),
    (501, 1200, "J"),
    (1201, 3200, "K"),
    (3201, 10000, "L"),
    (10001, 35000, "M"),
    (35001, 150000, "N"),
    (150001, 500000, "P"),
    (500001, None, "Q"),
)
"""ISO 2859-1 Table 1, general inspection level II: (lot size from, to, code letter)."""

_TABLE_2A_TEXT: Final = """
     0.010 0.015 0.025 0.040 0.065  0.10  0.15  0.25  0.40  0.65   1.0   1.5   2.5   4.0   6.5    10
A  2     v     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^
B  3     v     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v
C  5     v     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2
D  8     v     v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3
E  13    v     v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4
F  20    v     v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6
G  32    v     v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8
H  50    v     v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11
J  80    v     v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15
K  125   v     v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22
L  200   v     v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^
M  315   v     v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^
N  500   v     v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^
P  800   v   0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^
Q  1250 0/1     ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^
R  2000  ^     v   1/2   2/3   3/4   5/6   7/8 10/11 14/15 21/22     ^     ^     ^     ^     ^     ^
"""
"""ISO 2859-1 Table 2-A (single sampling, normal inspection), AQL columns 0.010 to 10:
code letter, sample size, then per AQL ``Ac/Re`` or an arrow."""

Cell = tuple[int, int] | str


def _parse_table(text: str) -> tuple[tuple[str, ...], dict[str, int], dict[str, dict[str, Cell]]]:
    lines = [line for line in text.strip("\n").splitlines() if line.strip()]
    aqls = tuple(lines[0].split())
    sizes: dict[str, int] = {}
    table: dict[str, dict[str, Cell]] = {}
    for line in lines[1:]:
        letter, size, *cells = line.split()
        if len(cells) != len(aqls):
            raise ValueError(f"row {letter}: {len(cells)} cells for {len(aqls)} AQLs")
        sizes[letter] = int(size)
        row: dict[str, Cell] = {}
        for aql, cell in zip(aqls, cells, strict=True):
            if cell in ("v", "^"):
                row[aql] = cell
            else:
                ac, re = cell.split("/")
                row[aql] = (int(ac), int(re))
        table[letter] = row
    return aqls, sizes, table


AQLS, SAMPLE_SIZES, TABLE_2A = _parse_table(_TABLE_2A_TEXT)
"""The AQLs (as printed), the sample size per code letter, and Table 2-A's cells."""

CODE_LETTERS: Final = tuple(SAMPLE_SIZES)
"""A, B, ..., R in table order (no I, no O)."""


def code_letter(lot_size: int) -> str:
    """Sample size code letter of a lot (Table 1, level II); a lot of 1 gets A.

    Raises:
        ValueError: a lot size below 1.
    """
    if lot_size < 1:
        raise ValueError("a lot has at least one item")
    for low, high, letter in LEVEL_II_CODE_LETTERS:
        if low <= lot_size and (high is None or lot_size <= high):
            return letter
    return "A"


def normalize_aql(aql: str | float) -> str:
    """The AQL as Table 2-A prints it ("1" -> "1.0", 0.65 -> "0.65").

    Raises:
        ValueError: not an AQL of the table.
    """
    try:
        value = float(aql)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"AQL {aql!r} is not a number") from exc
    for printed in AQLS:
        if abs(float(printed) - value) < 1e-9:
            return printed
    raise ValueError(f"AQL {aql!r} is not in ISO 2859-1 Table 2-A (up to 10): {', '.join(AQLS)}")


def plan_for(letter: str, aql: str) -> tuple[str, int, int]:
    """Follow Table 2-A's arrows from (code letter, AQL): (letter used, Ac, Re)."""
    index = CODE_LETTERS.index(letter)
    direction = 0
    for _ in range(2 * len(CODE_LETTERS)):
        cell = TABLE_2A[CODE_LETTERS[index]][aql]
        if not isinstance(cell, str):
            return CODE_LETTERS[index], cell[0], cell[1]
        # An arrow leads on; once out of the table, keep looking the other way.
        direction = direction or (1 if cell == "v" else -1)
        if not 0 <= index + direction < len(CODE_LETTERS):
            direction = -direction
        index += direction
    raise ValueError(f"Table 2-A has no plan for AQL {aql} from code letter {letter}")


@dataclass(frozen=True, slots=True)
class SamplingPlan:
    """A single sampling plan for one lot (phương án lấy mẫu).

    Attributes:
        lot_size: records in the lot.
        aql: acceptance quality limit, percent defective, as Table 2-A prints it.
        code_letter: Table 1's letter for the lot size.
        plan_letter: the letter whose plan applies after following the arrows.
        sample_size: records to inspect (the whole lot when the plan's sample is larger).
        acceptance_number: Ac: the lot passes with this many defective records or fewer.
        rejection_number: Re: the lot fails with this many or more.
        full_inspection: the sample is the whole lot.
    """

    lot_size: int
    aql: str
    code_letter: str
    plan_letter: str
    sample_size: int
    acceptance_number: int
    rejection_number: int
    full_inspection: bool


def single_sampling_plan(lot_size: int, aql: str | float) -> SamplingPlan:
    """ISO 2859-1 level II, single sampling, normal inspection plan for a lot.

    Raises:
        ValueError: a lot size below 1 or an AQL not in the table.
    """
    printed = normalize_aql(aql)
    letter = code_letter(lot_size)
    used, ac, re = plan_for(letter, printed)
    size = SAMPLE_SIZES[used]
    return SamplingPlan(
        lot_size=lot_size,
        aql=printed,
        code_letter=letter,
        plan_letter=used,
        sample_size=min(size, lot_size),
        acceptance_number=ac,
        rejection_number=re,
        full_inspection=size >= lot_size,
    )
