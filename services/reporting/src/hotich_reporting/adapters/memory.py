"""In-memory fakes of reporting's stores, for fast unit tests (same behaviour as MongoDB)."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterable, Collection, Iterable, Mapping, Sequence
from dataclasses import replace

from hotich_reporting.domain.acceptance import Lot
from hotich_reporting.domain.lifecycle import (
    EventView,
    RecordState,
    apply_slot_ops,
    plan_changes,
    totals,
)
from hotich_reporting.domain.metrics import CellCounts
from hotich_reporting.domain.survey import SurveyBook, surveyed_cells
from hotich_reporting.service_layer.ports import BookCounts, ConflictError, ProjectionDump

__all__ = ["MemoryAcceptance", "MemoryProjection", "MemoryPublished", "MemorySurvey"]


class MemoryProjection:
    """The projection in dicts."""

    def __init__(self) -> None:
        self._reset()
        self.applied_batches = 0
        self.changes = 0

    def _reset(self) -> None:
        self.states: dict[str, RecordState] = {}
        self.cells_: dict[tuple[str, str, str], Counter[str]] = {}
        self.books_: dict[str, Counter[str]] = {}
        self.slots_: dict[str, frozenset[str]] = {}
        self.members_: set[tuple[str, str, str]] = set()

    async def apply(self, views: Sequence[EventView]) -> int:
        """Fold events in and move the counters."""
        self.applied_batches += 1
        ids = {v.record_id for v in views}
        changes = plan_changes({i: self.states[i] for i in ids if i in self.states}, views)
        touched, covered = apply_slot_ops(self.slots_, changes.slots)
        changes.books.update(covered)
        for record_id, (_, new) in changes.states.items():
            self.states[record_id] = new
        for (bucket, unit, rtype, metric), delta in changes.cells.items():
            self.cells_.setdefault((bucket, unit, rtype), Counter())[metric] += delta
        for (book, metric), delta in changes.books.items():
            self.books_.setdefault(book, Counter())[metric] += delta
        for sid, records in touched.items():
            if records:
                self.slots_[sid] = records
            else:
                self.slots_.pop(sid, None)
        for phase, unit, record_id, add in changes.members:
            (self.members_.add if add else self.members_.discard)((phase, unit, record_id))
        if changes.states:
            self.changes += 1
        return len(changes.states)

    async def version(self) -> int:
        """How many batches changed something."""
        return self.changes

    async def load_groups(self, groups: AsyncIterable[Sequence[RecordState]]) -> int:
        """Bulk-load groups of states into an empty projection (no record in two groups).

        Raises:
            ValueError: a record came in two groups.
        """
        materialized: list[RecordState] = []
        seen: set[str] = set()
        async for group in groups:
            ids = {s.record_id for s in group}
            if ids & seen:
                raise ValueError(f"records in two groups: {sorted(ids & seen)[:5]}")
            seen |= ids
            materialized.extend(group)
        return await self.load(materialized)

    async def load(self, states: Iterable[RecordState]) -> int:
        """Bulk-load states into an empty projection."""
        materialized = list(states)
        result = totals(materialized)
        self.changes += 1
        self.states = {s.record_id: s for s in materialized}
        self.cells_ = {k: Counter(v) for k, v in result.cells.items()}
        self.books_ = {k: Counter(v) for k, v in result.books.items()}
        self.slots_ = {k: frozenset(v) for k, v in result.slots.items()}
        self.members_ = {(p, u, r) for (p, u), ids in result.members.items() for r in ids}
        return len(materialized)

    async def clear(self) -> None:
        """Forget everything."""
        self._reset()
        self.changes += 1

    async def cells(self, buckets: Collection[str] | None = None) -> list[CellCounts]:
        """Counters per (bucket, unit, type)."""
        return [
            CellCounts(b, u, t, {k: v for k, v in c.items() if v})
            for (b, u, t), c in self.cells_.items()
            if (buckets is None or b in buckets) and any(c.values())
        ]

    async def books(self, unit_code: str) -> list[BookCounts]:
        """Counters of a unit's books."""
        prefix = f"{unit_code}|"
        return [
            BookCounts(k, {m: n for m, n in c.items() if n})
            for k, c in sorted(self.books_.items())
            if k.startswith(prefix) and any(c.values())
        ]

    async def entries(self, book_key: str) -> list[str]:
        """Accounted entry keys of a book."""
        prefix = f"{book_key}|"
        return sorted(k[len(prefix) :] for k in self.slots_ if k.startswith(prefix))

    async def members(self, phase: str, unit_code: str) -> list[str]:
        """Record ids of a lot."""
        return sorted(r for p, u, r in self.members_ if p == phase and u == unit_code)

    async def record(self, record_id: str) -> RecordState | None:
        """One record's state."""
        return self.states.get(record_id)

    async def dump(self) -> ProjectionDump:
        """Everything, zero counters left out."""
        dump = ProjectionDump(records=dict(self.states))
        for (b, u, t), c in self.cells_.items():
            if counts := {k: v for k, v in c.items() if v}:
                dump.cells[f"{b}|{u}|{t}"] = counts
        for book, c in self.books_.items():
            if counts := {k: v for k, v in c.items() if v}:
                dump.books[book] = counts
        dump.slots = {k: v for k, v in self.slots_.items() if v}
        dump.members = {f"{p}|{u}|{r}" for p, u, r in self.members_}
        return dump


class MemorySurvey:
    """The survey baseline in a dict."""

    def __init__(self) -> None:
        self.books_: dict[str, SurveyBook] = {}
        self.imports = 0

    async def version(self) -> int:
        """How many imports happened."""
        return self.imports

    async def import_books(self, books: Sequence[SurveyBook], *, replace: bool) -> int:
        """Store books."""
        self.imports += 1
        if replace:
            self.books_ = {}
        for book in books:
            self.books_[book.key] = book
        return len(books)

    async def books(self, unit_code: str | None = None) -> list[SurveyBook]:
        """Books of a unit, or all."""
        return [
            b
            for k, b in sorted(self.books_.items())
            if unit_code is None or k.startswith(f"{unit_code}|")
        ]

    async def book(self, book_key: str) -> SurveyBook | None:
        """One book."""
        return self.books_.get(book_key)

    async def cells(self) -> list[CellCounts]:
        """``surveyed`` per cell."""
        return [
            CellCounts(b, u, t, {"surveyed": n})
            for (b, u, t), n in surveyed_cells(self.books_.values()).items()
        ]


class MemoryAcceptance:
    """Lots in a dict, with the same revision check as MongoDB."""

    def __init__(self) -> None:
        self.lots: dict[str, Lot] = {}

    async def get(self, lot_id: str) -> Lot | None:
        """One lot."""
        return self.lots.get(lot_id)

    async def put(self, lot: Lot, expected_revision: int | None) -> None:
        """Store a lot if nobody changed it meanwhile."""
        stored = self.lots.get(lot.id)
        if (stored.revision if stored is not None else None) != expected_revision:
            raise ConflictError(lot.id)
        self.lots[lot.id] = replace(lot, revision=(expected_revision or 0) + 1)

    async def list(self, phase: str | None = None) -> list[Lot]:
        """Every lot, optionally of one phase."""
        return [lot for _, lot in sorted(self.lots.items()) if phase is None or lot.phase == phase]


class MemoryPublished:
    """Fingerprints of published snapshots and the publisher lease, in memory."""

    def __init__(self) -> None:
        self.published: dict[str, str] = {}
        self.owner: str | None = None

    async def fingerprints(self) -> dict[str, str]:
        """Key -> last fingerprint."""
        return dict(self.published)

    async def remember(self, fingerprints: Mapping[str, str]) -> None:
        """Record fingerprints."""
        self.published.update(fingerprints)

    async def acquire_lease(self, owner: str, seconds: float) -> bool:
        """The first owner keeps the lease."""
        if self.owner in (None, owner):
            self.owner = owner
            return True
        return False
