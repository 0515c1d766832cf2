"""The counters of a report cell, their Vietnamese names, and rolling them up the unit tree.

A *cell* is (phase bucket, unit, record type); its counters are named as follows (see
:func:`hotich_reporting.domain.lifecycle.contributions` for when a record adds to each):

=====================  ==================================  ==================================
name                   Vietnamese heading                  a record counts when
=====================  ==================================  ==================================
surveyed               Số lượng theo khảo sát              (from the survey, not from events)
entered                Đã nhập                             always (its current version)
pending                Chờ kiểm tra                        entered, not validated yet
valid                  Hợp lệ                              it passed the plan's rules
rejected               Bị từ chối                          its current status is rejected
r_<code>               Từ chối: <reason>                   rejected with that reason code
not_enterable          Không nhập được (sổ rách, hỏng)      rejected as unreadable (principle 3)
duplicate_suspected    Nghi trùng                          awaiting a reviewer
duplicate_confirmed    Trùng đã xác nhận                   rejected by dedup as a duplicate
accepted               Được chấp nhận                      accepted, exported or export failed
exported               Đã chuyển CSDL quốc gia             the national database holds it
export_failed          Chuyển không thành công             the national database refused it
late                   Nhập trễ hạn                        valid, entered after its window
s_<status>             (exact current status)              for the lifecycle view
=====================  ==================================  ==================================
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from hotich_contracts.units import UnitRegistry

__all__ = [
    "HEADINGS_VI",
    "MAIN_METRICS",
    "PHASE_LABELS_VI",
    "REASON_LABELS_VI",
    "RECORD_TYPE_LABELS_VI",
    "STATUSES",
    "CellCounts",
    "completion",
    "roll_up",
]

STATUSES: Final = (
    "received",
    "valid",
    "rejected",
    "accepted",
    "duplicate_suspected",
    "exported",
    "export_failed",
)
"""The record lifecycle of the public contract."""

MAIN_METRICS: Final = (
    "surveyed",
    "entered",
    "pending",
    "valid",
    "rejected",
    "not_enterable",
    "duplicate_suspected",
    "duplicate_confirmed",
    "accepted",
    "exported",
    "export_failed",
    "late",
)
"""Counters every report shows, in column order."""

HEADINGS_VI: Final[dict[str, str]] = {
    "surveyed": "Số lượng theo khảo sát",
    "entered": "Đã nhập",
    "pending": "Chờ kiểm tra",
    "valid": "Hợp lệ",
    "rejected": "Bị từ chối",
    "not_enterable": "Không nhập được (sổ rách, hỏng)",
    "duplicate_suspected": "Nghi trùng",
    "duplicate_confirmed": "Trùng đã xác nhận",
    "accepted": "Được chấp nhận",
    "exported": "Đã chuyển CSDL quốc gia",
    "export_failed": "Chuyển không thành công",
    "late": "Nhập trễ hạn",
}

PHASE_LABELS_VI: Final[dict[str, str]] = {
    "1": "Giai đoạn 1",
    "2": "Giai đoạn 2",
    "3": "Giai đoạn 3",
    "migration": "Chuyển đổi dữ liệu phần mềm",
    "none": "Ngoài phạm vi kế hoạch",
    "pending": "Chưa kiểm tra",
    "all": "Tất cả",
}

RECORD_TYPE_LABELS_VI: Final[dict[str, str]] = {
    "birth": "Khai sinh",
    "death": "Khai tử",
    "marriage": "Kết hôn",
    "marriage_recording": "Ghi chú kết hôn",
    "marital_status": "Xác nhận tình trạng hôn nhân",
    "change_correction": "Thay đổi, cải chính, bổ sung hộ tịch",
    "ethnicity_redetermination": "Xác định lại dân tộc",
    "sex_redetermination": "Xác định lại giới tính",
    "adoption": "Nuôi con nuôi",
    "guardianship": "Giám hộ",
    "divorce_recording": "Ghi chú ly hôn",
    "parentage_recognition": "Nhận cha, mẹ, con",
    "unknown": "Chưa rõ",
}

REASON_LABELS_VI: Final[dict[str, str]] = {
    "malformed": "Sai cấu trúc",
    "missing_mandatory_field": "Thiếu trường bắt buộc",
    "not_enterable": "Không nhập được (sổ rách, hỏng)",
    "out_of_scope_type": "Loại việc ngoài kế hoạch",
    "out_of_scope_date": "Ngày đăng ký ngoài phạm vi",
    "wrong_entering_unit": "Sai đơn vị nhập",
    "unknown_unit": "Đơn vị không xác định",
    "marital_status_not_for_marriage": "Xác nhận TTHN không để kết hôn",
    "inconsistent_dates": "Ngày tháng không hợp lý",
    "invalid_identity_number": "Số giấy tờ không hợp lệ",
    "late_entry": "Nhập trễ hạn",
    "duplicate_exact": "Trùng hoàn toàn",
    "duplicate_probable": "Trùng (đã xác nhận)",
    "national_rejected": "CSDL quốc gia từ chối",
    "unreadable_field": "Trường không đọc được",
    "implausible_age": "Tuổi không hợp lý",
}


@dataclass(frozen=True, slots=True)
class CellCounts:
    """The counters of one (phase bucket, unit, record type) cell."""

    phase: str
    unit_code: str
    record_type: str
    counts: Mapping[str, int]


def roll_up(
    cells: Iterable[CellCounts], registry: UnitRegistry, scope: str | None = None
) -> dict[str, Counter[str]]:
    """Sum counters per unit *including its subtree*, within ``scope`` (None = all).

    A commune's records count for the commune, its district and the province. Units
    the registry does not know count for themselves only.
    """
    chains: dict[str, list[str]] = {}
    totals: dict[str, Counter[str]] = {}
    for cell in cells:
        chain = chains.get(cell.unit_code)
        if chain is None:
            chain = [cell.unit_code, *(u.code for u in registry.ancestors(cell.unit_code))]
            if scope is not None:
                chain = [c for c in chain if registry.is_within(c, scope)]
            chains[cell.unit_code] = chain
        for code in chain:
            totals.setdefault(code, Counter()).update(cell.counts)
    return totals


def completion(counts: Mapping[str, int]) -> float | None:
    """Share of the surveyed entries settled: accepted, suspected or not enterable.

    None when nothing was surveyed.
    """
    surveyed = counts.get("surveyed", 0)
    if surveyed <= 0:
        return None
    done = (
        counts.get("accepted", 0)
        + counts.get("duplicate_suspected", 0)
        + counts.get("not_enterable", 0)
    )
    return done / surveyed
