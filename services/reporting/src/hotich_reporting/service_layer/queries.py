"""Report queries: the read side of the projection, the survey and acceptance.

Every query reads the small pre-aggregated counters (cells, books), never the
per-record documents, and rolls them up the unit tree in memory, so its cost does not
grow with the number of records. Every query is scoped: a commune sees itself, a
district its own office and its communes, the Department (and admins) the province.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hotich_contracts.plan import Plan
from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain.acceptance import LOT_STATUS_LABELS_VI, Lot
from hotich_reporting.domain.cost import cost_lines, level_of
from hotich_reporting.domain.deadlines import STATUS_LABELS_VI, deadlines
from hotich_reporting.domain.metrics import (
    HEADINGS_VI,
    MAIN_METRICS,
    PHASE_LABELS_VI,
    REASON_LABELS_VI,
    RECORD_TYPE_LABELS_VI,
    STATUSES,
    CellCounts,
    completion,
    roll_up,
)
from hotich_reporting.domain.survey import SurveyBook
from hotich_reporting.service_layer.ports import AcceptanceStore, ProjectionStore, SurveyStore
from hotich_runtime.auth import Principal, Role

__all__ = ["PHASES", "OutOfScope", "Reports", "allowed_scope"]

PHASES = ("1", "2", "3", "migration", "none", "pending", "all")
"""Phase values queries accept (``all`` sums every bucket)."""


class OutOfScope(Exception):
    """The caller may not see that unit."""


class UnknownPhase(ValueError):
    """Not a phase reports know."""


def allowed_scope(principal: Principal) -> str | None:
    """The widest unit a principal may see; None for the whole province."""
    if principal.role in (Role.DEPARTMENT_OFFICER, Role.ADMIN):
        return None
    return principal.unit_code


def _row(counts: Mapping[str, int], price: int) -> dict[str, Any]:
    row: dict[str, Any] = {m: int(counts.get(m, 0)) for m in MAIN_METRICS}
    row["rejected_by_reason"] = {
        k[2:]: int(v) for k, v in sorted(counts.items()) if k.startswith("r_") and v
    }
    share = completion(counts)
    row["completion"] = round(share, 4) if share is not None else None
    row["cost_vnd"] = int(counts.get("accepted", 0)) * price
    return row


def _book_in_phase(book: SurveyBook | None, phase: str | None) -> bool:
    if book is None:
        return False
    if phase == "migration":
        return book.migrated_entries > 0
    return book.phase == phase and book.manual_entries > 0


def _ranges(numbers: list[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


@dataclass
class Reports:
    """The report queries, over the stores, the unit tree, the plan and a clock."""

    projection: ProjectionStore
    survey: SurveyStore
    acceptance: AcceptanceStore
    registry: UnitRegistry
    plan: Plan
    today: Callable[[], date]
    due_soon_days: int = 14
    _memo: dict[tuple[Any, ...], Any] = field(default_factory=dict, init=False, repr=False)
    _memo_versions: tuple[int, int] = field(default=(-1, -1), init=False, repr=False)

    async def _remember(self, key: tuple[Any, ...], compute: Callable[[], Awaitable[Any]]) -> Any:
        """A result computed from the counters, kept until the projection or survey change."""
        versions = (await self.projection.version(), await self.survey.version())
        if versions != self._memo_versions:
            self._memo = {}
            self._memo_versions = versions
        if key not in self._memo:
            if len(self._memo) > 2000:
                self._memo.clear()
            self._memo[key] = await compute()
        return self._memo[key]

    # -- helpers ------------------------------------------------------------------

    @property
    def price(self) -> int:
        """The plan's unit price per record (VND); 0 without a budget."""
        return self.plan.budget.unit_price_vnd if self.plan.budget is not None else 0

    def scope(self, principal: Principal, unit_code: str | None) -> str | None:
        """The unit a query covers: the one asked for, within what the caller may see.

        Raises:
            OutOfScope: ``unit_code`` is outside the caller's scope.
        """
        allowed = allowed_scope(principal)
        scope = unit_code or allowed
        if (
            allowed is not None
            and scope is not None
            and not self.registry.is_within(scope, allowed)
        ):
            raise OutOfScope(scope)
        return scope

    def unit_info(self, code: str | None) -> dict[str, Any]:
        """Code, name and level of a unit (the province when None)."""
        code = code or self.plan.province_code
        unit = self.registry.get(code, self.plan.issued_on) or self.registry.get(code)
        return {
            "code": code,
            "name": unit.name if unit is not None else code,
            "level": unit.level.value if unit is not None else "unknown",
        }

    def children(self, code: str | None) -> list[str]:
        """Units directly below (as of the plan's date)."""
        return [
            u.code
            for u in self.registry.children(code or self.plan.province_code, self.plan.issued_on)
        ]

    async def cells(self, phase: str) -> list[CellCounts]:
        """Projection and survey counters of a phase (or ``all``).

        Raises:
            UnknownPhase: not one of :data:`PHASES`.
        """
        if phase not in PHASES:
            raise UnknownPhase(phase)
        buckets = None if phase == "all" else {phase}
        found = await self.projection.cells(buckets)
        found += [c for c in await self.survey.cells() if buckets is None or c.phase in buckets]
        return found

    # -- queries ------------------------------------------------------------------

    async def progress(
        self, principal: Principal, phase: str, unit_code: str | None
    ) -> dict[str, Any]:
        """Progress of a unit (rolled up over its subtree) and of each unit directly below.

        Raises:
            OutOfScope: the unit is outside the caller's scope.
            UnknownPhase: not a phase.
        """
        scope = self.scope(principal, unit_code)
        if phase not in PHASES:
            raise UnknownPhase(phase)

        async def rolled() -> tuple[Any, ...]:
            cells = [
                c
                for c in await self.cells(phase)
                if scope is None or self.registry.is_within(c.unit_code, scope)
            ]
            tree = roll_up(cells, self.registry, scope)
            own: dict[str, Counter[str]] = {}
            by_type: dict[str, Counter[str]] = {}
            for cell in cells:
                own.setdefault(cell.unit_code, Counter()).update(cell.counts)
                by_type.setdefault(cell.record_type, Counter()).update(cell.counts)
            return tree, own, by_type

        tree, own, by_type = await self._remember(("progress", phase, scope), rolled)
        top = scope or self.plan.province_code
        lots = await self.acceptance.list(phase) if phase in ("1", "2", "3", "migration") else []
        codes = self.children(top)
        children = []
        if top in own:
            children.append({**self.unit_info(top), "own": True, **_row(own[top], self.price)})
        for code in codes:
            row = {
                **self.unit_info(code),
                "own": False,
                **_row(tree.get(code, Counter()), self.price),
            }
            row["acceptance"] = dict(
                Counter(lot.status for lot in lots if self.registry.is_within(lot.unit_code, code))
            )
            children.append(row)
        for code in sorted(own):
            if code != top and not any(self.registry.is_within(code, c) for c in codes):
                children.append(
                    {
                        **self.unit_info(code),
                        "own": True,
                        **_row(tree.get(code, Counter()), self.price),
                    }
                )
        totals = tree.get(top, Counter())
        return {
            "phase": phase,
            "phase_label": PHASE_LABELS_VI[phase],
            "as_of": self.today().isoformat(),
            "unit": self.unit_info(top),
            "totals": _row(totals, self.price),
            "own": _row(own.get(top, Counter()), self.price),
            "children": children,
            "by_type": {
                t: {"label": RECORD_TYPE_LABELS_VI.get(t, t), **_row(c, self.price)}
                for t, c in sorted(by_type.items())
            },
            "headings": HEADINGS_VI,
            "reason_labels": REASON_LABELS_VI,
            "unit_price_vnd": self.price,
        }

    async def lifecycle(
        self, principal: Principal, phase: str | None, unit_code: str | None
    ) -> dict[str, Any]:
        """Current status counts per unit (rolled up), type and phase (``GET /v1/progress``).

        Raises:
            OutOfScope: the unit is outside the caller's scope.
        """
        scope = self.scope(principal, unit_code)

        async def compute() -> dict[str, Any]:
            return await self._lifecycle(phase, scope)

        result: dict[str, Any] = await self._remember(("lifecycle", phase, scope), compute)
        return result

    async def _lifecycle(self, phase: str | None, scope: str | None) -> dict[str, Any]:
        buckets = None if phase in (None, "all") else {phase}
        cells = [
            c
            for c in await self.projection.cells(buckets)
            if scope is None or self.registry.is_within(c.unit_code, scope)
        ]
        units = roll_up(cells, self.registry, scope)
        by_type: dict[str, Counter[str]] = {}
        by_phase: dict[str, Counter[str]] = {}
        for cell in cells:
            by_type.setdefault(cell.record_type, Counter()).update(cell.counts)
            by_phase.setdefault(cell.phase, Counter()).update(cell.counts)

        def statuses(counter: Counter[str]) -> dict[str, int]:
            row = {s: int(counter.get(f"s_{s}", 0)) for s in STATUSES}
            row["total"] = int(counter.get("entered", 0))
            return row

        return {
            "phase": phase or "all",
            "unit_code": scope,
            "units": {code: statuses(c) for code, c in sorted(units.items())},
            "by_type": {t: statuses(c) for t, c in sorted(by_type.items())},
            "by_phase": {p: statuses(c) for p, c in sorted(by_phase.items())},
        }

    async def books(
        self, principal: Principal, unit_code: str, phase: str | None = None
    ) -> dict[str, Any]:
        """The register books of a unit: expected entries (survey) against entered ones.

        Raises:
            OutOfScope: the unit is outside the caller's scope.
        """
        self.scope(principal, unit_code)

        async def compute() -> dict[str, Any]:
            return await self._books(unit_code, phase)

        result: dict[str, Any] = await self._remember(("books", unit_code, phase), compute)
        return result

    async def _books(self, unit_code: str, phase: str | None) -> dict[str, Any]:
        surveyed = {b.key: b for b in await self.survey.books(unit_code)}
        counted = {b.book_key: b.counts for b in await self.projection.books(unit_code)}
        rows = []
        for key in sorted(set(surveyed) | set(counted)):
            book = surveyed.get(key)
            counts = counted.get(key, {})
            if phase not in (None, "all") and not _book_in_phase(book, phase):
                continue
            _, record_type, number = key.split("|", 2)
            covered = int(counts.get("covered", 0))
            rows.append(
                {
                    "book_key": key,
                    "record_type": record_type,
                    "record_type_label": RECORD_TYPE_LABELS_VI.get(record_type, record_type),
                    "book_number": book.book_number if book is not None else number,
                    "year_from": book.year_from if book is not None else None,
                    "year_to": book.year_to if book is not None else None,
                    "phase": book.phase if book is not None else None,
                    "condition": book.condition if book is not None else None,
                    "surveyed": book is not None,
                    "expected": book.entries if book is not None else None,
                    "migrated_expected": book.migrated_entries if book is not None else None,
                    "entered": int(counts.get("entered", 0)),
                    "accounted": int(counts.get("accounted", 0)),
                    "covered": covered,
                    "missing": max(book.entries - covered, 0) if book is not None else None,
                }
            )
        return {"unit": self.unit_info(unit_code), "phase": phase or "all", "books": rows}

    async def gaps(self, principal: Principal, book_key: str) -> dict[str, Any]:
        """Entry numbers of a book not accounted for yet (the pages left to key).

        Raises:
            OutOfScope: the book's unit is outside the caller's scope.
            KeyError: neither the survey nor any record knows the book.
        """
        unit = book_key.split("|", 1)[0]
        self.scope(principal, unit)
        book = await self.survey.book(book_key)
        keys = await self.projection.entries(book_key)
        if book is None and not keys:
            raise KeyError(book_key)
        numbers = sorted(int(k) for k in keys if not k.startswith("~"))
        other = [k[1:] for k in keys if k.startswith("~")]
        result: dict[str, Any] = {
            "book_key": book_key,
            "unit": self.unit_info(unit),
            "surveyed": book is not None,
            "accounted": len(keys),
            "non_numeric_entries": other,
        }
        if book is not None:
            expected = book.entry_range()
            have = set(numbers)
            missing = [n for n in expected if n not in have]
            result.update(
                {
                    "book_number": book.book_number,
                    "record_type": book.record_type,
                    "first_entry": expected.start,
                    "last_entry": expected.stop - 1,
                    "expected": len(expected),
                    "missing_count": len(missing),
                    "missing": _ranges(missing),
                    "outside_survey": [n for n in numbers if n not in expected],
                }
            )
        else:
            result["entries"] = _ranges(numbers)
        return result

    async def cost(self, principal: Principal, phase: str, unit_code: str | None) -> dict[str, Any]:
        """Cost of accepted records per budget level, and payment due for passed lots.

        Raises:
            OutOfScope: the unit is outside the caller's scope.
        """
        scope = self.scope(principal, unit_code)

        async def levels() -> Counter[str]:
            found: Counter[str] = Counter()
            for cell in await self.cells(phase):
                if scope is None or self.registry.is_within(cell.unit_code, scope):
                    level = level_of(cell.unit_code, self.registry)
                    found[level] += int(cell.counts.get("accepted", 0))
            return found

        by_level: Counter[str] = await self._remember(("cost", phase, scope), levels)
        lines = cost_lines(self.plan, by_level)
        lots = [
            lot
            for lot in await self.acceptance.list(None if phase == "all" else phase)
            if scope is None or self.registry.is_within(lot.unit_code, scope)
        ]
        payments = [
            {
                "lot_id": lot.id,
                "phase": lot.phase,
                "unit": self.unit_info(lot.unit_code),
                "status": lot.status,
                "records_in_passed_lot": lot.passed_size,
                "payment_due_vnd": lot.passed_size * self.price,
            }
            for lot in lots
        ]
        budget = self.plan.budget
        return {
            "phase": phase,
            "unit": self.unit_info(scope),
            "unit_price_vnd": self.price,
            "levels": [
                {
                    "level": line.level,
                    "label": line.label_vi,
                    "budgeted_count_as_written": line.budgeted_count if scope is None else None,
                    "accepted": line.accepted,
                    "cost_vnd": line.cost_vnd,
                }
                for line in lines
            ],
            "total_accepted": sum(line.accepted for line in lines),
            "total_cost_vnd": sum(line.cost_vnd for line in lines),
            "payments": payments,
            "payment_due_vnd": sum(p["payment_due_vnd"] for p in payments),
            "note": "Kinh phí = số bản ghi được chấp nhận x đơn giá của kế hoạch; không lấy "
            "tổng số ghi trong kế hoạch (các số tổng của kế hoạch không khớp nhau)."
            if budget is not None
            else "",
        }

    def deadlines(self) -> dict[str, Any]:
        """Every report deadline with its status today (the injected clock)."""
        today = self.today()
        return {
            "today": today.isoformat(),
            "due_soon_days": self.due_soon_days,
            "deadlines": [
                {
                    "phase": d.phase,
                    "phase_label": PHASE_LABELS_VI[str(d.phase)],
                    "kind": d.kind,
                    "label": d.label_vi,
                    "due": d.due.isoformat(),
                    "days_left": d.days_left,
                    "status": d.status,
                    "status_label": STATUS_LABELS_VI[d.status],
                }
                for d in deadlines(self.plan, today, due_soon_days=self.due_soon_days)
            ],
        }

    async def lots(self, principal: Principal, phase: str | None) -> list[dict[str, Any]]:
        """Acceptance lots the caller may see, in summary."""
        allowed = allowed_scope(principal)
        return [
            lot_summary(lot, self.price)
            for lot in await self.acceptance.list(phase)
            if allowed is None or self.registry.is_within(lot.unit_code, allowed)
        ]


def lot_summary(lot: Lot, price: int, *, with_sample: bool = False) -> dict[str, Any]:
    """A lot as the API shows it."""
    current = lot.current
    rounds = []
    for r in lot.rounds:
        entry: dict[str, Any] = {
            "number": r.number,
            "seed": r.seed,
            "lot_size": r.plan.lot_size,
            "aql": r.plan.aql,
            "code_letter": r.plan.code_letter,
            "plan_letter": r.plan.plan_letter,
            "sample_size": r.plan.sample_size,
            "acceptance_number": r.plan.acceptance_number,
            "rejection_number": r.plan.rejection_number,
            "full_inspection": r.plan.full_inspection,
            "inspected": r.inspected,
            "defective": r.defective,
            "status": r.status,
            "status_label": LOT_STATUS_LABELS_VI[r.status],
            "drawn_at": r.drawn_at,
            "drawn_by": r.drawn_by,
            "decided_at": r.decided_at,
        }
        if with_sample:
            entry["sample"] = [
                {"record_id": rid, "verdict": r.verdicts.get(rid), "note": r.notes.get(rid, "")}
                for rid in r.sample
            ]
        rounds.append(entry)
    return {
        "lot_id": lot.id,
        "phase": lot.phase,
        "unit_code": lot.unit_code,
        "aql": lot.aql,
        "seed": lot.seed,
        "status": lot.status,
        "status_label": LOT_STATUS_LABELS_VI[lot.status],
        "round": current.number if current is not None else 0,
        "records_in_passed_lot": lot.passed_size,
        "payment_due_vnd": lot.passed_size * price,
        "rounds": rounds,
    }
