"""Configuration and output shapes of the synthetic register generator.

Counts default to the plan's budget (2547/KH-UBND, Section IV): 1,366,849 records of
which the province level (the Department of Justice, Sở Tư pháp) is written 22,668.
The plan's own arithmetic says 22,268 is most likely meant (see domain.md), so both
are constants here and the province count is a setting.

Every rate says what it is a share *of*; the generator honours it in expectation
(exact duplicates exactly). Items are plain dicts (:class:`Item`) so that a million
of them stream cheaply; records are validated against the contract only in tests.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Final, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "NOISE_KINDS",
    "PLAN_PROVINCE_LEVEL",
    "PLAN_TOTAL",
    "PROBABLE_PROVINCE_LEVEL",
    "FinalStatus",
    "GenerationConfig",
    "GenerationSummary",
    "Item",
    "NoiseRates",
    "Outcome",
    "Truth",
]

PLAN_TOTAL: Final = 1_366_849
"""Records budgeted by the plan, as stated (1.366.849)."""

PLAN_PROVINCE_LEVEL: Final = 22_668
"""Province-level records as the plan writes them (22.668)."""

PROBABLE_PROVINCE_LEVEL: Final = 22_268
"""Province-level records the plan's amounts imply (66,804,000 / 3,000): likely meant."""

NOISE_KINDS: Final = (
    "typo",
    "diacritic_variant",
    "middle_name_dropped",
    "partial_date",
    "not_enterable",
    "damaged_readable",
    "wrong_entering_unit",
    "unknown_authority",
    "marital_status_other",
    "out_of_scope_type",
    "out_of_scope_date",
    "duplicate_exact",
    "duplicate_probable",
    "malformed",
)
"""Every label that may appear in ``truth.noise``."""

Outcome = Literal["valid", "rejected"]
FinalStatus = Literal["accepted", "rejected", "duplicate_suspected"]


class NoiseRates(BaseModel):
    """How often each kind of trouble is injected; each field names its denominator."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    not_enterable: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of in-scope manual entries whose mandatory field is unreadable "
        "(torn page): rejected not_enterable. They occur only in damaged books.",
    )
    damaged_readable: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of in-scope manual entries with an unreadable optional field "
        "(listed in unreadable_fields): still valid. Only in damaged books.",
    )
    typo: float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="Share of entries with a keying slip in a subject's name.",
    )
    diacritic_variant: float = Field(
        default=0.04,
        ge=0,
        le=1,
        description="Share of entries with a diacritic variant of a subject's name "
        "(hoà for hòa, marks left out, d for đ, decomposed Unicode).",
    )
    partial_date: float = Field(
        default=0.25,
        ge=0,
        le=1,
        description="Share of entries of old registers (registered up to old_register_until) "
        "whose subject's dates are given as YYYY or YYYY-MM only.",
    )
    duplicate_exact: float = Field(
        default=0.01,
        ge=0,
        le=0.5,
        description="Share of all items that key an entry again with the same register "
        "coordinates (exact: the count is round(total x rate) per level).",
    )
    duplicate_probable: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of clean in-scope birth, death and marriage entries that register "
        "an event already registered elsewhere (another book or unit), with name variants "
        "(a birth recording neither parent is never registered again: nothing tells it from "
        "a namesake's).",
    )
    out_of_scope_type: float = Field(
        default=0.005,
        ge=0,
        le=1,
        description="Share of entries of a type in no phase (parentage_recognition).",
    )
    out_of_scope_date: float = Field(
        default=0.02,
        ge=0,
        le=1,
        description="Share of entries keyed by hand from books dated after the group's "
        "manual cutoff.",
    )
    marital_status_other: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="Share of marital status certificates issued for a purpose other than "
        "marriage (rejected marital_status_not_for_marriage).",
    )
    migration: float = Field(
        default=0.05,
        ge=0,
        le=1,
        description="Share of entries that come from the local software (source migration), "
        "in the group's migration years.",
    )
    wrong_entering_unit: float = Field(
        default=0.01,
        ge=0,
        le=1,
        description="Share of in-scope manual entries keyed by a unit other than the one "
        "that must enter them (e.g. the district from its copy of a commune register).",
    )
    unknown_authority: float = Field(
        default=0.03,
        ge=0,
        le=1,
        description="Share of old commune books (up to 1990) whose registering unit cannot "
        "be told (code null, name as written): the storing unit enters them.",
    )
    malformed: float = Field(
        default=0.002,
        ge=0,
        le=1,
        description="Share of in-scope manual entries deliberately malformed (fail the "
        "record contract: rejected with 422 at intake).",
    )

    @model_validator(mode="after")
    def _shares_fit(self) -> NoiseRates:
        book_shares = self.out_of_scope_type + self.out_of_scope_date + self.migration
        if book_shares >= 1:
            raise ValueError(
                "out_of_scope_type + out_of_scope_date + migration must leave room for "
                "in-scope entries (sum < 1)"
            )
        entry_shares = self.malformed + self.wrong_entering_unit
        if entry_shares > 1:
            raise ValueError("malformed + wrong_entering_unit must not exceed 1")
        return self


class GenerationConfig(BaseModel):
    """What to generate: seed, counts, rates, units and years."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=2547, description="Seed; the same config gives the same bytes.")
    total: int = Field(
        default=PLAN_TOTAL, ge=0, description="Number of items (entries + re-keyed duplicates)."
    )
    province_level: int = Field(
        default=PLAN_PROVINCE_LEVEL,
        ge=0,
        description="Items from the Department of Justice's own books (Sở Tư pháp, code "
        "72). Applies when the province is among the units and so are others.",
    )
    rates: NoiseRates = Field(default_factory=NoiseRates, description="Noise rates.")
    units: tuple[str, ...] | None = Field(
        default=None,
        description="Limit to these unit codes: a district code brings its communes, the "
        "province code only the Department of Justice. None = the whole province.",
    )
    plan: str | None = Field(
        default=None, description="Plan file path or packaged plan name; None = default."
    )
    first_year: int = Field(default=1960, ge=1900, description="Oldest registration year.")
    last_year: int = Field(default=2019, le=2100, description="Newest registration year.")
    old_register_until: int = Field(
        default=1995, description="Registers up to this year are old: partial dates occur."
    )
    book_capacity: int = Field(
        default=300, ge=1, description="Entries per book before a second book of the year."
    )

    @model_validator(mode="after")
    def _consistent(self) -> GenerationConfig:
        if self.province_level > self.total:
            raise ValueError("province_level cannot exceed total")
        if self.last_year < self.first_year:
            raise ValueError("last_year is before first_year")
        if self.units is not None and not self.units:
            raise ValueError("units, when given, must name at least one unit")
        return self


class Truth(TypedDict):
    """Ground truth of one item: what the pipeline should make of the record.

    ``phase`` is what the plan assigns (1, 2, 3, ``"migration"`` or None), also when
    another reason rejects the record; None for malformed records (never validated).
    ``reasons`` are contract reason codes in the validator's order (phase reasons,
    entering unit, not enterable) or ``duplicate_exact`` / ``malformed``.
    ``entered_on`` is the simulated day of entry the labels assume (inside the phase's
    entry window): entering-unit rules depend on it.
    """

    id: str
    record_type: str
    source: str
    level: str
    book_id: str
    entering_unit_code: str
    entered_on: str
    outcome: Outcome
    reasons: list[str]
    final_status: FinalStatus
    phase: int | str | None
    duplicate_of: str | None
    duplicate_kind: Literal["exact", "probable"] | None
    noise: list[str]
    malformed: bool


class Item(TypedDict):
    """One generated item: the record as a clerk keys it, and its ground truth."""

    record: dict[str, Any]
    truth: Truth


class GenerationSummary:
    """Counts of generated items by type, outcome, status, phase, level and noise."""

    def __init__(self) -> None:
        self.items = 0
        self.by_type: Counter[str] = Counter()
        self.by_outcome: Counter[str] = Counter()
        self.by_final_status: Counter[str] = Counter()
        self.by_phase: Counter[str] = Counter()
        self.by_level: Counter[str] = Counter()
        self.by_source: Counter[str] = Counter()
        self.by_reason: Counter[str] = Counter()
        self.by_noise: Counter[str] = Counter()

    def add(self, truth: Truth) -> None:
        """Count one item."""
        self.items += 1
        self.by_type[truth["record_type"]] += 1
        self.by_outcome[truth["outcome"]] += 1
        self.by_final_status[truth["final_status"]] += 1
        phase = truth["phase"]
        self.by_phase["none" if phase is None else str(phase)] += 1
        self.by_level[truth["level"]] += 1
        self.by_source[truth["source"]] += 1
        self.by_reason.update(truth["reasons"])
        self.by_noise.update(truth["noise"])

    def as_dict(self) -> dict[str, Any]:
        """The counts as a JSON-able dict, keys sorted."""
        return {
            "items": self.items,
            "by_type": dict(sorted(self.by_type.items())),
            "by_outcome": dict(sorted(self.by_outcome.items())),
            "by_final_status": dict(sorted(self.by_final_status.items())),
            "by_phase": dict(sorted(self.by_phase.items())),
            "by_level": dict(sorted(self.by_level.items())),
            "by_source": dict(sorted(self.by_source.items())),
            "by_reason": dict(sorted(self.by_reason.items())),
            "by_noise": dict(sorted(self.by_noise.items())),
        }

    def as_text(self) -> str:
        """A short human-readable report."""
        lines = [f"items: {self.items}"]
        for title, counter in (
            ("record type", self.by_type),
            ("outcome", self.by_outcome),
            ("final status", self.by_final_status),
            ("phase", self.by_phase),
            ("level", self.by_level),
            ("source", self.by_source),
            ("reason", self.by_reason),
            ("noise", self.by_noise),
        ):
            parts = ", ".join(f"{key} {count}" for key, count in sorted(counter.items()))
            lines.append(f"{title}: {parts or '-'}")
        return "\n".join(lines)
