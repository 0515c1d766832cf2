"""The survey baseline (khảo sát, thống kê sổ hộ tịch) matching the generated registers.

Before converting, units count their registers (Section III.1.3 of the plan); progress
is measured against that count. :func:`survey_rows` lists every book the generator
fills, with the number of distinct entries in it, so that reports can be checked
against the generated stream: for each ``book_id``, the items whose
``truth.book_id`` is that id, less the re-keyed exact duplicates, are exactly
``entries``. The rows come from the same seeded book plan as the items, without
generating the entries.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from hotich_contracts.plan import Plan
from hotich_contracts.units import UnitRegistry
from hotich_local.synth.generator import Book, iter_books
from hotich_local.synth.model import GenerationConfig

__all__ = ["SURVEY_COLUMNS", "SurveyRow", "survey_rows"]

SURVEY_COLUMNS: Final = (
    "book_id",
    "unit_code",
    "unit_name",
    "level",
    "district_code",
    "storing_unit_code",
    "record_type",
    "book_number",
    "year_from",
    "year_to",
    "first_entry",
    "entries",
    "migrated_entries",
    "condition",
    "registering_authority_known",
)
"""Columns of the survey CSV, in order."""


@dataclass(frozen=True, slots=True)
class SurveyRow:
    """One register book as the survey counts it.

    Attributes:
        book_id: the id items carry in ``truth.book_id``.
        unit_code: the unit whose register it is.
        unit_name: its name in the register's year.
        level: ``province``, ``district`` or ``commune``.
        district_code: its district-level unit (empty for the province).
        storing_unit_code: the unit keeping the book at the survey (the plan's date).
        record_type: the type of events in the book.
        book_number: quyển số as written.
        year_from: first registration year in the book.
        year_to: last registration year in the book (books close yearly: the same).
        first_entry: number of the book's first entry.
        entries: distinct entries in the book.
        migrated_entries: entries of it that come through migration, not by hand.
        condition: ``intact`` or ``damaged``.
        registering_authority_known: False when the book does not tell who registered.
    """

    book_id: str
    unit_code: str
    unit_name: str
    level: str
    district_code: str
    storing_unit_code: str
    record_type: str
    book_number: str
    year_from: int
    year_to: int
    first_entry: int
    entries: int
    migrated_entries: int
    condition: str
    registering_authority_known: bool

    @classmethod
    def from_book(cls, book: Book) -> SurveyRow:
        """The survey row of a book."""
        return cls(
            book_id=book.book_id,
            unit_code=book.unit_code,
            unit_name=book.unit_name,
            level=book.level,
            district_code=book.district_code or "",
            storing_unit_code=book.storing_unit_code,
            record_type=book.record_type,
            book_number=book.book_number,
            year_from=book.year,
            year_to=book.year,
            first_entry=book.first_entry,
            entries=book.entries,
            migrated_entries=book.migrated_entries,
            condition=book.condition,
            registering_authority_known=book.authority_known,
        )

    def as_csv_row(self) -> list[str]:
        """The row's values as text, in :data:`SURVEY_COLUMNS` order."""
        return [
            self.book_id,
            self.unit_code,
            self.unit_name,
            self.level,
            self.district_code,
            self.storing_unit_code,
            self.record_type,
            self.book_number,
            str(self.year_from),
            str(self.year_to),
            str(self.first_entry),
            str(self.entries),
            str(self.migrated_entries),
            self.condition,
            "true" if self.registering_authority_known else "false",
        ]


def survey_rows(
    config: GenerationConfig | None = None,
    *,
    plan: Plan | None = None,
    registry: UnitRegistry | None = None,
) -> Iterator[SurveyRow]:
    """Yield the survey rows of the registers ``generate(config)`` fills, in stream order.

    Args:
        config: the generation config (the same as for :func:`generate`).
        plan: the plan (default: ``config.plan`` or the packaged Tây Ninh plan).
        registry: the unit registry (default: the packaged one).
    """
    for book in iter_books(config, plan=plan, registry=registry):
        yield SurveyRow.from_book(book)
