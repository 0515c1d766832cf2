"""The whole read side on the in-memory stores: a generated set of registers, its events
shuffled and repeated, against numbers computed from what was intended."""

from __future__ import annotations

import dataclasses
from datetime import date
from random import Random

import pytest

from hotich_contracts.plan import load_plan
from hotich_contracts.units import default_registry
from hotich_reporting.adapters.event_views import decode
from hotich_reporting.adapters.memory import MemoryAcceptance, MemoryProjection, MemorySurvey
from hotich_reporting.adapters.spreadsheets import read_rows
from hotich_reporting.domain.books import book_key
from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.service_layer.queries import OutOfScope, Reports
from hotich_reporting.service_layer.survey import import_survey
from hotich_runtime.auth import Principal, Role
from tests.reporting import scenario as sc

DEPARTMENT = Principal("so", "72", Role.DEPARTMENT_OFFICER)
DISTRICT = Principal("tanbien", "705", Role.DISTRICT_OFFICER)
COMMUNE = Principal("clerk", "25489", Role.CLERK)


@pytest.fixture(scope="module")
def scenario() -> sc.Scenario:
    return sc.build(sc.config(total=1500, seed=11))


@pytest.fixture(scope="module")
async def reports(scenario: sc.Scenario) -> Reports:
    views: list[EventView] = [
        decode(topic, event.model_dump_json().encode()) for topic, event in scenario.all_events()
    ]
    rng = Random(5)
    views += rng.sample(views, len(views) // 4)  # redelivered
    rng.shuffle(views)
    projection = MemoryProjection()
    for start in range(0, len(views), 333):
        await projection.apply(views[start : start + 333])
    survey = MemorySurvey()
    plan = load_plan()
    await import_survey(
        survey,
        read_rows(sc.survey_csv(scenario)),
        plan=plan,
        registry=default_registry(),
        principal=None,
    )
    return Reports(
        projection=projection,
        survey=survey,
        acceptance=MemoryAcceptance(),
        registry=default_registry(),
        plan=plan,
        today=lambda: date(2020, 7, 20),
    )


@pytest.mark.parametrize("phase", ["1", "2", "3", "migration", "none", "pending", "all"])
async def test_progress_equals_ground_truth(
    reports: Reports, scenario: sc.Scenario, phase: str
) -> None:
    expected = sc.expected_units(scenario, phase)
    report = await reports.progress(DEPARTMENT, phase, "705")
    assert sc.report_row(report["totals"]) == sc.as_report_row(expected.get("705", sc.Counter()))
    for row in report["children"]:
        if not row["own"]:
            assert sc.report_row(row) == sc.as_report_row(
                expected.get(row["code"], sc.Counter())
            ), row["code"]
    province = await reports.progress(DEPARTMENT, phase, None)
    assert sc.report_row(province["totals"]) == sc.as_report_row(expected.get("72", sc.Counter()))


async def test_cost_is_accepted_records_times_the_unit_price(
    reports: Reports, scenario: sc.Scenario
) -> None:
    cost = await reports.cost(DEPARTMENT, "all", None)
    accepted = sum(1 for f in scenario.finals.values() if f.status in ("exported", "export_failed"))
    assert cost["total_accepted"] == accepted
    assert cost["total_cost_vnd"] == accepted * 3000
    by_level = {line["level"]: line for line in cost["levels"]}
    district_office = sum(
        1
        for f in scenario.finals.values()
        if f.status in ("exported", "export_failed") and f.unit == "705"
    )
    assert by_level["province"]["accepted"] == 0
    assert by_level["district"]["accepted"] == accepted
    assert by_level["province"]["budgeted_count_as_written"] == 22668
    report = await reports.progress(DEPARTMENT, "all", "705")
    own = next(r for r in report["children"] if r["own"])
    assert own["cost_vnd"] == district_office * 3000


async def test_register_books_and_their_gaps(reports: Reports, scenario: sc.Scenario) -> None:
    accounted = sc.accounted_numbers(scenario)
    checked = 0
    for row in scenario.survey[:400]:
        key = book_key(sc.book_unit(row), row.record_type, row.book_number)
        gaps = await reports.gaps(DEPARTMENT, key)
        expected_missing = [
            n
            for n in range(row.first_entry, row.first_entry + row.entries)
            if n not in accounted.get(row.book_id, set())
        ]
        missing = [n for a, b in gaps["missing"] for n in range(a, b + 1)]
        assert missing == expected_missing, row.book_id
        assert gaps["expected"] == row.entries
        checked += bool(missing)
    assert checked  # some books do have gaps (rejected entries, malformed ones, ...)
    unit = scenario.survey[0].unit_code
    listing = await reports.books(DEPARTMENT, unit)
    surveyed = [b for b in listing["books"] if b["surveyed"]]
    assert len(surveyed) == sum(1 for r in scenario.survey if sc.book_unit(r) == unit)
    for book in surveyed:
        assert book["missing"] == book["expected"] - book["covered"]


async def test_scopes_by_role(reports: Reports) -> None:
    own = await reports.progress(COMMUNE, "all", None)
    assert own["unit"]["code"] == "25489"
    assert own["children"] == [] or all(r["code"] == "25489" for r in own["children"])
    district = await reports.progress(DISTRICT, "all", None)
    assert {r["code"] for r in district["children"] if not r["own"]} >= {"25489", "25486"}
    with pytest.raises(OutOfScope):
        await reports.progress(COMMUNE, "all", "705")
    with pytest.raises(OutOfScope):
        await reports.progress(DISTRICT, "all", "703")
    with pytest.raises(OutOfScope):
        await reports.books(COMMUNE, "25486")
    with pytest.raises(OutOfScope):
        await reports.gaps(COMMUNE, "25486|birth|1/2000")


async def test_lifecycle_view_counts_each_record_once(
    reports: Reports, scenario: sc.Scenario
) -> None:
    view = await reports.lifecycle(DEPARTMENT, None, None)
    total = view["units"]["72"]
    assert total["total"] == len(scenario.finals)
    assert sum(v for k, v in total.items() if k != "total") == len(scenario.finals)


def test_deadlines_with_an_injected_clock(reports: Reports) -> None:
    deadlines = reports.deadlines()
    assert deadlines["today"] == "2020-07-20"
    by_key = {(d["phase"], d["kind"]): d for d in deadlines["deadlines"]}
    assert by_key[(1, "district_report")]["status"] == "due_soon"  # 30/07/2020, 10 days
    assert by_key[(1, "province_report")]["status"] == "on_time"  # 31/08/2020
    assert by_key[(2, "district_report")]["days_left"] == 375
    later = dataclasses.replace(reports, today=lambda: date(2020, 9, 1))
    statuses = {(d["phase"], d["kind"]): d["status"] for d in later.deadlines()["deadlines"]}
    assert statuses[(1, "district_report")] == "overdue"
    assert statuses[(1, "province_report")] == "overdue"
    assert statuses[(3, "province_report")] == "on_time"
