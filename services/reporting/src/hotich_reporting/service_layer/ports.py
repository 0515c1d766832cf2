"""Ports of the reporting service: the stores behind the use cases, as Protocols.

Each has a MongoDB adapter (``adapters/mongo_*.py``) and an in-memory fake
(``adapters/memory.py``); the same behaviour tests run against both.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from hotich_reporting.domain.acceptance import Lot
from hotich_reporting.domain.lifecycle import EventView, RecordState
from hotich_reporting.domain.metrics import CellCounts
from hotich_reporting.domain.survey import SurveyBook

__all__ = [
    "AcceptanceStore",
    "BookCounts",
    "ConflictError",
    "ProjectionDump",
    "ProjectionStore",
    "PublishedStore",
    "SurveyStore",
]


class ConflictError(Exception):
    """Someone else changed the document first (optimistic concurrency): read and retry."""


@dataclass(frozen=True, slots=True)
class BookCounts:
    """Projection counters of one register book (entered, accounted, covered)."""

    book_key: str
    counts: Mapping[str, int]


@dataclass
class ProjectionDump:
    """The whole projection in comparable form (zero counters left out)."""

    records: dict[str, RecordState] = field(default_factory=dict)
    cells: dict[str, dict[str, int]] = field(default_factory=dict)
    books: dict[str, dict[str, int]] = field(default_factory=dict)
    slots: dict[str, frozenset[str]] = field(default_factory=dict)
    members: set[str] = field(default_factory=set)

    def differences(self, other: ProjectionDump, limit: int = 20) -> list[str]:
        """Human-readable differences with ``other`` (empty = identical)."""
        found: list[str] = []
        for name in ("records", "cells", "books", "slots"):
            mine: Mapping[str, Any] = getattr(self, name)
            theirs: Mapping[str, Any] = getattr(other, name)
            for key in sorted(set(mine) | set(theirs)):
                if mine.get(key) != theirs.get(key):
                    found.append(f"{name}[{key}]: {mine.get(key)!r} != {theirs.get(key)!r}")
                    if len(found) >= limit:
                        return found
        for member in sorted(self.members ^ other.members)[: max(limit - len(found), 0)]:
            found.append(
                f"members: {member} only in {'first' if member in self.members else 'second'}"
            )
        return found


class ProjectionStore(Protocol):
    """Reporting's projection: per-record states and the counters derived from them."""

    async def apply(self, views: Sequence[EventView]) -> int:
        """Fold events in, atomically with the counters; return the records changed."""

    async def version(self) -> int:
        """A number that changes whenever the projection does (for caching reads)."""

    async def cells(self, buckets: Collection[str] | None = None) -> list[CellCounts]:
        """Counters per (bucket, unit, type), optionally only some buckets."""

    async def books(self, unit_code: str) -> list[BookCounts]:
        """Counters of the register books of one unit."""

    async def entries(self, book_key: str) -> list[str]:
        """Entry keys of a book accounted for (sorted)."""

    async def members(self, phase: str, unit_code: str) -> list[str]:
        """Record ids of the acceptance lot of a unit and phase (sorted)."""

    async def record(self, record_id: str) -> RecordState | None:
        """The state of one record."""

    async def load(self, states: Iterable[RecordState]) -> int:
        """Write states and their counters into an *empty* projection (rebuild)."""

    async def load_groups(self, groups: AsyncIterable[Sequence[RecordState]]) -> int:
        """:meth:`load` of groups of states arriving one after another (no record in two).

        Raises:
            ValueError: a record came in two groups.
        """

    async def dump(self) -> ProjectionDump:
        """Everything, for comparing two projections."""

    async def clear(self) -> None:
        """Drop the projection (before a rebuild in place)."""


class SurveyStore(Protocol):
    """The survey baseline (khảo sát): register books and their expected entries."""

    async def import_books(self, books: Sequence[SurveyBook], *, replace: bool) -> int:
        """Store books (replacing all, or those with the same keys); return the count."""

    async def version(self) -> int:
        """A number that changes with every import (for caching reads)."""

    async def books(self, unit_code: str | None = None) -> list[SurveyBook]:
        """Books of a unit (by book key), or all."""

    async def book(self, book_key: str) -> SurveyBook | None:
        """One book."""

    async def cells(self) -> list[CellCounts]:
        """``surveyed`` counters per (bucket, unit, type)."""


class AcceptanceStore(Protocol):
    """Acceptance lots (nghiệm thu) with their sampling rounds."""

    async def get(self, lot_id: str) -> Lot | None:
        """One lot."""

    async def put(self, lot: Lot, expected_revision: int | None) -> None:
        """Store a lot if its stored revision is ``expected_revision`` (None = new).

        Raises:
            ConflictError: it changed meanwhile (or exists already).
        """

    async def list(self, phase: str | None = None) -> list[Lot]:
        """Every lot, optionally of one phase."""


class PublishedStore(Protocol):
    """What the progress publisher last published per key, and its lease."""

    async def fingerprints(self) -> dict[str, str]:
        """Key -> fingerprint of the last snapshot published under it."""

    async def remember(self, fingerprints: Mapping[str, str]) -> None:
        """Record fingerprints of snapshots just published."""

    async def acquire_lease(self, owner: str, seconds: float) -> bool:
        """Take or renew the publisher's lease; False if another owner holds it."""
