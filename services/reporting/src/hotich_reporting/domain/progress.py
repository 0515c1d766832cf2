"""Progress counts rolled up along the unit tree (no I/O)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from hotich_contracts.units import UnitRegistry

STATUSES = (
    "received",
    "valid",
    "rejected",
    "accepted",
    "duplicate_suspected",
    "exported",
    "export_failed",
)


@dataclass(frozen=True)
class Cell:
    """Records of one unit, phase, type and current status."""

    unit_code: str
    phase: str
    record_type: str
    status: str
    count: int


def roll_up(
    cells: Iterable[Cell], registry: UnitRegistry, scope: str | None
) -> dict[str, Counter[str]]:
    """Sum status counts per unit *including its subtree*, within ``scope`` (None = all).

    A commune's records count for the commune, its district and the province.
    """
    totals: dict[str, Counter[str]] = {}
    for cell in cells:
        chain = [cell.unit_code, *(u.code for u in registry.ancestors(cell.unit_code))]
        for code in chain:
            if scope is None or registry.is_within(code, scope):
                totals.setdefault(code, Counter())[cell.status] += cell.count
    return totals
