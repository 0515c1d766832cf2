"""The plan file (Tây Ninh 2547/KH-UBND-2019) and the model that validates it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from hotich_contracts.plan import (
    DEFAULT_PLAN_NAME,
    PLAN_FILE_ENV,
    DateRange,
    Plan,
    PlanError,
    UnitNotInPlanError,
    available_plans,
    load_plan,
    parse_plan,
)
from hotich_contracts.units import UnitLevel, UnitRegistry, default_registry

OTHER_PLAN = Path(__file__).parent / "data" / "plan_test_single_group.yaml"

DOMAIN_RECORD_TYPES = {
    "birth",
    "death",
    "marriage",
    "marriage_recording",
    "marital_status",
    "change_correction",
    "ethnicity_redetermination",
    "sex_redetermination",
    "adoption",
    "guardianship",
    "divorce_recording",
}


@pytest.fixture(scope="module")
def plan() -> Plan:
    return load_plan()


@pytest.fixture(scope="module")
def registry() -> UnitRegistry:
    return default_registry()


def test_identity(plan: Plan) -> None:
    assert plan.id == DEFAULT_PLAN_NAME == "tay_ninh_2547_2019"
    assert plan.number == "2547/KH-UBND"
    assert plan.issued_on == date(2019, 11, 15)
    assert plan.province_code == "72"
    assert "số hóa dữ liệu hộ tịch" in plan.title_vi
    assert DEFAULT_PLAN_NAME in available_plans()


def test_groups_as_in_the_plan(plan: Plan) -> None:
    a, b, c = plan.group("A"), plan.group("B"), plan.group("C")
    assert a.unit_codes == {"72", "703", "709"}
    assert b.unit_codes == {"712", "707", "706"}
    assert c.unit_codes == {"705", "708", "711", "710"}
    assert (a.manual_cutoff, b.manual_cutoff, c.manual_cutoff) == (
        date(2011, 12, 31),
        date(2014, 12, 31),
        date(2015, 12, 31),
    )
    assert a.migration_range == DateRange(start=date(2012, 1, 1), end=date(2017, 12, 31))
    assert b.migration_range == DateRange(start=date(2015, 1, 1), end=date(2017, 12, 31))
    assert c.migration_range == DateRange(start=date(2016, 1, 1), end=date(2017, 12, 31))


def test_manual_and_migration_ranges_join_without_gap(plan: Plan) -> None:
    for group in plan.groups:
        assert group.manual_cutoff is not None
        assert group.migration_range is not None
        assert group.migration_range.start is not None
        assert (group.migration_range.start - group.manual_cutoff).days == 1


def test_groups_match_the_unit_registry(plan: Plan, registry: UnitRegistry) -> None:
    assert plan.unit_problems(registry) == []


def test_group_of_every_2019_unit(plan: Plan, registry: UnitRegistry) -> None:
    assert plan.group_of("72", registry) == "A"
    for unit in registry.descendants("72", date(2019, 11, 15)):
        district = registry.district_of(unit.code)
        assert district is not None
        expected = next(g.id for g in plan.groups if district.code in g.unit_codes)
        assert plan.group_of(unit.code, registry) == expected
    assert plan.group_of("25630", registry) == "A"  # TT Hòa Thành / P. Long Hoa
    assert plan.group_of("25726", registry) == "B"  # Phước Lưu, defunct since 2020
    assert plan.group_of("25486", registry) == "C"


@pytest.mark.parametrize("code", ["99999", "80"])
def test_group_of_unknown_or_foreign_unit(plan: Plan, registry: UnitRegistry, code: str) -> None:
    with pytest.raises(UnitNotInPlanError) as caught:
        plan.group_of(code, registry)
    assert caught.value.unit_code == code


def test_phase_windows_and_reports(plan: Plan) -> None:
    windows = {p.number: (p.entry_window.start, p.entry_window.end) for p in plan.phases}
    assert windows == {
        1: (date(2019, 11, 15), date(2020, 6, 30)),
        2: (date(2020, 7, 1), date(2021, 6, 30)),
        3: (date(2021, 7, 1), date(2021, 12, 31)),
    }
    reports = {p.number: p.reports for p in plan.phases}
    assert {n: (r.district_report_due, r.province_report_due) for n, r in reports.items() if r} == {
        1: (date(2020, 7, 30), date(2020, 8, 31)),
        2: (date(2021, 7, 30), date(2021, 8, 31)),
        3: (date(2022, 1, 31), date(2022, 2, 28)),
    }


def test_phase_rules_as_in_domain_table(plan: Plan) -> None:
    rules = {
        (p.number, frozenset(r.record_types)): (r.registration_date.start, r.registration_date.end)
        for p in plan.phases
        for r in p.rules
    }
    assert rules == {
        (
            1,
            frozenset({"birth", "death", "marriage", "marriage_recording", "marital_status"}),
        ): (date(2006, 1, 1), date(2015, 12, 31)),
        (
            2,
            frozenset(
                {
                    "birth",
                    "death",
                    "marriage",
                    "marriage_recording",
                    "change_correction",
                    "ethnicity_redetermination",
                    "sex_redetermination",
                    "marital_status",
                }
            ),
        ): (None, date(2005, 12, 31)),
        (
            3,
            frozenset({"change_correction", "ethnicity_redetermination", "sex_redetermination"}),
        ): (date(2006, 1, 1), date(2015, 12, 31)),
        (3, frozenset({"adoption", "guardianship", "divorce_recording"})): (
            None,
            date(2015, 12, 31),
        ),
    }
    assert plan.record_types == DOMAIN_RECORD_TYPES
    assert "parentage_recognition" not in plan.record_types


def test_marital_status_only_for_marriage(plan: Plan) -> None:
    for number in (1, 2):
        (rule,) = [r for r in plan.phase(number).rules if "marital_status" in r.record_types]
        (condition,) = rule.conditions
        assert condition.applies_to("marital_status")
        assert not condition.applies_to("birth")
        assert condition.admits("marriage")
        assert not condition.admits("other")
        assert not condition.admits(None)


def test_cutoff_switch(plan: Plan) -> None:
    assert plan.group_cutoff_applies_to_all_phases is True
    assert [plan.cutoff_applies(n) for n in (1, 2, 3)] == [True, True, True]
    as_written = plan.model_copy(update={"group_cutoff_applies_to_all_phases": False})
    assert [as_written.cutoff_applies(n) for n in (1, 2, 3)] == [True, False, False]


def test_migration(plan: Plan) -> None:
    assert plan.migration is not None
    assert (plan.migration.window.start, plan.migration.window.end) == (
        date(2019, 11, 15),
        date(2020, 12, 31),
    )
    assert plan.migration.record_types is None
    assert "Thông tin và Truyền thông" in plan.migration.lead_vi


def test_budget_kept_as_written(plan: Plan) -> None:
    budget = plan.budget
    assert budget is not None
    assert budget.unit_price_vnd == 3000
    assert budget.count_for("province") == 22668
    assert budget.count_for("district") == 1344581
    assert budget.stated_total_count == 1366849
    assert budget.stated_total_vnd == 4100547000
    # The plan's own arithmetic does not add up (domain.md): counts are computed.
    assert budget.budgeted_count == 1367249 != budget.stated_total_count
    assert budget.cost_vnd(22668) == 68004000
    assert budget.cost_vnd(1344581) == 4033743000
    assert budget.cost_vnd(22268 + 1344581) == budget.stated_total_vnd
    province_line = next(line for line in budget.lines if line.level == "province")
    assert province_line.stated_amount_vnd == 66804000
    assert "22,268" in province_line.note


def test_date_range() -> None:
    closed = DateRange.model_validate({"from": date(2006, 1, 1), "to": date(2015, 12, 31)})
    assert closed.contains(date(2006, 1, 1))
    assert closed.contains(date(2015, 12, 31))
    assert not closed.contains(date(2016, 1, 1))
    open_start = DateRange.model_validate({"to": date(2005, 12, 31)})
    assert open_start.contains(date(1900, 1, 1))
    assert not open_start.overlaps(closed)
    assert DateRange.model_validate({"to": date(2006, 1, 1)}).overlaps(closed)
    assert open_start.describe_vi() == "từ ngày 31/12/2005 trở về trước"
    assert closed.describe_en() == "01/01/2006 to 31/12/2015"
    with pytest.raises(ValueError, match="ends before"):
        DateRange.model_validate({"from": date(2016, 1, 1), "to": date(2015, 1, 1)})


# -- loading ----------------------------------------------------------------------------


def test_another_plan_is_a_file(registry: UnitRegistry) -> None:
    other = load_plan(OTHER_PLAN)
    assert other.id == "test_single_group"
    assert other.group_of("25486", registry) == "ALL"
    assert other.group_of("72", registry) == "ALL"
    assert "parentage_recognition" in other.record_types
    assert other.migration is None
    assert other.budget is None
    assert [other.cutoff_applies(n) for n in (1, 2)] == [True, False]
    # Every district-level unit of 2019 is in its one group.
    assert other.unit_problems(registry) == []


def test_load_by_name_and_path(plan: Plan) -> None:
    assert load_plan(DEFAULT_PLAN_NAME) == plan
    assert load_plan(str(OTHER_PLAN)).id == "test_single_group"


def test_env_var_overrides_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PLAN_FILE_ENV, str(OTHER_PLAN))
    assert load_plan().id == "test_single_group"
    monkeypatch.setenv(PLAN_FILE_ENV, DEFAULT_PLAN_NAME)
    assert load_plan().id == DEFAULT_PLAN_NAME
    monkeypatch.delenv(PLAN_FILE_ENV)
    assert load_plan().id == DEFAULT_PLAN_NAME
    # An explicit argument wins over the environment.
    monkeypatch.setenv(PLAN_FILE_ENV, "no_such_plan")
    assert load_plan(OTHER_PLAN).id == "test_single_group"


def test_missing_plans(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="no packaged plan named 'no_such_plan'"):
        load_plan("no_such_plan")
    with pytest.raises(PlanError, match="does not exist"):
        load_plan(tmp_path / "absent.yaml")


def _replace(old: str, new: str) -> str:
    text = OTHER_PLAN.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        # phase 2 would cover adoption for dates phase 1 also covers
        (
            "record_types: [adoption, marital_status]",
            "record_types: [adoption, marital_status, birth]",
            "both cover",
        ),
        ("- number: 2", "- number: 4", "number"),
        ("- number: 2", "- number: 1", "unique"),
        ('unit_codes: ["72", ', 'unit_codes: ["72", "72x", ', "unit_codes"),
        ("issued_on: 2022-01-01", "issued_on: someday", "issued_on"),
        ("entry_window: {start: 2023-01-01", "entry_window: {start: 2024-01-01", "window ends"),
        (
            "    rules:\n      - record_types: [adoption",
            "    rulez:\n      - record_types: [adoption",
            "rulez",
        ),
    ],
)
def test_invalid_plans_are_refused(old: str, new: str, message: str) -> None:
    # Each case breaks exactly one thing in an otherwise valid plan.
    with pytest.raises(PlanError, match=message):
        parse_plan(_replace(old, new))


def test_not_a_mapping_or_not_yaml() -> None:
    with pytest.raises(PlanError, match="mapping"):
        parse_plan("- a\n- b\n")
    with pytest.raises(PlanError, match="not valid YAML"):
        parse_plan("id: [unclosed\n")


def test_unit_problems_reports_missing_districts(registry: UnitRegistry) -> None:
    partial = load_plan(OTHER_PLAN)
    group = partial.groups[0].model_copy(update={"unit_codes": frozenset({"72", "703", "99999"})})
    broken = partial.model_copy(update={"groups": (group,)})
    problems = broken.unit_problems(registry)
    assert "group ALL: unit 99999 is not in the registry" in problems
    missing = {p.split()[1] for p in problems if p.startswith("district")}
    assert missing == {"705", "706", "707", "708", "709", "710", "711", "712"}
    assert all(registry.require(code).level is UnitLevel.DISTRICT for code in missing)
