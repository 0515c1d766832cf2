"""Phase assignment: domain.md's phase table applied by assign_phase."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotich_contracts.plan import Plan, load_plan
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_validation.domain.phases import PhaseDecision, assign_phase

OTHER_PLAN = Path(__file__).parents[2] / "contracts" / "data" / "plan_test_single_group.yaml"

# Entering units, one per group and level.
DEPARTMENT = "72"  # Sở Tư pháp, group A
TAY_NINH_CITY = "703"  # group A
WARD_1 = "25456"  # Phường 1, thành phố Tây Ninh, group A
LONG_HOA = "25630"  # TT Hòa Thành / P. Long Hoa, group A
TRANG_BANG = "712"  # group B
TT_TRANG_BANG = "25708"  # group B
SUOI_DA = "25555"  # Dương Minh Châu, group B
TAN_BIEN = "705"  # group C
TT_TAN_BIEN = "25486"  # group C
AN_THANH = "25705"  # Bến Cầu, group C

P1_TYPES = ["birth", "death", "marriage", "marriage_recording", "marital_status"]
P2_ONLY_TYPES = ["change_correction", "ethnicity_redetermination", "sex_redetermination"]
P3_OLD_TYPES = ["adoption", "guardianship", "divorce_recording"]

IN_PHASE_1 = date(2020, 3, 1)
IN_PHASE_2 = date(2020, 12, 1)
IN_PHASE_3 = date(2021, 9, 1)
IN_MIGRATION = date(2020, 5, 1)


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan()


@pytest.fixture(scope="module")
def registry() -> UnitRegistry:
    return default_registry()


def decide(
    plan: Plan,
    registry: UnitRegistry,
    record_type: str,
    registration_date: date,
    *,
    unit: str = TT_TAN_BIEN,
    source: str = "manual",
    purpose: str | None = None,
    entered_on: date = IN_PHASE_1,
) -> PhaseDecision:
    if record_type == "marital_status" and purpose is None:
        purpose = "marriage"
    return assign_phase(
        record_type=record_type,
        registration_date=registration_date,
        unit_code=unit,
        source=source,
        marital_purpose=purpose,
        entered_on=entered_on,
        plan=plan,
        registry=registry,
    )


def codes(decision: PhaseDecision) -> list[str]:
    return [r.code for r in decision.reasons]


# -- domain.md's phase table, row by row (group C: its cutoff is the phase-1 end) -------


@pytest.mark.parametrize("record_type", P1_TYPES)
@pytest.mark.parametrize("day", [date(2006, 1, 1), date(2010, 6, 15), date(2015, 12, 31)])
def test_phase_1_types_2006_to_2015(
    plan: Plan, registry: UnitRegistry, record_type: str, day: date
) -> None:
    decision = decide(plan, registry, record_type, day)
    assert (decision.phase, decision.reasons, decision.late) == (1, (), False)
    assert decision.in_scope
    assert decision.group == "C"


@pytest.mark.parametrize("record_type", P1_TYPES + P2_ONLY_TYPES)
@pytest.mark.parametrize("day", [date(1950, 1, 1), date(1990, 2, 28), date(2005, 12, 31)])
def test_phase_2_types_on_or_before_2005(
    plan: Plan, registry: UnitRegistry, record_type: str, day: date
) -> None:
    decision = decide(plan, registry, record_type, day, entered_on=IN_PHASE_2)
    assert (decision.phase, decision.reasons, decision.late) == (2, (), False)


@pytest.mark.parametrize("record_type", P2_ONLY_TYPES)
@pytest.mark.parametrize("day", [date(2006, 1, 1), date(2012, 7, 7), date(2015, 12, 31)])
def test_phase_3_changes_2006_to_2015(
    plan: Plan, registry: UnitRegistry, record_type: str, day: date
) -> None:
    decision = decide(plan, registry, record_type, day, entered_on=IN_PHASE_3)
    assert (decision.phase, decision.reasons, decision.late) == (3, (), False)


@pytest.mark.parametrize("record_type", P3_OLD_TYPES)
@pytest.mark.parametrize("day", [date(1960, 1, 1), date(2005, 12, 31), date(2015, 12, 31)])
def test_phase_3_adoption_guardianship_divorce_on_or_before_2015(
    plan: Plan, registry: UnitRegistry, record_type: str, day: date
) -> None:
    decision = decide(plan, registry, record_type, day, entered_on=IN_PHASE_3)
    assert (decision.phase, decision.reasons, decision.late) == (3, (), False)


@pytest.mark.parametrize("record_type", P1_TYPES + P2_ONLY_TYPES + P3_OLD_TYPES)
def test_after_2015_nothing_is_entered_by_hand(
    plan: Plan, registry: UnitRegistry, record_type: str
) -> None:
    decision = decide(plan, registry, record_type, date(2016, 1, 1))
    assert decision.phase is None
    assert codes(decision) == [ReasonCode.OUT_OF_SCOPE_DATE]
    # Group C's cutoff equals the end of the phases: the detail says "outside every phase".
    assert "outside every phase" in decision.reasons[0].detail_en
    assert "ngoài mọi giai đoạn" in decision.reasons[0].detail_vi


def test_out_of_phase_detail_lists_the_phase_ranges(plan: Plan, registry: UnitRegistry) -> None:
    (reason,) = decide(plan, registry, "change_correction", date(2016, 3, 1)).reasons
    assert "Phase 2 on or before 31/12/2005" in reason.detail_en
    assert "Phase 3 01/01/2006 to 31/12/2015" in reason.detail_en
    assert "01/03/2016" in reason.detail_vi


def test_parentage_recognition_is_in_no_phase(plan: Plan, registry: UnitRegistry) -> None:
    decision = decide(plan, registry, "parentage_recognition", date(2010, 1, 1))
    assert decision.phase is None
    assert codes(decision) == [ReasonCode.OUT_OF_SCOPE_TYPE]
    assert "nhận cha, mẹ, con" in decision.reasons[0].detail_vi
    assert "parentage_recognition" in decision.reasons[0].detail_en
    assert "2547/KH-UBND" in decision.reasons[0].detail_vi


# -- group cutoffs, inclusive ---------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "group", "cutoff"),
    [
        (DEPARTMENT, "A", date(2011, 12, 31)),
        (TAY_NINH_CITY, "A", date(2011, 12, 31)),
        (WARD_1, "A", date(2011, 12, 31)),
        (LONG_HOA, "A", date(2011, 12, 31)),
        (TRANG_BANG, "B", date(2014, 12, 31)),
        (TT_TRANG_BANG, "B", date(2014, 12, 31)),
        (SUOI_DA, "B", date(2014, 12, 31)),
        (TAN_BIEN, "C", date(2015, 12, 31)),
        (AN_THANH, "C", date(2015, 12, 31)),
    ],
)
def test_group_cutoff_is_inclusive(
    plan: Plan, registry: UnitRegistry, unit: str, group: str, cutoff: date
) -> None:
    on_cutoff = decide(plan, registry, "birth", cutoff, unit=unit)
    assert (on_cutoff.phase, on_cutoff.reasons, on_cutoff.group) == (1, (), group)
    day_after = date(cutoff.year + 1, 1, 1)
    after = decide(plan, registry, "birth", day_after, unit=unit)
    assert after.phase is None
    assert after.group == group
    assert codes(after) == [ReasonCode.OUT_OF_SCOPE_DATE]


@pytest.mark.parametrize(
    ("unit", "day", "cutoff_text", "migration_text"),
    [
        (WARD_1, date(2012, 1, 1), "31/12/2011", "01/01/2012 to 31/12/2017"),
        (TT_TRANG_BANG, date(2015, 1, 1), "31/12/2014", "01/01/2015 to 31/12/2017"),
    ],
)
def test_after_cutoff_detail_names_the_cutoff(
    plan: Plan,
    registry: UnitRegistry,
    unit: str,
    day: date,
    cutoff_text: str,
    migration_text: str,
) -> None:
    (reason,) = decide(plan, registry, "death", day, unit=unit).reasons
    assert reason.code == ReasonCode.OUT_OF_SCOPE_DATE
    assert f"after the cutoff {cutoff_text}" in reason.detail_en
    assert migration_text in reason.detail_en
    assert f"sau mốc {cutoff_text}" in reason.detail_vi
    assert "phần mềm hộ tịch địa phương" in reason.detail_vi


def test_cutoff_does_not_touch_phase_2(plan: Plan, registry: UnitRegistry) -> None:
    # Every cutoff is after 2005, so applying it to phase 2 changes nothing.
    decision = decide(plan, registry, "change_correction", date(2005, 12, 31), unit=WARD_1)
    assert decision.phase == 2


# -- the cutoff switch, seen in phase 3 ---------------------------------------------------


@pytest.mark.parametrize(
    ("record_type", "unit", "day"),
    [
        ("change_correction", WARD_1, date(2013, 5, 5)),
        ("ethnicity_redetermination", DEPARTMENT, date(2012, 1, 1)),
        ("sex_redetermination", TT_TRANG_BANG, date(2015, 1, 1)),
        ("adoption", LONG_HOA, date(2015, 12, 31)),
        ("guardianship", SUOI_DA, date(2015, 6, 1)),
        ("divorce_recording", TAY_NINH_CITY, date(2014, 2, 2)),
    ],
)
def test_cutoff_switch_for_phase_3(
    plan: Plan, registry: UnitRegistry, record_type: str, unit: str, day: date
) -> None:
    assert plan.group_cutoff_applies_to_all_phases
    default = decide(plan, registry, record_type, day, unit=unit, entered_on=IN_PHASE_3)
    assert default.phase is None
    assert codes(default) == [ReasonCode.OUT_OF_SCOPE_DATE]
    assert "after the cutoff" in default.reasons[0].detail_en

    as_written = plan.model_copy(update={"group_cutoff_applies_to_all_phases": False})
    switched = decide(as_written, registry, record_type, day, unit=unit, entered_on=IN_PHASE_3)
    assert (switched.phase, switched.reasons) == (3, ())


def test_switch_off_keeps_the_phase_1_cutoff(plan: Plan, registry: UnitRegistry) -> None:
    as_written = plan.model_copy(update={"group_cutoff_applies_to_all_phases": False})
    decision = decide(as_written, registry, "birth", date(2013, 1, 1), unit=WARD_1)
    assert decision.phase is None
    assert codes(decision) == [ReasonCode.OUT_OF_SCOPE_DATE]


def test_phase_3_in_group_c_is_not_cut(plan: Plan, registry: UnitRegistry) -> None:
    decision = decide(plan, registry, "adoption", date(2015, 12, 31), unit=AN_THANH)
    assert decision.phase == 3


# -- marital status certificates ------------------------------------------------------


@pytest.mark.parametrize(("day", "phase"), [(date(2010, 1, 1), 1), (date(2001, 1, 1), 2)])
def test_marital_status_for_marriage(
    plan: Plan, registry: UnitRegistry, day: date, phase: int
) -> None:
    decision = decide(plan, registry, "marital_status", day, purpose="marriage")
    assert (decision.phase, decision.reasons) == (phase, ())


@pytest.mark.parametrize("purpose", ["other", "loan", ""])
@pytest.mark.parametrize("day", [date(2010, 1, 1), date(2001, 1, 1)])
def test_marital_status_for_another_purpose(
    plan: Plan, registry: UnitRegistry, purpose: str, day: date
) -> None:
    decision = assign_phase(
        record_type="marital_status",
        registration_date=day,
        unit_code=TT_TAN_BIEN,
        source="manual",
        marital_purpose=purpose,
        entered_on=IN_PHASE_1,
        plan=plan,
        registry=registry,
    )
    assert decision.phase is None
    assert codes(decision) == [ReasonCode.MARITAL_STATUS_NOT_FOR_MARRIAGE]
    assert "để đăng ký kết hôn" in decision.reasons[0].detail_vi


def test_marital_status_without_purpose(plan: Plan, registry: UnitRegistry) -> None:
    decision = assign_phase(
        record_type="marital_status",
        registration_date=date(2010, 1, 1),
        unit_code=TT_TAN_BIEN,
        source="manual",
        marital_purpose=None,
        entered_on=IN_PHASE_1,
        plan=plan,
        registry=registry,
    )
    assert codes(decision) == [ReasonCode.MARITAL_STATUS_NOT_FOR_MARRIAGE]
    assert "no purpose given" in decision.reasons[0].detail_en


def test_marital_status_out_of_dates_and_purpose_gives_both(
    plan: Plan, registry: UnitRegistry
) -> None:
    decision = decide(plan, registry, "marital_status", date(2017, 1, 1), purpose="other")
    assert codes(decision) == [
        ReasonCode.OUT_OF_SCOPE_DATE,
        ReasonCode.MARITAL_STATUS_NOT_FOR_MARRIAGE,
    ]


def test_purpose_is_ignored_for_other_types(plan: Plan, registry: UnitRegistry) -> None:
    decision = decide(plan, registry, "birth", date(2010, 1, 1), purpose="other")
    assert (decision.phase, decision.reasons) == (1, ())


# -- late entry -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("record_type", "day", "window_end", "phase"),
    [
        ("birth", date(2010, 1, 1), date(2020, 6, 30), 1),
        ("death", date(1999, 1, 1), date(2021, 6, 30), 2),
        ("guardianship", date(2011, 1, 1), date(2021, 12, 31), 3),
    ],
)
def test_late_entry_is_accepted_and_flagged(
    plan: Plan,
    registry: UnitRegistry,
    record_type: str,
    day: date,
    window_end: date,
    phase: int,
) -> None:
    on_time = decide(plan, registry, record_type, day, entered_on=window_end)
    assert (on_time.phase, on_time.late) == (phase, False)
    late = decide(
        plan, registry, record_type, day, entered_on=date.fromordinal(window_end.toordinal() + 1)
    )
    assert (late.phase, late.late, late.reasons) == (phase, True, ())
    assert late.in_scope


def test_early_entry_is_not_late(plan: Plan, registry: UnitRegistry) -> None:
    # A phase-3 record keyed in during phase 1 is accepted: the plan sets no earliest date.
    decision = decide(plan, registry, "adoption", date(2010, 1, 1), entered_on=date(2019, 12, 1))
    assert (decision.phase, decision.late) == (3, False)


# -- migration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("unit", "first", "last"),
    [
        (DEPARTMENT, date(2012, 1, 1), date(2017, 12, 31)),
        (WARD_1, date(2012, 1, 1), date(2017, 12, 31)),
        (TRANG_BANG, date(2015, 1, 1), date(2017, 12, 31)),
        (SUOI_DA, date(2015, 1, 1), date(2017, 12, 31)),
        (TAN_BIEN, date(2016, 1, 1), date(2017, 12, 31)),
        (AN_THANH, date(2016, 1, 1), date(2017, 12, 31)),
    ],
)
def test_migration_ranges(
    plan: Plan, registry: UnitRegistry, unit: str, first: date, last: date
) -> None:
    for day in (first, last):
        decision = decide(
            plan, registry, "birth", day, unit=unit, source="migration", entered_on=IN_MIGRATION
        )
        assert (decision.phase, decision.reasons, decision.late) == ("migration", (), False)
    for day in (date.fromordinal(first.toordinal() - 1), date.fromordinal(last.toordinal() + 1)):
        decision = decide(
            plan, registry, "birth", day, unit=unit, source="migration", entered_on=IN_MIGRATION
        )
        assert decision.phase is None
        assert codes(decision) == [ReasonCode.OUT_OF_SCOPE_DATE]
        assert "migration range" in decision.reasons[0].detail_en


def test_migration_ignores_the_manual_phases(plan: Plan, registry: UnitRegistry) -> None:
    # 2010 is phase 1 for manual entry but not migrated; 2016 is the reverse in group C.
    manual_only = decide(plan, registry, "birth", date(2010, 1, 1), source="migration")
    assert manual_only.phase is None
    migrated = decide(plan, registry, "birth", date(2016, 1, 1), source="migration")
    assert migrated.phase == "migration"


def test_migration_late(plan: Plan, registry: UnitRegistry) -> None:
    on_time = decide(
        plan, registry, "death", date(2017, 1, 1), source="migration", entered_on=date(2020, 12, 31)
    )
    late = decide(
        plan, registry, "death", date(2017, 1, 1), source="migration", entered_on=date(2021, 1, 1)
    )
    assert (on_time.late, late.late) == (False, True)
    assert late.phase == "migration"


def test_migration_takes_every_type_but_keeps_the_marriage_purpose_rule(
    plan: Plan, registry: UnitRegistry
) -> None:
    # The plan migrates "dữ liệu hộ tịch" of those years without naming types.
    parentage = decide(
        plan, registry, "parentage_recognition", date(2016, 5, 5), source="migration"
    )
    assert parentage.phase == "migration"
    other_purpose = decide(
        plan, registry, "marital_status", date(2016, 5, 5), source="migration", purpose="other"
    )
    assert codes(other_purpose) == [ReasonCode.MARITAL_STATUS_NOT_FOR_MARRIAGE]


# -- units and sources ------------------------------------------------------------------


@pytest.mark.parametrize("source", ["manual", "migration"])
@pytest.mark.parametrize("unit", ["99999", "80"])
def test_unit_outside_the_plan(plan: Plan, registry: UnitRegistry, unit: str, source: str) -> None:
    decision = decide(plan, registry, "birth", date(2016, 1, 1), unit=unit, source=source)
    assert decision.phase is None
    assert codes(decision) == [ReasonCode.UNKNOWN_UNIT]
    assert unit in decision.reasons[0].detail_vi


def test_unknown_source_is_a_programming_error(plan: Plan, registry: UnitRegistry) -> None:
    with pytest.raises(ValueError, match="unknown source"):
        decide(plan, registry, "birth", date(2010, 1, 1), source="fax")


def test_every_reason_speaks_both_languages(plan: Plan, registry: UnitRegistry) -> None:
    decisions = [
        decide(plan, registry, "parentage_recognition", date(2010, 1, 1)),
        decide(plan, registry, "birth", date(2013, 1, 1), unit=WARD_1),
        decide(plan, registry, "birth", date(2020, 1, 1)),
        decide(plan, registry, "marital_status", date(2010, 1, 1), purpose="other"),
        decide(plan, registry, "birth", date(2010, 1, 1), source="migration"),
        decide(plan, registry, "birth", date(2010, 1, 1), unit="99999"),
    ]
    for decision in decisions:
        assert decision.reasons
        for reason in decision.reasons:
            assert reason.code in set(ReasonCode)
            assert reason.detail_vi.strip()
            assert reason.detail_en.strip()
            assert reason.detail_vi != reason.detail_en


# -- another plan is another file -------------------------------------------------------


def test_another_plan_changes_outcomes(plan: Plan, registry: UnitRegistry) -> None:
    other = load_plan(OTHER_PLAN)
    # Parentage recognition: out of scope in Tây Ninh, phase 1 in the other plan.
    assert decide(plan, registry, "parentage_recognition", date(2005, 1, 1)).phase is None
    assert decide(other, registry, "parentage_recognition", date(2005, 1, 1)).phase == 1
    # A group C birth of 2012: phase 1 in Tây Ninh, after the other plan's 2009 cutoff.
    assert decide(plan, registry, "birth", date(2012, 1, 1)).phase == 1
    cut = decide(other, registry, "birth", date(2012, 1, 1))
    assert (cut.phase, cut.group, codes(cut)) == (None, "ALL", [ReasonCode.OUT_OF_SCOPE_DATE])
    # The other plan applies its cutoff only where written: adoption of 2012 is phase 2.
    assert decide(other, registry, "adoption", date(2012, 1, 1), entered_on=date(2023, 7, 1)) == (
        PhaseDecision(phase=2, late=True, group="ALL")
    )
    # No condition on marital status there, and no migration track at all.
    assert decide(other, registry, "marital_status", date(2012, 1, 1), purpose="other").phase == 2
    no_migration = decide(other, registry, "birth", date(2012, 1, 1), source="migration")
    assert codes(no_migration) == [ReasonCode.OUT_OF_SCOPE_DATE]
    assert "no migration" in no_migration.reasons[0].detail_en
