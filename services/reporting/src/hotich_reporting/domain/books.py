"""Register books (quyển sổ) and entry numbers as reports compare them.

A record names its book by the registering authority, its type and the book number as
written; the survey names the same book by the unit whose register it is. Both sides
are reduced to one *book key* here, so the survey's expected entries and the records
keyed from the book meet: ``<unit>|<record_type>|<book number>``, where the unit is the
registering authority or, when that is unknown (principle 2 of the plan), the unit that
stores the book, and every run of digits in the book number is compared by its value
("01/2008" and "1/2008" are the same book).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["book_key", "book_unit", "entry_key", "entry_number_value", "normalize_book_number"]

_DIGITS: Final = re.compile(r"[0-9]+", re.ASCII)
_ENTRY: Final = re.compile(r"^\s*0*([0-9]{1,9})\s*(?:/\s*[0-9]{2,4}\s*)?$", re.ASCII)
ENTRY_KEY_WIDTH: Final = 9
"""Numeric entry numbers are zero-padded to this width so keys sort by number."""


def normalize_book_number(book_number: str) -> str:
    """Case-folded, whitespace-free book number with every digit run by value."""
    folded = "".join(book_number.split()).casefold()
    return _DIGITS.sub(lambda m: str(int(m.group())), folded).replace("|", "%7C")


def book_unit(authority_code: str | None, storing_unit_code: str) -> str:
    """The unit a book belongs to: its registering authority, else the unit storing it."""
    return authority_code or storing_unit_code


def book_key(unit_code: str, record_type: str, book_number: str) -> str:
    """The key both the survey and the records use for one register book."""
    return f"{unit_code}|{record_type}|{normalize_book_number(book_number)}"


def entry_number_value(entry_number: str) -> int | None:
    """The number of an entry as written ("15", "015", "15/2010" -> 15); None if not numeric."""
    match = _ENTRY.match(entry_number)
    return int(match.group(1)) if match else None


def entry_key(entry_number: str) -> str:
    """Sortable key of an entry: the zero-padded number, or the folded text if not numeric."""
    value = entry_number_value(entry_number)
    if value is not None:
        return str(value).zfill(ENTRY_KEY_WIDTH)
    return "~" + "".join(entry_number.split()).casefold().replace("|", "%7C")
