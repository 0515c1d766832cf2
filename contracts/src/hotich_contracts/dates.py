"""Partial dates: dates of persons as old registers give them.

Birth and death dates in old registers (sổ hộ tịch) are often incomplete: a year only
("1952"), or a month and a year. The law itself asks only the *year* of birth of a
child's parents. :class:`PartialDate` keeps exactly what was written, with its
precision, and can say which real dates it may stand for.

Text form (the public contract): ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Any, Final, final

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

__all__ = ["PARTIAL_DATE_PATTERN", "DatePrecision", "PartialDate"]

PARTIAL_DATE_PATTERN: Final = r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$"
"""JSON Schema pattern of the text form (shape only; calendar validity is checked in code)."""

_TEXT_RE: Final = re.compile(r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?", re.ASCII)

_JSON_SCHEMA_DESCRIPTION: Final = (
    "A possibly partial date (ngày tháng không đầy đủ): YYYY, YYYY-MM or YYYY-MM-DD. "
    "The precision given is kept."
)


class DatePrecision(StrEnum):
    """How much of a date is known."""

    YEAR = "year"
    MONTH = "month"
    DAY = "day"


_PRECISION_RANK: Final = {DatePrecision.YEAR: 0, DatePrecision.MONTH: 1, DatePrecision.DAY: 2}


@final
class PartialDate:
    """A calendar date known to year, month or day precision; immutable.

    Equality is exact (``1975`` != ``1975-04``); ordering is total and chronological,
    a coarser date sorting before the finer dates it contains
    (``1975`` < ``1975-01`` < ``1975-01-01``). Use :meth:`may_equal` to ask whether
    two dates could be the same day.

    Usable as a pydantic field: validated from the text form or a :class:`datetime.date`,
    serialized to the text form in JSON mode.

    Args:
        year: Year, 1 to 9999.
        month: Month 1 to 12, or None when only the year is known.
        day: Day of the month, or None; requires ``month``.

    Raises:
        ValueError: If the parts do not form a real date (month 13, 30 February, a day
            without a month).
    """

    __slots__ = ("_day", "_month", "_text", "_year")

    _year: int
    _month: int | None
    _day: int | None
    _text: str

    def __init__(self, year: int, month: int | None = None, day: int | None = None) -> None:
        _check(year, month, day)
        # Written once: every dump of a record (event, store, view, hash) asks for it.
        text = f"{year:04d}"
        if month is not None:
            text += f"-{month:02d}"
        if day is not None:
            text += f"-{day:02d}"
        _set(self, year, month, day, text)

    # -- construction -------------------------------------------------------------------

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Parse the text form ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``.

        Surrounding whitespace is ignored.

        Raises:
            ValueError: If the text is not of that form or not a real date.
        """
        match = _TEXT_RE.fullmatch(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not of the form YYYY, YYYY-MM or YYYY-MM-DD")
        return cls._from_match(match)

    @classmethod
    def _from_match(cls, match: re.Match[str]) -> PartialDate:
        """Build from a match of the text form, whose text is already the canonical one.

        Raises:
            ValueError: If the parts do not form a real date.
        """
        year_text, month_text, day_text = match.groups()
        year = int(year_text)
        month = int(month_text) if month_text is not None else None
        day = int(day_text) if day_text is not None else None
        _check(year, month, day)
        made = cls.__new__(cls)
        _set(made, year, month, day, match.group(0))
        return made

    @classmethod
    def from_date(cls, value: date) -> PartialDate:
        """Return the day-precision partial date of ``value``."""
        return cls(value.year, value.month, value.day)

    # -- accessors ----------------------------------------------------------------------

    @property
    def year(self) -> int:
        """The year."""
        return self._year

    @property
    def month(self) -> int | None:
        """The month (1-12), or None at year precision."""
        return self._month

    @property
    def day(self) -> int | None:
        """The day of the month, or None above day precision."""
        return self._day

    @property
    def precision(self) -> DatePrecision:
        """How much of the date is known."""
        if self._month is None:
            return DatePrecision.YEAR
        if self._day is None:
            return DatePrecision.MONTH
        return DatePrecision.DAY

    def earliest(self) -> date:
        """Return the first real day this date may stand for."""
        return date(self._year, self._month or 1, self._day or 1)

    def latest(self) -> date:
        """Return the last real day this date may stand for."""
        month = self._month or 12
        day = self._day or _days_in(self._year, month)
        return date(self._year, month, day)

    def contains(self, value: date) -> bool:
        """Return whether the real day ``value`` is one this date may stand for."""
        return self.earliest() <= value <= self.latest()

    def to_date(self) -> date:
        """Return the exact date.

        Raises:
            ValueError: If the precision is coarser than a day.
        """
        if self._day is None:
            raise ValueError(f"{self} is not a full date")
        return self.earliest()

    def may_equal(self, other: PartialDate | date) -> bool:
        """Return whether both could be the same day, compared at the coarser precision.

        ``1975`` may equal ``1975-04-30``; ``1975-04`` may not equal ``1975-05-01``.
        """
        if not isinstance(other, PartialDate):
            other = PartialDate.from_date(other)
        if self._year != other._year:
            return False
        if self._month is None or other._month is None:
            return True
        if self._month != other._month:
            return False
        if self._day is None or other._day is None:
            return True
        return self._day == other._day

    # -- value semantics ----------------------------------------------------------------

    def _key(self) -> tuple[int, int, int]:
        return (self._year, self._month or 0, self._day or 0)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __reduce__(self) -> tuple[type[PartialDate], tuple[int, int | None, int | None]]:
        return (PartialDate, (self._year, self._month, self._day))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __lt__(self, other: PartialDate) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() < other._key()

    def __le__(self, other: PartialDate) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() <= other._key()

    def __gt__(self, other: PartialDate) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() > other._key()

    def __ge__(self, other: PartialDate) -> bool:
        if not isinstance(other, PartialDate):
            return NotImplemented
        return self._key() >= other._key()

    def __str__(self) -> str:
        return self._text

    def __repr__(self) -> str:
        return f"PartialDate({str(self)!r})"

    # -- pydantic integration -----------------------------------------------------------

    @classmethod
    def _validate(cls, value: Any) -> PartialDate:
        if isinstance(value, PartialDate):
            return value
        if isinstance(value, datetime):
            raise PydanticCustomError(
                "partial_date_type",
                "Input should be a date (YYYY, YYYY-MM or YYYY-MM-DD), not a date and time",
            )
        if isinstance(value, date):
            return cls.from_date(value)
        if not isinstance(value, str):
            raise PydanticCustomError(
                "partial_date_type",
                "Input should be a string of the form YYYY, YYYY-MM or YYYY-MM-DD",
            )
        match = _TEXT_RE.fullmatch(value.strip())
        if match is None:
            raise PydanticCustomError(
                "partial_date_format",
                "Input should be of the form YYYY, YYYY-MM or YYYY-MM-DD",
            )
        try:
            return cls._from_match(match)
        except ValueError as exc:
            raise PydanticCustomError(
                "partial_date_invalid",
                "Input is not a real date: {reason}",
                {"reason": str(exc)},
            ) from exc

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source_type: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        """Validate from text or a date; serialize to text in JSON mode."""
        return core_schema.no_info_plain_validator_function(
            cls._validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                str, return_schema=core_schema.str_schema(), when_used="json"
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Describe the text form."""
        return {
            "type": "string",
            "pattern": PARTIAL_DATE_PATTERN,
            "description": _JSON_SCHEMA_DESCRIPTION,
            "examples": ["1952", "1975-04", "2010-03-15"],
        }


_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _days_in(year: int, month: int) -> int:
    """Days in ``month`` of ``year`` (proleptic Gregorian, as :mod:`calendar`)."""
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        return 29
    return _DAYS_IN_MONTH[month]


def _check(year: int, month: int | None, day: int | None) -> None:
    """Raise ValueError unless the parts form a real (partial) date."""
    if not 1 <= year <= 9999:
        raise ValueError(f"year {year} is out of range 1..9999")
    if month is None:
        if day is not None:
            raise ValueError("a day needs a month")
    elif not 1 <= month <= 12:
        raise ValueError(f"month {month} is out of range 1..12")
    elif day is not None and not 1 <= day <= _days_in(year, month):
        raise ValueError(f"day {day} does not exist in {year:04d}-{month:02d}")


def _set(date_: PartialDate, year: int, month: int | None, day: int | None, text: str) -> None:
    """Fill a new (immutable) date's slots."""
    setter = object.__setattr__
    setter(date_, "_year", year)
    setter(date_, "_month", month)
    setter(date_, "_day", day)
    setter(date_, "_text", text)
