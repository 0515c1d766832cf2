"""Report deadlines of each phase (Section III.1.3): on time, due soon or overdue.

After each phase the districts report to the Department of Justice, and the
Department accepts the product and reports to the Province People's Committee, by the
dates of the plan file. The status depends on the day only, which the caller passes
(an injectable clock), so reports and tests agree on "today".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from hotich_contracts.plan import Plan

__all__ = ["DEADLINE_LABELS_VI", "STATUS_LABELS_VI", "Deadline", "deadline_status", "deadlines"]

DeadlineKind = Literal["district_report", "province_report"]
DeadlineStatus = Literal["on_time", "due_soon", "overdue"]

DEADLINE_LABELS_VI: Final[dict[str, str]] = {
    "district_report": "Huyện báo cáo kết quả về Sở Tư pháp",
    "province_report": "Sở Tư pháp nghiệm thu và báo cáo UBND tỉnh",
}
STATUS_LABELS_VI: Final[dict[str, str]] = {
    "on_time": "Còn hạn",
    "due_soon": "Sắp đến hạn",
    "overdue": "Quá hạn",
}


@dataclass(frozen=True, slots=True)
class Deadline:
    """One report deadline of one phase, as seen on a given day."""

    phase: int
    kind: DeadlineKind
    due: date
    days_left: int
    status: DeadlineStatus

    @property
    def label_vi(self) -> str:
        """What is due, in Vietnamese."""
        return DEADLINE_LABELS_VI[self.kind]


def deadline_status(due: date, today: date, due_soon_days: int) -> DeadlineStatus:
    """``overdue`` after the day, ``due_soon`` within ``due_soon_days`` of it, else ``on_time``."""
    if today > due:
        return "overdue"
    if (due - today).days <= due_soon_days:
        return "due_soon"
    return "on_time"


def deadlines(plan: Plan, today: date, *, due_soon_days: int = 14) -> list[Deadline]:
    """Every report deadline of the plan, in phase order, with its status on ``today``."""
    found: list[Deadline] = []
    for phase in plan.phases:
        if phase.reports is None:
            continue
        pairs: tuple[tuple[DeadlineKind, date], ...] = (
            ("district_report", phase.reports.district_report_due),
            ("province_report", phase.reports.province_report_due),
        )
        for kind, due in pairs:
            found.append(
                Deadline(
                    phase=phase.number,
                    kind=kind,
                    due=due,
                    days_left=(due - today).days,
                    status=deadline_status(due, today, due_soon_days),
                )
            )
    return found
