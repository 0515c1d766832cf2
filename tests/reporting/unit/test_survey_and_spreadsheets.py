"""Survey files (CSV, Excel, Vietnamese headings) and the report files."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import Workbook, load_workbook

from hotich_contracts.plan import load_plan
from hotich_contracts.units import default_registry
from hotich_reporting.adapters.memory import MemoryAcceptance, MemoryProjection, MemorySurvey
from hotich_reporting.adapters.spreadsheets import read_rows, to_csv, to_xlsx
from hotich_reporting.domain.books import book_key, entry_key, entry_number_value
from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.domain.survey import SurveyError, manual_phase, parse_survey
from hotich_reporting.service_layer import report_tables
from hotich_reporting.service_layer.queries import OutOfScope, Reports
from hotich_reporting.service_layer.survey import import_survey
from hotich_runtime.auth import Principal, Role

PLAN = load_plan()
REGISTRY = default_registry()
VI_HEADINGS = [
    "Mã đơn vị",
    "Loại việc",
    "Quyển số",
    "Từ năm",
    "Đến năm",
    "Số lượng",
    "Tình trạng sổ",
]


def _xlsx(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_book_and_entry_numbers_compare_by_value() -> None:
    assert book_key("25459", "birth", "01/2008") == book_key("25459", "birth", " 1/2008 ")
    assert entry_number_value("015") == entry_number_value("15/2010") == 15
    assert entry_key("15") == "000000015"
    assert entry_key("15a").startswith("~")


def test_books_are_placed_in_phases_like_their_entries() -> None:
    # Tân Biên (group C, cutoff 31/12/2015); Tây Ninh city (group A, cutoff 31/12/2011)
    assert manual_phase(PLAN, REGISTRY, "25489", "birth", range(2010, 2011)) == "1"
    assert manual_phase(PLAN, REGISTRY, "25489", "birth", range(1990, 1991)) == "2"
    assert manual_phase(PLAN, REGISTRY, "25459", "birth", range(2013, 2014)) == "none"
    assert manual_phase(PLAN, REGISTRY, "25489", "adoption", range(1998, 1999)) == "3"
    assert (
        manual_phase(PLAN, REGISTRY, "25489", "parentage_recognition", range(2010, 2011)) == "none"
    )
    assert manual_phase(PLAN, REGISTRY, "25489", "birth", range(2004, 2008)) == "1"  # 3 of 4 years


def test_a_survey_in_excel_with_vietnamese_headings() -> None:
    content = _xlsx(
        [
            VI_HEADINGS,
            ["25489", "Khai sinh", "01/2010", 2010, 2010, 120, "Còn tốt"],
            ["25489", "Khai tử", "1/1995", 1995, 1995, 40, "Rách, hỏng"],
        ]
    )
    books = parse_survey(read_rows(content), plan=PLAN, registry=REGISTRY)
    assert [(b.record_type, b.phase, b.entries, b.condition) for b in books] == [
        ("birth", "1", 120, "intact"),
        ("death", "2", 40, "damaged"),
    ]
    assert books[0].key == "25489|birth|1/2010"


def test_every_bad_row_is_reported_with_its_line() -> None:
    text = "\n".join(
        [
            "unit_code,record_type,book_number,year_from,year_to,entries",
            "25489,birth,1/2010,2010,2010,10",
            "99999,birth,2/2010,2010,2010,10",
            "25489,unicorn,3/2010,2010,2010,10",
            "25489,birth,4/2010,2011,2010,x",
            "25489,birth,01/2010,2010,2010,5",
        ]
    )
    with pytest.raises(SurveyError) as caught:
        parse_survey(read_rows(text.encode()), plan=PLAN, registry=REGISTRY)
    lines = {e["line"] for e in caught.value.errors}
    assert lines == {3, 4, 5, 6}


async def test_who_may_import_the_survey() -> None:
    rows = read_rows(
        b"unit_code,record_type,book_number,year_from,year_to,entries\n25489,birth,1/2010,2010,2010,10\n"
    )
    store = MemorySurvey()
    district = Principal("d", "705", Role.DISTRICT_OFFICER)
    result = await import_survey(store, rows, plan=PLAN, registry=REGISTRY, principal=district)
    assert result["expected_by_phase"] == {"1": 10}
    with pytest.raises(OutOfScope):
        await import_survey(
            store,
            rows,
            plan=PLAN,
            registry=REGISTRY,
            principal=Principal("d", "703", Role.DISTRICT_OFFICER),
        )
    with pytest.raises(OutOfScope):
        await import_survey(
            store, rows, plan=PLAN, registry=REGISTRY, principal=district, replace=True
        )
    with pytest.raises(OutOfScope):
        await import_survey(
            store, rows, plan=PLAN, registry=REGISTRY, principal=Principal("c", "25489", Role.CLERK)
        )


async def _reports() -> Reports:
    projection = MemoryProjection()
    common = {
        "record_id": "r1",
        "version": 1,
        "unit_code": "25489",
        "phase": "1",
        "occurred_at": "2020-05-01T00:00:00.000000+00:00",
    }
    await projection.apply(
        [
            EventView(event_id="a", event_type="record.validated", status="valid", **common),  # type: ignore[arg-type]
            EventView(event_id="b", event_type="record.deduplicated", status="accepted", **common),  # type: ignore[arg-type]
        ]
    )
    survey = MemorySurvey()
    await import_survey(
        survey,
        read_rows(
            b"unit_code,record_type,book_number,year_from,year_to,entries\n25489,birth,1/2010,2010,2010,10\n"
        ),
        plan=PLAN,
        registry=REGISTRY,
        principal=None,
    )
    return Reports(
        projection, survey, MemoryAcceptance(), REGISTRY, PLAN, lambda: date(2020, 7, 20)
    )


async def test_district_report_as_excel_and_csv() -> None:
    reports = await _reports()
    officer = Principal("d", "705", Role.DISTRICT_OFFICER)
    document = await report_tables.district_report(reports, officer, "1", None)
    workbook = load_workbook(io.BytesIO(to_xlsx(document)))
    assert workbook.sheetnames == [
        "Tổng hợp theo đơn vị",
        "Theo loại việc",
        "Lý do từ chối",
        "Sổ còn thiếu",
    ]
    sheet = workbook["Tổng hợp theo đơn vị"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "ỦY BAN NHÂN DÂN HUYỆN TÂN BIÊN"
    assert any(v == "Kính gửi: Sở Tư pháp" for row in values for v in row)
    header = next(row for row in values if row[0] == "STT")
    assert header[3:6] == ["Số lượng theo khảo sát", "Đã nhập", "Chờ kiểm tra"]
    total = next(row for row in values if row[2] == "Tổng cộng")
    assert total[3:5] == [10, 1]
    assert total[header.index("Kinh phí (đồng)")] == 3000
    text = to_csv(document).decode("utf-8")
    assert text.startswith("\ufeffSTT,Mã đơn vị,Tên đơn vị,Số lượng theo khảo sát")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[-1][2] == "Tổng cộng"
    assert rows[-1][-1] == "3000"
    with pytest.raises(OutOfScope):
        await report_tables.district_report(reports, officer, "1", "703")


async def test_province_report_is_the_departments() -> None:
    reports = await _reports()
    with pytest.raises(OutOfScope):
        await report_tables.province_report(
            reports, Principal("d", "705", Role.DISTRICT_OFFICER), "1"
        )
    document = await report_tables.province_report(
        reports, Principal("s", "72", Role.DEPARTMENT_OFFICER), "1"
    )
    workbook = load_workbook(io.BytesIO(to_xlsx(document)))
    assert "Kinh phí" in workbook.sheetnames
    assert "Nghiệm thu" in workbook.sheetnames
    money = [[c.value for c in row] for row in workbook["Kinh phí"].iter_rows()]
    header = next(row for row in money if row[0] == "STT")
    assert header[3] == "Số bản ghi được chấp nhận"
    district_line = next(row for row in money if row[1] and str(row[1]).startswith("Cấp huyện"))
    assert district_line[2:6] == [1344581, 1, 3000, 3000]
    assert not any(v == 4100547000 for row in money for v in row)  # never the plan's stated total
