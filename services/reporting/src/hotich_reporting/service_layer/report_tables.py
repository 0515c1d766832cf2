"""The two reports of Section III.1.3, as tables with Vietnamese headings.

* the **district report** (báo cáo của UBND cấp huyện gửi Sở Tư pháp): the district
  office and each of its communes, by record type, the reasons for rejection and the
  register books with entries still missing;
* the **Department's report to the Province** (báo cáo của Sở Tư pháp gửi UBND tỉnh):
  the Department and each district, by record type, the cost per budget level, the
  acceptance lots and the reasons for rejection.

Adapters render a :class:`ReportDocument` as Excel (one sheet per table) or CSV (one
table).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hotich_reporting.domain.metrics import (
    HEADINGS_VI,
    MAIN_METRICS,
    PHASE_LABELS_VI,
    REASON_LABELS_VI,
)
from hotich_reporting.service_layer.queries import OutOfScope, Reports
from hotich_runtime.auth import Principal, Role

__all__ = ["ReportDocument", "Sheet", "district_report", "province_report"]

_UNIT_HEADERS = ["STT", "Mã đơn vị", "Tên đơn vị"]
_METRIC_HEADERS = [HEADINGS_VI[m] for m in MAIN_METRICS]
_TAIL_HEADERS = ["Tỷ lệ hoàn thành (%)", "Kinh phí (đồng)"]


@dataclass
class Sheet:
    """One table: a title (the Excel sheet name), headings, rows and a total row."""

    title: str
    headers: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    totals: list[Any] | None = None


@dataclass
class ReportDocument:
    """A report: its file name (without extension), title lines and tables."""

    name: str
    title_lines: list[str]
    sheets: list[Sheet]


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _metric_cells(row: dict[str, Any]) -> list[Any]:
    share = row.get("completion")
    return [
        *(row[m] for m in MAIN_METRICS),
        round(share * 100, 2) if share is not None else None,
        row["cost_vnd"],
    ]


def _type_sheet(report: dict[str, Any]) -> Sheet:
    sheet = Sheet("Theo loại việc", ["STT", "Loại việc", *_METRIC_HEADERS, *_TAIL_HEADERS])
    for index, (_, row) in enumerate(sorted(report["by_type"].items()), start=1):
        sheet.rows.append([index, row["label"], *_metric_cells(row)])
    sheet.totals = ["", "Tổng cộng", *_metric_cells(report["totals"])]
    return sheet


def _reason_sheet(report: dict[str, Any]) -> Sheet:
    sheet = Sheet("Lý do từ chối", ["STT", "Mã lý do", "Lý do", "Số bản ghi"])
    reasons = report["totals"]["rejected_by_reason"]
    for index, (code, count) in enumerate(sorted(reasons.items()), start=1):
        sheet.rows.append([index, code, REASON_LABELS_VI.get(code, code), count])
    sheet.totals = ["", "", "Tổng số bản ghi bị từ chối", report["totals"]["rejected"]]
    return sheet


def _deadline_line(reports: Reports, phase: str, kind: str) -> str | None:
    for d in reports.deadlines()["deadlines"]:
        if str(d["phase"]) == phase and d["kind"] == kind:
            due = date.fromisoformat(d["due"])
            return f"Hạn báo cáo: {_vn(due)} ({d['status_label'].lower()})"
    return None


def _plan_line(reports: Reports) -> str:
    plan = reports.plan
    return f"Thực hiện Kế hoạch số {plan.number} ngày {_vn(plan.issued_on)} của {plan.issuer_vi or 'UBND tỉnh'}"


async def district_report(
    reports: Reports, principal: Principal, phase: str, district: str | None
) -> ReportDocument:
    """The district's report to the Department for a phase.

    Raises:
        OutOfScope: the district is outside the caller's scope, or not a district.
    """
    code = district or principal.unit_code
    unit = reports.registry.get(code)
    if unit is None or unit.level.value != "district":
        raise OutOfScope(f"{code} is not a district")
    report = await reports.progress(principal, phase, code)
    name = report["unit"]["name"]
    summary = Sheet("Tổng hợp theo đơn vị", [*_UNIT_HEADERS, *_METRIC_HEADERS, *_TAIL_HEADERS])
    for index, row in enumerate(report["children"], start=1):
        label = f"{row['name']} (cấp huyện)" if row["own"] else row["name"]
        summary.rows.append([index, row["code"], label, *_metric_cells(row)])
    summary.totals = ["", code, "Tổng cộng", *_metric_cells(report["totals"])]
    books = Sheet(
        "Sổ còn thiếu",
        [
            "STT",
            "Mã đơn vị",
            "Loại việc",
            "Quyển số",
            "Năm",
            "Số lượng theo khảo sát",
            "Đã có",
            "Còn thiếu",
        ],
    )
    index = 0
    for row in report["children"]:
        listing = await reports.books(principal, row["code"], phase)
        for book in listing["books"]:
            if book["missing"]:
                index += 1
                books.rows.append(
                    [
                        index,
                        row["code"],
                        book["record_type_label"],
                        book["book_number"],
                        book["year_from"],
                        book["expected"],
                        book["covered"],
                        book["missing"],
                    ]
                )
    lines = [
        f"ỦY BAN NHÂN DÂN {name.upper()}",
        f"BÁO CÁO KẾT QUẢ SỐ HÓA DỮ LIỆU HỘ TỊCH - {PHASE_LABELS_VI[phase].upper()}",
        _plan_line(reports),
        "Kính gửi: Sở Tư pháp",
        f"Số liệu tính đến ngày {_vn(reports.today())}",
    ]
    if (deadline := _deadline_line(reports, phase, "district_report")) is not None:
        lines.append(deadline)
    return ReportDocument(
        name=f"bao-cao-huyen-{code}-giai-doan-{phase}",
        title_lines=lines,
        sheets=[summary, _type_sheet(report), _reason_sheet(report), books],
    )


async def province_report(reports: Reports, principal: Principal, phase: str) -> ReportDocument:
    """The Department's report to the Province People's Committee for a phase.

    Raises:
        OutOfScope: the caller does not see the whole province.
    """
    if principal.role not in (Role.DEPARTMENT_OFFICER, Role.ADMIN):
        raise OutOfScope("the province report is the Department's")
    report = await reports.progress(principal, phase, None)
    summary = Sheet("Tổng hợp theo huyện", [*_UNIT_HEADERS, *_METRIC_HEADERS, *_TAIL_HEADERS])
    for index, row in enumerate(report["children"], start=1):
        label = (
            "Sở Tư pháp (cấp tỉnh)" if row["own"] and row["level"] == "province" else row["name"]
        )
        summary.rows.append([index, row["code"], label, *_metric_cells(row)])
    summary.totals = ["", report["unit"]["code"], "Tổng cộng", *_metric_cells(report["totals"])]
    cost = await reports.cost(principal, phase, None)
    money = Sheet(
        "Kinh phí",
        [
            "STT",
            "Cấp",
            "Số lượng theo kế hoạch (như ghi trong kế hoạch)",
            "Số bản ghi được chấp nhận",
            "Đơn giá (đồng)",
            "Thành tiền (đồng)",
        ],
    )
    for index, level in enumerate(cost["levels"], start=1):
        money.rows.append(
            [
                index,
                level["label"],
                level["budgeted_count_as_written"],
                level["accepted"],
                cost["unit_price_vnd"],
                level["cost_vnd"],
            ]
        )
    money.totals = ["", "Tổng cộng", None, cost["total_accepted"], None, cost["total_cost_vnd"]]
    lots = Sheet(
        "Nghiệm thu",
        [
            "STT",
            "Mã đơn vị",
            "Tên đơn vị",
            "Lần lấy mẫu",
            "Cỡ lô",
            "Cỡ mẫu",
            "Ac",
            "Re",
            "Số bản ghi lỗi",
            "Kết quả",
            "Số bản ghi được thanh toán",
            "Kinh phí thanh toán (đồng)",
        ],
    )
    for index, lot in enumerate(await reports.lots(principal, phase), start=1):
        current = lot["rounds"][-1]
        lots.rows.append(
            [
                index,
                lot["unit_code"],
                reports.unit_info(lot["unit_code"])["name"],
                current["number"],
                current["lot_size"],
                current["sample_size"],
                current["acceptance_number"],
                current["rejection_number"],
                current["defective"],
                lot["status_label"],
                lot["records_in_passed_lot"],
                lot["payment_due_vnd"],
            ]
        )
    lots.totals = [
        "",
        "",
        "Tổng cộng",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        cost["payment_due_vnd"],
    ]
    plan = reports.plan
    lines = [
        "SỞ TƯ PHÁP",
        f"BÁO CÁO KẾT QUẢ SỐ HÓA DỮ LIỆU HỘ TỊCH - {PHASE_LABELS_VI[phase].upper()}",
        _plan_line(reports),
        f"Kính gửi: {plan.issuer_vi or 'Ủy ban nhân dân tỉnh'}",
        f"Số liệu tính đến ngày {_vn(reports.today())}",
        "Kinh phí tính bằng số bản ghi được chấp nhận nhân đơn giá của kế hoạch.",
    ]
    if (deadline := _deadline_line(reports, phase, "province_report")) is not None:
        lines.append(deadline)
    return ReportDocument(
        name=f"bao-cao-so-tu-phap-giai-doan-{phase}",
        title_lines=lines,
        sheets=[summary, _type_sheet(report), money, lots, _reason_sheet(report)],
    )
