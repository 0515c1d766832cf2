"""Which phase (giai đoạn) of the plan a record belongs to, or why it belongs to none.

Pure rules: the plan and the unit registry come in as values, nothing is read here.

Manual entries are matched against the plan's phases by record type and
registration date, cut at the group cutoff of the entering unit's district group
(in every phase by default, see ``Plan.group_cutoff_applies_to_all_phases``).
Migration records (``source = 'migration'``) are matched against the group's
migration range instead. Entries made after their window closed are still
accepted and flagged ``late``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal

from hotich_contracts.plan import (
    DistrictGroup,
    PhaseNumber,
    PhaseRule,
    Plan,
    PlanPhase,
    RuleCondition,
    UnitNotInPlanError,
)
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import UnitRegistry

__all__ = [
    "RECORD_TYPE_NAMES",
    "PhaseDecision",
    "PhaseId",
    "PhaseTable",
    "RuleReason",
    "Severity",
    "Source",
    "assign_phase",
]

PhaseId = PhaseNumber | Literal["migration"]
"""A manual phase number (1, 2, 3) or the migration track, as in the event contract."""

Source = Literal["manual", "migration"]
"""How a record arrived: keyed in by a clerk, or migrated from local software."""

_SOURCES: Final = frozenset({"manual", "migration"})

RECORD_TYPE_NAMES: Final[dict[str, tuple[str, str]]] = {
    "birth": ("khai sinh", "birth registration"),
    "death": ("khai tử", "death registration"),
    "marriage": ("kết hôn", "marriage registration"),
    "marriage_recording": ("ghi chú kết hôn", "recording of a marriage registered abroad"),
    "marital_status": ("xác nhận tình trạng hôn nhân", "marital status certificate"),
    "change_correction": (
        "thay đổi, cải chính, bổ sung hộ tịch",
        "change, correction or supplement of civil status",
    ),
    "ethnicity_redetermination": ("xác định lại dân tộc", "re-determination of ethnicity"),
    "sex_redetermination": ("xác định lại giới tính", "re-determination of sex"),
    "adoption": ("nuôi con nuôi", "adoption"),
    "guardianship": ("giám hộ", "guardianship"),
    "divorce_recording": ("ghi chú ly hôn", "recording of a divorce granted abroad"),
    "parentage_recognition": ("nhận cha, mẹ, con", "recognition of parentage"),
}
"""Vietnamese and English names of record types, for messages to clerks."""


Severity = Literal["error", "warning"]
"""An error rejects the record; a warning only flags it (``hotich_contracts.reasons.Severity``)."""


@dataclass(frozen=True, slots=True)
class RuleReason:
    """Why a rule refused (or flagged) a record: a reason code and messages for the clerk.

    ``code`` is a value of ``hotich_contracts.reasons.ReasonCode``; ``field`` the dotted
    path of the field concerned, when there is one.
    """

    code: str
    detail_vi: str
    detail_en: str
    field: str | None = None
    severity: Severity = "error"


@dataclass(frozen=True, slots=True)
class PhaseDecision:
    """The outcome of :func:`assign_phase`.

    Attributes:
        phase: the phase number, ``"migration"``, or None when out of scope.
        late: entered after its phase's (or migration's) window closed; still accepted.
        reasons: why the record is out of scope; empty when a phase was found.
        group: the entering unit's district group, when known (for reports).
    """

    phase: PhaseId | None
    late: bool = False
    reasons: tuple[RuleReason, ...] = field(default=())
    group: str | None = None

    @property
    def in_scope(self) -> bool:
        """Whether the record belongs to a phase (or to migration)."""
        return self.phase is not None and not self.reasons


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _type_names(record_type: str) -> tuple[str, str]:
    return RECORD_TYPE_NAMES.get(record_type, (record_type, record_type))


def assign_phase(
    *,
    record_type: str,
    registration_date: date,
    unit_code: str,
    source: str,
    marital_purpose: str | None,
    entered_on: date,
    plan: Plan,
    registry: UnitRegistry,
) -> PhaseDecision:
    """Place a record in a phase of the plan, or say why it is out of scope.

    Args:
        record_type: the record type code (``birth``, ``marital_status``, ...).
        registration_date: the event's registration date (ngày đăng ký).
        unit_code: the entering unit; its district group sets the cutoff.
        source: ``manual`` (phases) or ``migration`` (the group's migration range);
            the values of :data:`Source`.
        marital_purpose: purpose of a marital status certificate (``marriage`` or
            another value); ignored for other types.
        entered_on: the day the record was entered, to tell late entries.
        plan: the digitization plan.
        registry: the administrative units.

    Returns:
        The phase, or None with reasons: ``out_of_scope_type``, ``out_of_scope_date``,
        ``marital_status_not_for_marriage`` or ``unknown_unit``.

    Raises:
        ValueError: ``source`` is neither ``manual`` nor ``migration``.
    """
    return _assign(
        record_type=record_type,
        registration_date=registration_date,
        unit_code=unit_code,
        source=source,
        marital_purpose=marital_purpose,
        entered_on=entered_on,
        plan=plan,
        candidates=_candidates(plan, record_type),
        group_of=lambda code: plan.group(plan.group_of(code, registry)),
    )


@dataclass(frozen=True, slots=True)
class PhaseTable:
    """A plan compiled for many records: :func:`assign_phase` with its lookups precomputed.

    The rules matching each record type and the group of each unit are looked up once;
    the decisions are those of :func:`assign_phase` for the same plan and registry.
    """

    plan: Plan
    registry: UnitRegistry
    _candidates: dict[str, tuple[tuple[PlanPhase, PhaseRule], ...]] = field(
        init=False, repr=False, compare=False
    )
    _groups: dict[str, DistrictGroup | None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        types = {t for p in self.plan.phases for r in p.rules for t in r.record_types}
        object.__setattr__(self, "_candidates", {t: _candidates(self.plan, t) for t in types})
        object.__setattr__(self, "_groups", {})

    def _group_of(self, unit_code: str) -> DistrictGroup:
        try:
            group = self._groups[unit_code]
        except KeyError:
            try:
                group = self.plan.group(self.plan.group_of(unit_code, self.registry))
            except UnitNotInPlanError:
                group = None
            self._groups[unit_code] = group
        if group is None:
            raise UnitNotInPlanError(unit_code, self.plan.id)
        return group

    def assign(
        self,
        *,
        record_type: str,
        registration_date: date,
        unit_code: str,
        source: str,
        marital_purpose: str | None,
        entered_on: date,
    ) -> PhaseDecision:
        """Like :func:`assign_phase` with this table's plan and registry."""
        return _assign(
            record_type=record_type,
            registration_date=registration_date,
            unit_code=unit_code,
            source=source,
            marital_purpose=marital_purpose,
            entered_on=entered_on,
            plan=self.plan,
            candidates=self._candidates.get(record_type, ()),
            group_of=self._group_of,
        )


def _candidates(plan: Plan, record_type: str) -> tuple[tuple[PlanPhase, PhaseRule], ...]:
    """The (phase, rule) pairs of the plan that cover a record type, in plan order."""
    return tuple((p, r) for p in plan.phases for r in p.rules if record_type in r.record_types)


def _assign(
    *,
    record_type: str,
    registration_date: date,
    unit_code: str,
    source: str,
    marital_purpose: str | None,
    entered_on: date,
    plan: Plan,
    candidates: tuple[tuple[PlanPhase, PhaseRule], ...],
    group_of: Callable[[str], DistrictGroup],
) -> PhaseDecision:
    if source not in _SOURCES:
        raise ValueError(f"unknown source {source!r}")
    if source == "migration":
        return _assign_migration(
            record_type=record_type,
            registration_date=registration_date,
            unit_code=unit_code,
            marital_purpose=marital_purpose,
            entered_on=entered_on,
            plan=plan,
            group_of=group_of,
        )

    if not candidates:
        return PhaseDecision(phase=None, reasons=(_type_not_in_plan(record_type, plan),))
    try:
        group = group_of(unit_code)
    except UnitNotInPlanError:
        return PhaseDecision(phase=None, reasons=(_unit_not_in_plan(unit_code, plan),))

    matched: tuple[PlanPhase, PhaseRule] | None = None
    cut_at: date | None = None
    cutoff = group.manual_cutoff
    for phase, rule in candidates:
        if not rule.registration_date.contains(registration_date):
            continue
        if cutoff is not None and registration_date > cutoff and plan.cutoff_applies(phase.number):
            # Units with local software enter by hand only up to its start; later
            # years reach the national database through migration.
            cut_at = cutoff
            continue
        matched = (phase, rule)
        break

    reasons: list[RuleReason] = []
    if matched is None:
        if cut_at is not None:
            reasons.append(_after_group_cutoff(registration_date, cut_at, group))
        else:
            reasons.append(_outside_phases(record_type, registration_date, list(candidates)))
    conditions = (
        matched[1].conditions if matched else [c for _, r in candidates for c in r.conditions]
    )
    reasons.extend(_condition_failures(record_type, marital_purpose, conditions))
    if matched is None or reasons:
        return PhaseDecision(phase=None, reasons=tuple(reasons), group=group.id)
    phase = matched[0]
    return PhaseDecision(
        phase=phase.number, late=entered_on > phase.entry_window.end, group=group.id
    )


def _assign_migration(
    *,
    record_type: str,
    registration_date: date,
    unit_code: str,
    marital_purpose: str | None,
    entered_on: date,
    plan: Plan,
    group_of: Callable[[str], DistrictGroup],
) -> PhaseDecision:
    track = plan.migration
    if track is None:
        return PhaseDecision(
            phase=None,
            reasons=(
                RuleReason(
                    code=ReasonCode.OUT_OF_SCOPE_DATE,
                    field="source",
                    detail_vi=f"Kế hoạch {plan.number} không có nội dung tích hợp (chuyển đổi) "
                    "dữ liệu từ phần mềm hộ tịch địa phương.",
                    detail_en=f"Plan {plan.number} has no migration of local software data.",
                ),
            ),
        )
    if track.record_types is not None and record_type not in track.record_types:
        name_vi, name_en = _type_names(record_type)
        return PhaseDecision(
            phase=None,
            reasons=(
                RuleReason(
                    code=ReasonCode.OUT_OF_SCOPE_TYPE,
                    field="record_type",
                    detail_vi=f"Loại việc “{name_vi}” không thuộc phạm vi tích hợp dữ liệu "
                    f"của Kế hoạch {plan.number}.",
                    detail_en=f"Record type {record_type} ({name_en}) is not migrated under "
                    f"plan {plan.number}.",
                ),
            ),
        )
    try:
        group = group_of(unit_code)
    except UnitNotInPlanError:
        return PhaseDecision(phase=None, reasons=(_unit_not_in_plan(unit_code, plan),))

    reasons: list[RuleReason] = []
    migration_range = group.migration_range
    if migration_range is None:
        reasons.append(
            RuleReason(
                code=ReasonCode.OUT_OF_SCOPE_DATE,
                field="source",
                detail_vi=f"Nhóm {group.id} ({group.label_vi}) không có dữ liệu phần mềm hộ tịch "
                "địa phương để tích hợp.",
                detail_en=f"Group {group.id} ({group.label_en}) has no local software data to "
                "migrate.",
            )
        )
    elif not migration_range.contains(registration_date):
        reasons.append(
            RuleReason(
                code=ReasonCode.OUT_OF_SCOPE_DATE,
                field="registration_date",
                detail_vi=f"Ngày đăng ký {_vn(registration_date)} nằm ngoài khoảng dữ liệu được "
                f"tích hợp của nhóm {group.id} ({migration_range.describe_vi()}).",
                detail_en=f"Registration date {_vn(registration_date)} is outside group "
                f"{group.id}'s migration range ({migration_range.describe_en()}).",
            )
        )
    reasons.extend(_condition_failures(record_type, marital_purpose, track.conditions))
    if reasons:
        return PhaseDecision(phase=None, reasons=tuple(reasons), group=group.id)
    return PhaseDecision(phase="migration", late=entered_on > track.window.end, group=group.id)


def _condition_failures(
    record_type: str, purpose: str | None, conditions: Iterable[RuleCondition]
) -> list[RuleReason]:
    failing = [c for c in conditions if c.applies_to(record_type) and not c.admits(purpose)]
    if not failing:
        return []
    # Several rules may carry the same condition (phases 1 and 2); one reason is enough.
    written_vi = f"mục đích ghi “{purpose}”" if purpose else "không ghi mục đích sử dụng"
    written_en = f"purpose given: {purpose!r}" if purpose else "no purpose given"
    return [
        RuleReason(
            code=ReasonCode.MARITAL_STATUS_NOT_FOR_MARRIAGE,
            field="details.purpose",
            detail_vi="Chỉ nhập giấy xác nhận tình trạng hôn nhân được cấp để đăng ký kết hôn "
            f"({written_vi}); trường hợp này không nhập.",
            detail_en="Only marital status certificates issued to register a marriage are "
            f"entered ({written_en}); this one is not.",
        )
    ]


def _type_not_in_plan(record_type: str, plan: Plan) -> RuleReason:
    name_vi, name_en = _type_names(record_type)
    return RuleReason(
        code=ReasonCode.OUT_OF_SCOPE_TYPE,
        field="record_type",
        detail_vi=f"Loại việc hộ tịch “{name_vi}” không thuộc giai đoạn nào của Kế hoạch "
        f"{plan.number}; không nhập.",
        detail_en=f"Record type {record_type} ({name_en}) is in no phase of plan {plan.number}; "
        "it is not entered.",
    )


def _unit_not_in_plan(unit_code: str, plan: Plan) -> RuleReason:
    return RuleReason(
        code=ReasonCode.UNKNOWN_UNIT,
        detail_vi=f"Đơn vị nhập {unit_code} không có trong danh mục đơn vị hành chính hoặc không "
        f"thuộc nhóm nào của Kế hoạch {plan.number}.",
        detail_en=f"Entering unit {unit_code} is unknown or in no group of plan {plan.number}.",
    )


def _after_group_cutoff(registration_date: date, cut_at: date, group: DistrictGroup) -> RuleReason:
    cutoff = _vn(cut_at)
    if group.migration_range is not None:
        via_vi = f"; dữ liệu {group.migration_range.describe_vi()} được tích hợp từ phần mềm"
        via_en = f"; data {group.migration_range.describe_en()} comes through migration"
    else:
        via_vi = via_en = ""
    return RuleReason(
        code=ReasonCode.OUT_OF_SCOPE_DATE,
        field="registration_date",
        detail_vi=f"Ngày đăng ký {_vn(registration_date)} sau mốc {cutoff} của nhóm {group.id} "
        f"({group.label_vi}): đơn vị đã dùng phần mềm hộ tịch địa phương chỉ nhập sổ giấy đến "
        f"mốc này{via_vi}.",
        detail_en=f"Registration date {_vn(registration_date)} is after the cutoff {cutoff} of "
        f"group {group.id} ({group.label_en}): units that used local software enter paper "
        f"registers only up to it{via_en}.",
    )


def _outside_phases(
    record_type: str, registration_date: date, candidates: list[tuple[PlanPhase, PhaseRule]]
) -> RuleReason:
    name_vi, name_en = _type_names(record_type)
    ranges_vi = "; ".join(f"{p.name_vi} {r.registration_date.describe_vi()}" for p, r in candidates)
    ranges_en = "; ".join(f"{p.name_en} {r.registration_date.describe_en()}" for p, r in candidates)
    return RuleReason(
        code=ReasonCode.OUT_OF_SCOPE_DATE,
        field="registration_date",
        detail_vi=f"Ngày đăng ký {_vn(registration_date)} nằm ngoài mọi giai đoạn nhập của loại "
        f"“{name_vi}” ({ranges_vi}).",
        detail_en=f"Registration date {_vn(registration_date)} is outside every phase for "
        f"{record_type} ({ranges_en}).",
    )
