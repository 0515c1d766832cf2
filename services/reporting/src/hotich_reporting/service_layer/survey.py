"""Importing the survey baseline (khảo sát), from the API or the CLI."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from hotich_contracts.plan import Plan
from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain.survey import parse_survey
from hotich_reporting.service_layer.ports import SurveyStore
from hotich_reporting.service_layer.queries import OutOfScope, allowed_scope
from hotich_runtime.auth import Principal, Role

__all__ = ["import_survey"]


async def import_survey(
    store: SurveyStore,
    rows: Iterable[Mapping[str, Any]],
    *,
    plan: Plan,
    registry: UnitRegistry,
    principal: Principal | None,
    replace: bool = False,
) -> dict[str, Any]:
    """Validate survey rows and store them; return a summary.

    Args:
        store: where the survey lives.
        rows: heading -> value, one mapping per book.
        plan: places each book in a phase.
        registry: the unit tree (units must exist; scopes).
        principal: who imports; None for the operator's CLI (no scope).
        replace: drop the whole previous survey first (the Department only).

    Raises:
        SurveyError: bad rows (all of them listed).
        OutOfScope: a book of a unit outside the caller's scope, or a replace by
            someone who does not see the whole province.
    """
    books = parse_survey(rows, plan=plan, registry=registry)
    if principal is not None:
        if principal.role == Role.CLERK or principal.role == Role.MIGRATION_OPERATOR:
            raise OutOfScope("clerks do not import the survey")
        allowed = allowed_scope(principal)
        if replace and allowed is not None:
            raise OutOfScope("only the Department replaces the whole survey")
        outside = sorted(
            {
                b.book_unit
                for b in books
                if allowed is not None and not registry.is_within(b.book_unit, allowed)
            }
        )
        if outside:
            raise OutOfScope(", ".join(outside))
    stored = await store.import_books(books, replace=replace)
    by_phase: Counter[str] = Counter()
    for book in books:
        by_phase[book.phase or "none"] += book.manual_entries
        by_phase["migration"] += book.migrated_entries
    return {
        "books": stored,
        "entries": sum(b.entries for b in books),
        "expected_by_phase": {k: v for k, v in sorted(by_phase.items()) if v},
        "units": len({b.book_unit for b in books}),
        "replaced": replace,
    }
