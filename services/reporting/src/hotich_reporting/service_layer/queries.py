"""Report queries (read side of the projection)."""

from __future__ import annotations

from collections import Counter
from typing import Any, Protocol

from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain.progress import STATUSES, Cell, roll_up
from hotich_runtime.auth import Principal, Role


class Projection(Protocol):
    """Read side of the projection."""

    async def cells(self, phase: str | None = None) -> list[Cell]:
        """Counts by unit, phase, type and status."""


class OutOfScope(Exception):
    """The caller may not see that unit."""


def default_scope(principal: Principal, registry: UnitRegistry) -> str | None:
    """The widest unit a principal may see; None for the whole province."""
    if principal.role in (Role.DEPARTMENT_OFFICER, Role.ADMIN):
        return None
    return principal.unit_code


async def progress(
    projection: Projection,
    registry: UnitRegistry,
    principal: Principal,
    *,
    phase: str | None,
    unit_code: str | None,
) -> dict[str, Any]:
    """Progress per unit (rolled up) and per record type within the requested scope.

    Raises:
        OutOfScope: ``unit_code`` is outside what the principal may see.
    """
    allowed = default_scope(principal, registry)
    scope = unit_code or allowed
    if allowed is not None and scope is not None and not registry.is_within(scope, allowed):
        raise OutOfScope(scope)
    cells = await projection.cells(phase)
    in_scope = [c for c in cells if scope is None or registry.is_within(c.unit_code, scope)]
    units = roll_up(in_scope, registry, scope)
    by_type: dict[str, Counter[str]] = {}
    for cell in in_scope:
        by_type.setdefault(cell.record_type, Counter())[cell.status] += cell.count
    by_phase: dict[str, Counter[str]] = {}
    for cell in in_scope:
        by_phase.setdefault(cell.phase, Counter())[cell.status] += cell.count

    def counts(counter: Counter[str]) -> dict[str, int]:
        row = {s: counter.get(s, 0) for s in STATUSES}
        row["total"] = sum(counter.values())
        return row

    return {
        "phase": phase or "all",
        "unit_code": scope,
        "units": {code: counts(c) for code, c in sorted(units.items())},
        "by_type": {t: counts(c) for t, c in sorted(by_type.items())},
        "by_phase": {p: counts(c) for p, c in sorted(by_phase.items())},
    }
