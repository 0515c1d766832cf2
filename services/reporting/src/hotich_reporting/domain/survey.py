"""The survey baseline (khảo sát, thống kê sổ hộ tịch) that progress is measured against.

Before converting, every unit counts its register books: for each book its unit, type,
book number, years, number of entries and condition (Section III.1.3 of the plan). A
survey file (CSV or Excel) has one row per book; headings may be the English column
names of ``hotich generate --survey`` or their Vietnamese equivalents.

Each book is placed in a phase the way the plan places its entries: by record type,
registration years and the unit's district group (with the group's cutoff where the
plan applies it). Entries coming through migration (``migrated_entries``) count for
the migration track instead. A ``phase`` column, when given, overrides the placement.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hotich_contracts.plan import Plan, UnitNotInPlanError
from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain.books import book_key, book_unit
from hotich_reporting.domain.metrics import RECORD_TYPE_LABELS_VI

__all__ = [
    "HEADER_ALIASES",
    "SurveyBook",
    "SurveyError",
    "manual_phase",
    "parse_survey",
    "surveyed_cells",
]

HEADER_ALIASES: Final[dict[str, str]] = {
    "book_id": "book_id",
    "mã sổ": "book_id",
    "unit_code": "unit_code",
    "mã đơn vị": "unit_code",
    "unit_name": "unit_name",
    "tên đơn vị": "unit_name",
    "storing_unit_code": "storing_unit_code",
    "mã đơn vị lưu trữ": "storing_unit_code",
    "đơn vị lưu trữ": "storing_unit_code",
    "record_type": "record_type",
    "loại việc": "record_type",
    "loại việc hộ tịch": "record_type",
    "book_number": "book_number",
    "quyển số": "book_number",
    "year_from": "year_from",
    "từ năm": "year_from",
    "year_to": "year_to",
    "đến năm": "year_to",
    "first_entry": "first_entry",
    "số đầu": "first_entry",
    "số đăng ký đầu": "first_entry",
    "entries": "entries",
    "số lượng": "entries",
    "số lượng việc": "entries",
    "migrated_entries": "migrated_entries",
    "số lượng chuyển đổi": "migrated_entries",
    "condition": "condition",
    "tình trạng sổ": "condition",
    "registering_authority_known": "registering_authority_known",
    "rõ cơ quan đăng ký": "registering_authority_known",
    "phase": "phase",
    "giai đoạn": "phase",
}
"""Column headings accepted (compared case-folded, NFC), to field names."""

_TYPE_BY_LABEL: Final = {
    unicodedata.normalize("NFC", label).casefold(): code
    for code, label in RECORD_TYPE_LABELS_VI.items()
    if code != "unknown"
}
_CONDITIONS: Final = {
    "intact": "intact",
    "còn tốt": "intact",
    "tốt": "intact",
    "damaged": "damaged",
    "rách, hỏng": "damaged",
    "rách": "damaged",
    "hư hỏng": "damaged",
}
_TRUE: Final = frozenset({"true", "1", "yes", "có", "x"})
_FALSE: Final = frozenset({"false", "0", "no", "không"})
_PHASES: Final = frozenset({"1", "2", "3", "migration", "none"})


class SurveyError(ValueError):
    """A survey file has bad rows; ``errors`` says which and why (line numbers 1-based)."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} bad survey row(s): {errors[:3]}")


class SurveyBook(BaseModel):
    """One register book as the survey counts it (quyển sổ)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    unit_code: str = Field(pattern=r"^[0-9]{2,5}$", description="Unit whose register it is.")
    unit_name: str = Field(default="", description="Its name, as the survey writes it.")
    storing_unit_code: str = Field(
        default="", description="Unit keeping the book (default: the unit itself)."
    )
    record_type: str = Field(description="Record type code of the book's entries.")
    book_number: str = Field(min_length=1, description="Quyển số as written.")
    year_from: int = Field(ge=1800, le=2100, description="First registration year.")
    year_to: int = Field(ge=1800, le=2100, description="Last registration year.")
    first_entry: int = Field(default=1, ge=0, description="Number of the first entry.")
    entries: int = Field(ge=0, description="Entries in the book (số lượng việc).")
    migrated_entries: int = Field(
        default=0, ge=0, description="Of them, entries that come through migration."
    )
    condition: Literal["intact", "damaged"] = Field(default="intact")
    registering_authority_known: bool = Field(
        default=True, description="False when the book does not tell who registered it."
    )
    phase: str | None = Field(
        default=None, description="1, 2, 3 or none for the manual entries; None = derive."
    )
    book_id: str = Field(default="", description="The survey's own id of the book, if any.")

    @field_validator("record_type", mode="before")
    @classmethod
    def _type(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = unicodedata.normalize("NFC", value.strip()).casefold()
            return _TYPE_BY_LABEL.get(text, text)
        return value

    @field_validator("record_type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in RECORD_TYPE_LABELS_VI or value == "unknown":
            raise ValueError(f"unknown record type {value!r}")
        return value

    @field_validator("condition", mode="before")
    @classmethod
    def _condition(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = unicodedata.normalize("NFC", value.strip()).casefold()
            return _CONDITIONS.get(text, text) if text else "intact"
        return value

    @field_validator("registering_authority_known", mode="before")
    @classmethod
    def _flag(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = unicodedata.normalize("NFC", value.strip()).casefold()
            if not text or text in _TRUE:
                return True
            if text in _FALSE:
                return False
        return value

    @field_validator("phase", mode="before")
    @classmethod
    def _phase(cls, value: Any) -> Any:
        if value is None:
            return None
        text = str(value).strip().casefold()
        if text.endswith(".0"):
            text = text[:-2]
        if not text:
            return None
        if text not in _PHASES:
            raise ValueError("phase must be 1, 2, 3, migration or none")
        return text

    @property
    def book_unit(self) -> str:
        """The unit that enters the book: its registering unit, else the one storing it."""
        if self.registering_authority_known:
            return self.unit_code
        return book_unit(None, self.storing_unit_code or self.unit_code)

    @property
    def key(self) -> str:
        """The book key records of this book carry (see :mod:`~.books`)."""
        return book_key(self.book_unit, self.record_type, self.book_number)

    @property
    def manual_entries(self) -> int:
        """Entries to key by hand."""
        return max(self.entries - self.migrated_entries, 0)

    def entry_range(self) -> range:
        """Entry numbers the book holds."""
        return range(self.first_entry, self.first_entry + self.entries)


def manual_phase(
    plan: Plan, registry: UnitRegistry, unit_code: str, record_type: str, years: range
) -> str:
    """The phase of a book's hand-keyed entries: 1, 2, 3 or ``none`` (out of scope).

    Each year is placed like an entry registered that year; a book spanning phases
    goes to the phase most of its years fall in (the earliest on a tie).
    """
    try:
        group = plan.group(plan.group_of(unit_code, registry))
    except (UnitNotInPlanError, KeyError):
        return "none"
    votes: Counter[str] = Counter()
    for year in years:
        first, last = date(year, 1, 1), date(year, 12, 31)
        found = "none"
        for phase in plan.phases:
            if record_type not in phase.record_types:
                continue
            if any(
                record_type in rule.record_types
                and rule.registration_date.contains(first)
                and rule.registration_date.contains(last)
                for rule in phase.rules
            ):
                cutoff = group.manual_cutoff
                if plan.cutoff_applies(phase.number) and cutoff is not None and last > cutoff:
                    break
                found = str(phase.number)
                break
        votes[found] += 1
    if not votes:
        return "none"
    best = max(votes.values())
    return min(p for p, n in votes.items() if n == best)


def _canonical(header: str) -> str:
    return unicodedata.normalize("NFC", header.strip()).casefold()


def parse_survey(
    rows: Iterable[Mapping[str, Any]], *, plan: Plan, registry: UnitRegistry
) -> list[SurveyBook]:
    """Validate survey rows (heading -> value) into books with their phase placed.

    Raises:
        SurveyError: with every bad row (line 2 is the first data row).
    """
    books: dict[str, SurveyBook] = {}
    errors: list[dict[str, Any]] = []
    for line, row in enumerate(rows, start=2):
        data: dict[str, Any] = {}
        for header, value in row.items():
            if header is None:
                continue
            name = HEADER_ALIASES.get(_canonical(str(header)))
            if name is None or value is None:
                continue
            data[name] = value.strip() if isinstance(value, str) else value
        if not any(str(v) for v in data.values()):
            continue
        for name in ("storing_unit_code", "unit_name", "book_id"):
            if name in data:
                data[name] = str(data[name])
        if "unit_code" in data:
            data["unit_code"] = str(data["unit_code"]).removesuffix(".0")
        for name in ("first_entry", "migrated_entries"):
            if data.get(name) == "":
                del data[name]
        try:
            book = SurveyBook.model_validate(data)
        except ValidationError as exc:
            errors.append(
                {
                    "line": line,
                    "errors": [
                        {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                        for e in exc.errors()
                    ],
                }
            )
            continue
        problem = _problem(book, registry)
        if problem:
            errors.append({"line": line, "errors": [problem]})
            continue
        if book.phase is None:
            years = range(book.year_from, book.year_to + 1)
            book = book.model_copy(
                update={
                    "phase": manual_phase(plan, registry, book.book_unit, book.record_type, years)
                }
            )
        if book.key in books:
            errors.append(
                {
                    "line": line,
                    "errors": [{"field": "book_number", "message": f"book {book.key} twice"}],
                }
            )
            continue
        books[book.key] = book
    if errors:
        raise SurveyError(errors)
    return list(books.values())


def _problem(book: SurveyBook, registry: UnitRegistry) -> dict[str, str] | None:
    if book.unit_code not in registry:
        return {"field": "unit_code", "message": f"unknown unit {book.unit_code}"}
    if book.storing_unit_code and book.storing_unit_code not in registry:
        return {"field": "storing_unit_code", "message": f"unknown unit {book.storing_unit_code}"}
    if book.year_to < book.year_from:
        return {"field": "year_to", "message": "year_to is before year_from"}
    if book.migrated_entries > book.entries:
        return {"field": "migrated_entries", "message": "more than entries"}
    return None


def surveyed_cells(books: Iterable[SurveyBook]) -> dict[tuple[str, str, str], int]:
    """Expected entries per (bucket, entering unit, type).

    Hand-keyed entries count in the book's phase, migrated ones in ``migration``.
    """
    cells: Counter[tuple[str, str, str]] = Counter()
    for book in books:
        unit = book.book_unit
        if book.manual_entries:
            cells[(book.phase or "none", unit, book.record_type)] += book.manual_entries
        if book.migrated_entries:
            cells[("migration", unit, book.record_type)] += book.migrated_entries
    return dict(cells)
