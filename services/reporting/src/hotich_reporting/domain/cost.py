"""Cost of the work (kinh phí): accepted records times the plan's unit price, per level.

The plan budgets two levels: the province (the Department of Justice's own registers)
and the districts (district offices and their communes), at 3,000 VND per record in
Tây Ninh. Reports compute every amount from counts and the unit price of the plan file;
the plan's stated totals are never copied (its own sums do not add up: see domain.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from hotich_contracts.plan import Plan
from hotich_contracts.units import UnitLevel, UnitRegistry

__all__ = ["LEVEL_LABELS_VI", "CostLine", "cost_lines", "level_of"]

Level = Literal["province", "district"]

LEVEL_LABELS_VI: Final[dict[str, str]] = {
    "province": "Cấp tỉnh (Sở Tư pháp)",
    "district": "Cấp huyện (huyện và các xã, phường, thị trấn)",
}


def level_of(unit_code: str, registry: UnitRegistry) -> Level:
    """Budget level of a unit: the province's own Department, or the district level."""
    unit = registry.get(unit_code)
    if unit is not None and unit.level is UnitLevel.PROVINCE:
        return "province"
    return "district"


@dataclass(frozen=True, slots=True)
class CostLine:
    """Cost of one budget level.

    Attributes:
        level: ``province`` or ``district``.
        budgeted_count: records the plan budgets for the level, as written.
        accepted: records accepted.
        unit_price_vnd: the plan's price per record.
        cost_vnd: accepted x unit price.
    """

    level: Level
    budgeted_count: int
    accepted: int
    unit_price_vnd: int
    cost_vnd: int

    @property
    def label_vi(self) -> str:
        """The level, in Vietnamese."""
        return LEVEL_LABELS_VI[self.level]


def cost_lines(plan: Plan, accepted_by_level: Mapping[str, int]) -> list[CostLine]:
    """A cost line per budget level from accepted counts (and the plan's unit price).

    Raises:
        ValueError: the plan has no budget (no unit price).
    """
    if plan.budget is None:
        raise ValueError(f"plan {plan.id} has no budget: no unit price to cost records")
    price = plan.budget.unit_price_vnd
    lines: list[CostLine] = []
    levels: tuple[Level, ...] = ("province", "district")
    for level in levels:
        accepted = accepted_by_level.get(level, 0)
        lines.append(
            CostLine(
                level=level,
                budgeted_count=plan.budget.count_for(level),
                accepted=accepted,
                unit_price_vnd=price,
                cost_vnd=plan.budget.cost_vnd(accepted),
            )
        )
    return lines
