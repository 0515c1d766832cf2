"""Builders of dedup inputs: real contract models, person details varied per test."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from hotich_contracts.events import (
    RecordDeduplicated,
    RecordStatus,
    RecordValidated,
    RecordValidatedPayload,
)
from hotich_contracts.examples import example_details, example_record
from hotich_contracts.records import RECORD_ADAPTER, Record, RecordType
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_dedup.service_layer.ports import DedupStore
from hotich_runtime.ports import FakePublisher


def birth(
    *,
    child: str = "Trần Minh Khôi",
    born: str = "2010-02-27",
    mother: str | None = "Nguyễn Thị Thúy",
    father: str | None = "Trần Văn Hùng",
    **overrides: Any,
) -> Record:
    """A birth record of Phường 3 (25459), book 01/2010, entry 15 unless overridden."""
    details = copy.deepcopy(example_details(RecordType.BIRTH))
    details["child"]["full_name"] = child
    details["child"]["date_of_birth"] = born
    for role, name in (("mother", mother), ("father", father)):
        if name is None:
            details.pop(role)
        else:
            details[role]["full_name"] = name
    return RECORD_ADAPTER.validate_python(
        example_record(RecordType.BIRTH, details=details, **overrides)
    )


def record_of(record_type: RecordType, **overrides: Any) -> Record:
    """The example record of a type."""
    return RECORD_ADAPTER.validate_python(example_record(record_type, **overrides))


def validated(
    rec: Record,
    *,
    record_id: str | None = None,
    version: int = 1,
    unit_code: str = "25459",
    status: RecordStatus = RecordStatus.VALID,
) -> RecordValidated:
    """A validation outcome for ``rec`` with a fresh event id."""
    return RecordValidated(
        actor="service:validation",
        correlation_id=f"c-{uuid.uuid4().hex[:8]}",
        record_id=record_id or str(uuid.uuid4()),
        record_version=version,
        unit_code=unit_code,
        payload=RecordValidatedPayload(
            status=RecordStatus.VALID if status == RecordStatus.VALID else RecordStatus.REJECTED,
            phase=1 if status == RecordStatus.VALID else None,
            record=rec,
        ),
    )


def birth_at(unit_code: str, **overrides: Any) -> RecordValidated:
    """A validated birth registered, kept and entered by ``unit_code`` (another book)."""
    overrides.setdefault("book_number", "03/2011")
    overrides.setdefault("entry_number", "7")
    return validated(
        birth(registering_authority_code=unit_code, storing_unit_code=unit_code, **overrides),
        unit_code=unit_code,
    )


def death_at(unit_code: str, name: str, **overrides: Any) -> RecordValidated:
    """A death registered, kept and entered by ``unit_code``; born 1977, died January 1978."""
    details = example_details(RecordType.DEATH)
    details["deceased"].update(full_name=name, date_of_birth="1977")
    details["date_of_death"] = "1978-01"
    record = RECORD_ADAPTER.validate_python(
        example_record(
            RecordType.DEATH,
            registering_authority_code=unit_code,
            storing_unit_code=unit_code,
            registration_date="1980-04-29",
            details=details,
            **overrides,
        )
    )
    return validated(record, unit_code=unit_code)


def mistyped_death_in_another_district() -> tuple[RecordValidated, RecordValidated]:
    """The 300,000-record run's missed pair: a death registered again in another district,
    a slip in the given name, a month for a date (found by keys version 3 only)."""
    return (
        death_at("25456", "Nguyễn Ngọc Nhân", book_number="01/1978"),
        death_at("25582", "Nguyễn Ngọc Nhhân", book_number="1/1980", entry_number="3"),
    )


def fatherless_child_in_another_district() -> tuple[RecordValidated, RecordValidated]:
    """A pair of the generated backlog: a birth with no father on the record, a year for a
    date and a slip in the child's given name, registered again in another district."""
    common: dict[str, Any] = {"born": "1977", "mother": "Lê Thị Tiên", "father": None}
    return (
        birth_at("25486", child="Lê Văn Phúc", **common),
        birth_at("25618", child="Lê Văn  Phhúc", book_number="01/1999", **common),
    )


def copies_too_far_apart() -> tuple[RecordValidated, RecordValidated, RecordValidated]:
    """Two noisy copies of one birth, each one noise step from it, two from each other.

    Returns ``(first copy, second copy, the entry)``, in three books of Phường 1
    (25462). The copies' family names are mistyped in two ways ("Trầnn", "Tần"):
    each still matches the entry, but not the other (their names fall below the
    name gate), which is how the benchmark's order-dependent misses looked.
    """
    first = birth_at("25462", child="Trầnn Minh Khôi", book_number="04/2011")
    second = birth_at("25462", child="Tần Minh Khôi", book_number="05/2011")
    entry = birth_at("25462")
    return first, second, entry


def other_child(**overrides: Any) -> Record:
    """A birth of another child and parents than :func:`birth`'s, in the same book."""
    return birth(
        child="Lê Thị Hoa",
        mother="Phạm Thị Lan",
        father="Lê Văn Tám",
        born="2009-11-03",
        **overrides,
    )


def keyed_twice_with_another_slip() -> tuple[RecordValidated, RecordValidated, RecordValidated]:
    """The 300,000-record run's order-dependent re-keying, in a death.

    Returns ``(original, copy, copy keyed again)``: a death; the same death registered
    again in another district with a slip in the given name (a probable duplicate of
    it); and that copy's register entry keyed a second time, with one more slip in the
    family name. The second keying is too far from the original to match it (11.5
    points), the first matches it (14.5).
    """
    original, copy = mistyped_death_in_another_district()
    again = death_at("25582", "Nguynễ Ngọc Nhhân", book_number="1/1980", entry_number="3")
    return original, copy, again


def keyed_again_before_its_copy() -> tuple[RecordValidated, RecordValidated, RecordValidated]:
    """The whole backlog's two order-dependent re-keyings (truth seqs 143,445/143,446/
    143,654 and 493,395/493,399/493,505), in a death.

    Returns ``(entry, the entry keyed again, a copy)``: a death; the same register entry
    keyed a second time with a slip in the family name (its exact duplicate); and the
    death registered again in another district with a slip in the given name (a
    probable duplicate of the entry: 14.5 points). The second keying and the copy are
    two slips apart (11.5 points): when the second keying arrives first, it is the
    record, and only the entry's own keying tells the copy is one.
    """
    entry, copy = mistyped_death_in_another_district()
    again = death_at("25456", "Nguynễ Ngọc Nhân", book_number="01/1978")
    return entry, again, copy


def corrected(event: RecordValidated, **changes: Any) -> RecordValidated:
    """The record's version 2 (a new validated event), with ``changes`` to its record."""
    record = event.payload.record.model_copy(update=changes)
    payload = event.payload.model_copy(update={"record": record})
    return event.model_copy(
        update={"record_version": 2, "event_id": uuid.uuid4(), "payload": payload}
    )


async def one_by_one(store: DedupStore, *events: RecordValidated) -> list[RecordDeduplicated]:
    """Dedup's outcomes of ``events``, each in a batch of its own, in order."""
    out: list[RecordDeduplicated] = []
    for event in events:
        out += await deduplicate([event], store=store, publisher=FakePublisher())
    return out


def statuses(outcomes: list[RecordDeduplicated]) -> list[RecordStatus]:
    """The outcomes' statuses, in order."""
    return [o.payload.status for o in outcomes]


def pair(a: RecordValidated, b: RecordValidated) -> tuple[str, str]:
    """Two records' ids as a ``linked`` pair names them (smaller id first)."""
    low, high = sorted((a.record_id, b.record_id))
    return (low, high)
