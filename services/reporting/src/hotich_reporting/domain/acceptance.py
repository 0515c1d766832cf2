"""Acceptance of the product (nghiệm thu) by sampling.

The Department's working group accepts each phase's product (Section III.1.3 of the plan).

A *lot* is the accepted records of one unit in one phase. For each round, a sample is
drawn at random (seeded, so anyone can draw it again) with the size of the ISO 2859-1
plan for the lot (:mod:`~.iso2859`); inspectors compare each sampled record with the
paper register and record it *correct* or *defective*. Once every sampled record has a
verdict the round is decided: passed with at most Ac defective records, failed with Re
or more. A failed lot goes back to the unit for rework (it corrects its records), and a
new round samples the lot again as it is then. Payment is due for the records of a
passed lot: the lot size of its passing round times the plan's unit price.

Interpretation: every round uses normal inspection; the standard's switching rules
(tightened inspection after rejected lots) are left to the working group.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from random import Random
from typing import Final, Literal

from hotich_reporting.domain.iso2859 import SamplingPlan, single_sampling_plan

__all__ = [
    "LOT_STATUS_LABELS_VI",
    "Lot",
    "LotError",
    "Round",
    "Verdict",
    "default_seed",
    "draw_sample",
    "lot_id",
    "new_lot",
    "record_verdict",
    "resample",
]

Verdict = Literal["correct", "defective"]
RoundStatus = Literal["inspecting", "passed", "failed"]

LOT_STATUS_LABELS_VI: Final[dict[str, str]] = {
    "inspecting": "Đang kiểm tra mẫu",
    "passed": "Đạt",
    "failed": "Không đạt - trả lại chỉnh sửa",
    "none": "Chưa nghiệm thu",
}


class LotError(ValueError):
    """An acceptance step that does not fit the lot's state."""


def lot_id(phase: str, unit_code: str) -> str:
    """Id of the lot of one unit and phase: ``<phase>:<unit>``."""
    return f"{phase}:{unit_code}"


def draw_sample(record_ids: Sequence[str], size: int, seed: str) -> list[str]:
    """A reproducible random sample: the same ids, size and seed give the same sample.

    The ids are sorted first, so the order they were read in does not matter; the
    seed string seeds :class:`random.Random` (hashed with SHA-512, independent of
    ``PYTHONHASHSEED``). The sample is returned sorted.
    """
    population = sorted(set(record_ids))
    if size > len(population):
        raise LotError(f"sample of {size} from a lot of {len(population)}")
    return sorted(Random(seed).sample(population, size))


@dataclass(frozen=True)
class Round:
    """One sampling round of a lot."""

    number: int
    seed: str
    plan: SamplingPlan
    sample: tuple[str, ...]
    drawn_at: str
    drawn_by: str
    verdicts: dict[str, Verdict] = field(default_factory=dict)
    notes: dict[str, str] = field(default_factory=dict)
    decided_at: str | None = None

    @property
    def defective(self) -> int:
        """Sampled records found defective so far."""
        return sum(1 for v in self.verdicts.values() if v == "defective")

    @property
    def inspected(self) -> int:
        """Sampled records with a verdict."""
        return len(self.verdicts)

    @property
    def status(self) -> RoundStatus:
        """``inspecting`` until every sampled record has a verdict, then passed or failed."""
        if self.inspected < len(self.sample):
            return "inspecting"
        return "passed" if self.defective <= self.plan.acceptance_number else "failed"


@dataclass(frozen=True)
class Lot:
    """The acceptance lot of one unit and phase, with all its rounds."""

    phase: str
    unit_code: str
    aql: str
    seed: str
    """Base of the round seeds: round *n* draws with ``<seed>:<n>``."""
    rounds: tuple[Round, ...] = ()
    revision: int = 0

    @property
    def id(self) -> str:
        """``<phase>:<unit>``."""
        return lot_id(self.phase, self.unit_code)

    @property
    def current(self) -> Round | None:
        """The latest round."""
        return self.rounds[-1] if self.rounds else None

    @property
    def status(self) -> str:
        """The latest round's status, ``none`` before the first."""
        return self.current.status if self.current is not None else "none"

    @property
    def passed_size(self) -> int:
        """Records of the lot when it passed (0 unless the latest round passed)."""
        current = self.current
        if current is None or current.status != "passed":
            return 0
        return current.plan.lot_size


def default_seed(phase: str, unit_code: str) -> str:
    """The seed base of a lot when the working group gives none: from phase and unit."""
    return hashlib.sha256(f"hotich-acceptance/{phase}/{unit_code}".encode()).hexdigest()[:16]


def _round(
    number: int,
    record_ids: Sequence[str],
    aql: str,
    seed: str,
    at: str,
    by: str,
) -> Round:
    if not record_ids:
        raise LotError("the lot has no accepted records to sample")
    plan = single_sampling_plan(len(set(record_ids)), aql)
    sample = draw_sample(record_ids, plan.sample_size, seed)
    return Round(number, seed, plan, tuple(sample), at, by)


def new_lot(
    phase: str,
    unit_code: str,
    record_ids: Sequence[str],
    *,
    aql: str,
    seed: str | None,
    at: str,
    by: str,
) -> Lot:
    """Open a lot and draw its first sample.

    Raises:
        LotError: no records to sample.
        ValueError: an AQL not in the table.
    """
    plan_aql = single_sampling_plan(1, aql).aql
    base = seed or default_seed(phase, unit_code)
    first = _round(1, record_ids, plan_aql, f"{base}:1", at, by)
    return Lot(phase, unit_code, plan_aql, base, (first,))


def record_verdict(lot: Lot, record_id: str, verdict: Verdict, *, note: str = "", at: str) -> Lot:
    """Record an inspector's verdict on a sampled record of the current round.

    A verdict may be corrected until the round is decided; the round is decided when
    the last sampled record gets one.

    Raises:
        LotError: no open round, or the record is not in its sample.
    """
    current = lot.current
    if current is None or current.decided_at is not None:
        raise LotError("the lot has no round being inspected")
    if record_id not in current.sample:
        raise LotError(f"record {record_id} is not in the sample of round {current.number}")
    verdicts = {**current.verdicts, record_id: verdict}
    notes = {**current.notes, record_id: note} if note else dict(current.notes)
    updated = replace(current, verdicts=verdicts, notes=notes)
    if updated.status != "inspecting":
        updated = replace(updated, decided_at=at)
    return replace(lot, rounds=(*lot.rounds[:-1], updated))


def resample(lot: Lot, record_ids: Sequence[str], *, at: str, by: str) -> Lot:
    """Draw a new round after rework of a failed lot.

    Raises:
        LotError: the current round did not fail.
    """
    current = lot.current
    if current is None or current.status != "failed":
        raise LotError("only a failed lot is sampled again (after rework)")
    number = current.number + 1
    fresh = _round(number, record_ids, lot.aql, f"{lot.seed}:{number}", at, by)
    return replace(lot, rounds=(*lot.rounds, fresh))
