"""The digitization plan (kế hoạch số hóa) as validated configuration.

A province's plan (Tây Ninh: 2547/KH-UBND of 15/11/2019) fixes which civil status
events are entered in which phase (giai đoạn), by registration date, how district
groups that used local software are cut off, what is migrated instead, the report
deadlines and the budget. All of it lives in one YAML file under ``data/plans``;
this module only defines its shape and loads it. Another province's plan is another
YAML file, not new code.

The rules that *apply* a plan to a record live in the validation service
(``hotich_validation.domain.phases``); here are only the facts and small queries.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import date
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Annotated, Any, Final, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from hotich_contracts.units import UnitRegistry

__all__ = [
    "DEFAULT_PLAN_NAME",
    "PLAN_FILE_ENV",
    "Budget",
    "BudgetItem",
    "BudgetLine",
    "DateRange",
    "DistrictGroup",
    "EntryWindow",
    "MaritalPurposeCondition",
    "MigrationTrack",
    "Plan",
    "PlanError",
    "PlanPhase",
    "PhaseNumber",
    "PhaseRule",
    "ReportDeadlines",
    "RuleCondition",
    "UnitNotInPlanError",
    "available_plans",
    "load_plan",
    "parse_plan",
]

DEFAULT_PLAN_NAME: Final = "tay_ninh_2547_2019"
"""Name of the packaged plan used when nothing else is asked for."""

PLAN_FILE_ENV: Final = "HOTICH_PLAN_FILE"
"""Environment variable naming a plan file (path) or a packaged plan (name)."""

PhaseNumber = Literal[1, 2, 3]
"""Phase numbers the public contract knows (``phase`` is 1, 2, 3 or ``migration``).

A plan with more phases needs a contract change first, so the plan model refuses it.
"""


UnitCode = Annotated[str, StringConstraints(pattern=r"^[0-9]{2,5}$")]
"""A GSO administrative unit code (2 digits province, 3 district, 5 commune)."""


def _vn(day: date) -> str:
    # Clerks read dd/mm/yyyy, as the plan and the registers write dates.
    return day.strftime("%d/%m/%Y")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PlanError(ValueError):
    """A plan file is missing, unreadable or inconsistent."""


class UnitNotInPlanError(LookupError):
    """A unit belongs to no group of the plan (unknown, or outside the province)."""

    def __init__(self, unit_code: str, plan_id: str) -> None:
        self.unit_code = unit_code
        self.plan_id = plan_id
        super().__init__(f"unit {unit_code!r} is in no group of plan {plan_id!r}")


class DateRange(_Frozen):
    """A range of registration dates, both ends inclusive; a missing end is open.

    Written ``{from: 2006-01-01, to: 2015-12-31}`` in plan files.
    """

    model_config = ConfigDict(
        frozen=True, extra="forbid", validate_by_name=True, validate_by_alias=True
    )

    start: date | None = Field(default=None, alias="from", description="First day; null = open.")
    end: date | None = Field(default=None, alias="to", description="Last day; null = open.")

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.start and self.end and self.end < self.start:
            raise ValueError("date range ends before it starts")
        return self

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies in the range."""
        return (self.start is None or self.start <= day) and (self.end is None or day <= self.end)

    def overlaps(self, other: DateRange) -> bool:
        """Whether the two ranges share at least one day."""
        starts_before_other_ends = (
            self.start is None or other.end is None or self.start <= other.end
        )
        ends_after_other_starts = self.end is None or other.start is None or other.start <= self.end
        return starts_before_other_ends and ends_after_other_starts

    def describe_vi(self) -> str:
        """The range in a clerk's words, e.g. 'từ 01/01/2006 đến 31/12/2015'."""
        if self.start and self.end:
            return f"từ {_vn(self.start)} đến {_vn(self.end)}"
        if self.end:
            return f"từ ngày {_vn(self.end)} trở về trước"
        if self.start:
            return f"từ ngày {_vn(self.start)} trở về sau"
        return "mọi ngày"

    def describe_en(self) -> str:
        """The range in English, e.g. '01/01/2006 to 31/12/2015'."""
        if self.start and self.end:
            return f"{_vn(self.start)} to {_vn(self.end)}"
        if self.end:
            return f"on or before {_vn(self.end)}"
        if self.start:
            return f"on or after {_vn(self.start)}"
        return "any date"


class EntryWindow(_Frozen):
    """When entry of a phase (or migration) is planned to happen, both ends inclusive."""

    start: date = Field(description="First day of the window.")
    end: date = Field(description="Last day of the window; later entries count as late.")

    @model_validator(mode="after")
    def _ordered(self) -> EntryWindow:
        if self.end < self.start:
            raise ValueError("entry window ends before it starts")
        return self

    def contains(self, day: date) -> bool:
        """Whether ``day`` lies in the window."""
        return self.start <= day <= self.end


class MaritalPurposeCondition(_Frozen):
    """Only certificates issued for the given purposes are entered.

    The plan: "chỉ nhập những trường hợp xác nhận tình trạng hôn nhân để đăng ký kết
    hôn" (only marital status certificates issued to register a marriage).
    """

    kind: Literal["marital_purpose"] = Field(description="Condition discriminator.")
    record_types: frozenset[str] = Field(
        default=frozenset({"marital_status"}), description="Types the condition applies to."
    )
    allowed_purposes: frozenset[str] = Field(
        min_length=1, description="Purposes entered, e.g. ['marriage']."
    )

    def applies_to(self, record_type: str) -> bool:
        """Whether records of this type are subject to the condition."""
        return record_type in self.record_types

    def admits(self, purpose: str | None) -> bool:
        """Whether a certificate with this purpose is entered (an unknown purpose is not)."""
        return purpose is not None and purpose in self.allowed_purposes


RuleCondition = MaritalPurposeCondition
"""Conditions a rule may carry. A discriminated union on ``kind`` once there are more."""


class PhaseRule(_Frozen):
    """Record types entered in a phase for a range of registration dates."""

    record_types: frozenset[str] = Field(min_length=1, description="Record type codes.")
    registration_date: DateRange = Field(description="Registration dates (ngày đăng ký) covered.")
    conditions: tuple[RuleCondition, ...] = Field(
        default=(), description="Further conditions a record must meet."
    )
    note: str = Field(default="", description="Source or interpretation remark.")


class ReportDeadlines(_Frozen):
    """Reporting after a phase (Section III.1.3)."""

    district_report_due: date = Field(
        description="District People's Committees report to the Department of Justice by then."
    )
    province_report_due: date = Field(
        description="Department accepts the product (nghiệm thu) and reports to the province by then."
    )


class PlanPhase(_Frozen):
    """One phase (giai đoạn) of manual entry."""

    number: PhaseNumber = Field(description="1, 2 or 3.")
    name_vi: str = Field(description="e.g. 'Giai đoạn 1'.")
    name_en: str = Field(description="e.g. 'Phase 1'.")
    entry_window: EntryWindow = Field(description="When entry happens; later is late.")
    group_cutoff_applies: bool = Field(
        default=False, description="The plan writes the group cutoff for this phase."
    )
    rules: tuple[PhaseRule, ...] = Field(min_length=1, description="What is entered.")
    reports: ReportDeadlines | None = Field(default=None, description="Report deadlines.")

    @property
    def record_types(self) -> frozenset[str]:
        """Every record type some rule of this phase covers."""
        return frozenset[str]().union(*(r.record_types for r in self.rules))


class DistrictGroup(_Frozen):
    """Units grouped by when their local civil status software started."""

    id: str = Field(min_length=1, description="Group id, e.g. 'A'.")
    label_vi: str = Field(description="Who is in it, as the plan says.")
    label_en: str = Field(description="The same in English.")
    unit_codes: frozenset[UnitCode] = Field(
        min_length=1,
        description="Province code (its Department of Justice only) and district-level codes; "
        "communes belong through their district.",
    )
    manual_cutoff: date | None = Field(
        default=None, description="Last registration date entered by hand; null = no cutoff."
    )
    migration_range: DateRange | None = Field(
        default=None, description="Registration dates migrated from local software; null = none."
    )


class MigrationTrack(_Frozen):
    """Bulk migration of local software data (tích hợp dữ liệu, Section III.2)."""

    window: EntryWindow = Field(description="When migration happens; later is late.")
    lead_vi: str = Field(default="", description="Body leading it.")
    lead_en: str = Field(default="", description="The same in English.")
    record_types: frozenset[str] | None = Field(
        default=None, description="Types migrated; null = every type."
    )
    conditions: tuple[RuleCondition, ...] = Field(default=(), description="Further conditions.")


class BudgetLine(_Frozen):
    """Budgeted number of records at one level."""

    level: Literal["province", "district"] = Field(
        description="province = Department of Justice; district = districts and communes."
    )
    label_vi: str = Field(default="", description="As the plan labels it.")
    count: int = Field(ge=0, description="Records budgeted, as written in the plan.")
    stated_amount_vnd: int | None = Field(
        default=None, description="Amount as written (may be wrong); never used for reports."
    )
    note: str = Field(default="", description="Remarks on the figures.")


class BudgetItem(_Frozen):
    """Another cost line of the plan, kept for reference."""

    label_vi: str
    label_en: str = ""
    stated_amount_vnd: int | None = None
    note: str = ""


class Budget(_Frozen):
    """Cost estimate (khái toán kinh phí). Reports compute costs from counts."""

    unit_price_vnd: int = Field(gt=0, description="VND per record entered.")
    lines: tuple[BudgetLine, ...] = Field(description="Budgeted counts by level.")
    stated_total_count: int | None = Field(default=None, description="Total count as written.")
    stated_total_vnd: int | None = Field(default=None, description="Total amount as written.")
    other_items: tuple[BudgetItem, ...] = Field(default=(), description="Other cost lines.")
    note: str = Field(default="", description="Remarks.")

    @property
    def budgeted_count(self) -> int:
        """Sum of the lines' counts (may differ from the stated total)."""
        return sum(line.count for line in self.lines)

    def count_for(self, level: Literal["province", "district"]) -> int:
        """Budgeted count of one level (0 if the plan has no line for it)."""
        return sum(line.count for line in self.lines if line.level == level)

    def cost_vnd(self, count: int) -> int:
        """Cost of ``count`` records at the plan's unit price."""
        return count * self.unit_price_vnd


class Plan(_Frozen):
    """A province's digitization plan, loaded from a YAML file."""

    id: str = Field(min_length=1, description="Plan id, also the packaged file name.")
    number: str = Field(description="Official number, e.g. '2547/KH-UBND'.")
    issuer_vi: str = Field(default="", description="Issuing body.")
    title_vi: str = Field(description="Title as issued.")
    title_en: str = Field(default="", description="Title in English.")
    issued_on: date = Field(description="Date of issue.")
    province_code: UnitCode = Field(description="GSO code of the province the plan covers.")
    group_cutoff_applies_to_all_phases: bool = Field(
        default=True,
        description="Apply the group cutoff in every phase, not only where the plan writes it.",
    )
    groups: tuple[DistrictGroup, ...] = Field(min_length=1, description="District groups.")
    phases: tuple[PlanPhase, ...] = Field(min_length=1, description="Manual entry phases.")
    migration: MigrationTrack | None = Field(default=None, description="Migration track, if any.")
    budget: Budget | None = Field(default=None, description="Cost estimate, if any.")

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        ids = [g.id for g in self.groups]
        if len(set(ids)) != len(ids):
            raise ValueError("group ids must be unique")
        seen: dict[str, str] = {}
        for group in self.groups:
            for code in group.unit_codes:
                if code in seen:
                    raise ValueError(f"unit {code} is in groups {seen[code]} and {group.id}")
                seen[code] = group.id
        numbers = [p.number for p in self.phases]
        if numbers != sorted(set(numbers)):
            raise ValueError("phase numbers must be unique and in ascending order")
        # Every (type, date) must land in at most one phase, or the phase of a record
        # would depend on rule order.
        rules = [(p.number, r) for p in self.phases for r in p.rules]
        for i, (n1, r1) in enumerate(rules):
            for n2, r2 in rules[i + 1 :]:
                shared = r1.record_types & r2.record_types
                if shared and r1.registration_date.overlaps(r2.registration_date):
                    raise ValueError(
                        f"phases {n1} and {n2} both cover {sorted(shared)} for overlapping dates"
                    )
        return self

    # -- queries ------------------------------------------------------------------

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the plan's canonical JSON: equal plans, equal fingerprints.

        Canonical: every field (defaults included), keys sorted, sets as sorted lists,
        dates in ISO form, no whitespace. Comments and layout of the YAML file do not
        count; any change of a rule does. Used to tell outcomes of different plans apart
        (re-validation derives its event ids from it).
        """
        text = json.dumps(
            _canonical(self.model_dump(mode="python")),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def phase(self, number: int) -> PlanPhase:
        """The phase with this number.

        Raises:
            KeyError: no such phase.
        """
        for phase in self.phases:
            if phase.number == number:
                return phase
        raise KeyError(number)

    def group(self, group_id: str) -> DistrictGroup:
        """The group with this id.

        Raises:
            KeyError: no such group.
        """
        for group in self.groups:
            if group.id == group_id:
                return group
        raise KeyError(group_id)

    @property
    def record_types(self) -> frozenset[str]:
        """Every record type some phase covers (manual entry)."""
        return frozenset[str]().union(*(p.record_types for p in self.phases))

    def cutoff_applies(self, phase_number: int) -> bool:
        """Whether the group cutoff limits this phase (as written, or by the switch)."""
        return (
            self.group_cutoff_applies_to_all_phases or self.phase(phase_number).group_cutoff_applies
        )

    def group_of(self, unit_code: str, registry: UnitRegistry) -> str:
        """The group id of a unit: listed itself, or through its district-level unit.

        Communes inherit their district's group; the province code is listed
        explicitly (group A in Tây Ninh: the Department of Justice).

        Raises:
            UnitNotInPlanError: the unit is unknown or in no group.
        """
        if unit_code not in registry:
            raise UnitNotInPlanError(unit_code, self.id)
        candidates = [unit_code]
        district = registry.district_of(unit_code)
        if district is not None and district.code != unit_code:
            candidates.append(district.code)
        # Only the unit and its district, never the province: a province code listed
        # for its Department must not pull unlisted districts into that group.
        for code in candidates:
            for group in self.groups:
                if code in group.unit_codes:
                    return group.id
        raise UnitNotInPlanError(unit_code, self.id)

    def unit_problems(self, registry: UnitRegistry) -> list[str]:
        """Mismatches between the plan's groups and a unit registry (empty = consistent).

        Checks that every listed code exists and that every district-level unit of
        the plan's province valid on the issue date is in a group.
        """
        problems = [
            f"group {g.id}: unit {code} is not in the registry"
            for g in self.groups
            for code in sorted(g.unit_codes)
            if code not in registry
        ]
        if registry.get(self.province_code, self.issued_on) is None:
            problems.append(f"province {self.province_code} is not in the registry")
        listed = {code for g in self.groups for code in g.unit_codes}
        problems.extend(
            f"district {unit.code} ({unit.name}) is in no group"
            for unit in registry.children(self.province_code, self.issued_on)
            if unit.code not in listed
        )
        return problems


def _canonical(value: Any) -> Any:
    """A JSON-able form of a dumped plan whose text does not depend on set order."""
    if isinstance(value, dict):
        return {str(key): _canonical(item) for key, item in value.items()}
    if isinstance(value, frozenset | set):
        return sorted((_canonical(item) for item in value), key=lambda v: json.dumps(v))
    if isinstance(value, list | tuple):
        return [_canonical(item) for item in value]
    if isinstance(value, date):
        return value.isoformat()
    return value


# -- loading --------------------------------------------------------------------------


def available_plans() -> list[str]:
    """Names of the plans packaged with hotich_contracts."""
    folder = resources.files("hotich_contracts") / "data" / "plans"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def _read(path_or_name: str | PathLike[str]) -> tuple[str, str]:
    """Return (text, where) for a file path or a packaged plan name."""
    raw = os.fspath(path_or_name)
    looks_like_path = (
        isinstance(path_or_name, PathLike)
        or raw.endswith((".yaml", ".yml"))
        or os.sep in raw
        or "/" in raw
    )
    if looks_like_path:
        path = Path(raw)
        if not path.is_file():
            raise PlanError(f"plan file {raw} does not exist")
        return path.read_text(encoding="utf-8"), raw
    resource = resources.files("hotich_contracts") / "data" / "plans" / f"{raw}.yaml"
    if not resource.is_file():
        raise PlanError(f"no packaged plan named {raw!r}; available: {available_plans()}")
    return resource.read_text(encoding="utf-8"), f"hotich_contracts/data/plans/{raw}.yaml"


def parse_plan(text: str, *, where: str = "<text>") -> Plan:
    """Validate the YAML text of a plan.

    Raises:
        PlanError: not YAML, not a mapping, or not a valid plan (details included).
    """
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PlanError(f"{where}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PlanError(f"{where}: a plan file must hold a mapping")
    try:
        return Plan.model_validate(data)
    except ValidationError as exc:
        raise PlanError(f"{where}: {exc}") from exc


def load_plan(path_or_name: str | PathLike[str] | None = None) -> Plan:
    """Load and validate a plan.

    Args:
        path_or_name: a YAML file path, or the name of a packaged plan (file name
            without ``.yaml``). When None, the ``HOTICH_PLAN_FILE`` environment
            variable (path or name) is used if set, else the Tây Ninh plan.

    Raises:
        PlanError: the plan cannot be found or is invalid.
    """
    if path_or_name is None:
        path_or_name = os.environ.get(PLAN_FILE_ENV) or DEFAULT_PLAN_NAME
    text, where = _read(path_or_name)
    return parse_plan(text, where=where)
