"""Match profiles: what duplicate detection keeps of a record, and its blocking keys.

A profile holds the comparison forms of the persons a record is about (the subjects:
the child, the deceased, both spouses, ...), the related persons that tell two
subjects of the same name apart (parents, adoptive parents), the date of the event and
its place. Blocking keys are short strings two profiles of one event very likely share,
even with the noise old registers carry (diacritics, a keying slip, a middle name left
out, a partial date); only profiles sharing a key are compared.

Types whose events happen once (birth, death, marriage, recordings of a marriage or a
divorce abroad, adoption) get a profile. Repeatable acts (marital status certificates,
changes and corrections, re-determinations, guardianship) and out-of-scope types do
not: a person may legitimately have several of them, so they are only checked for
exact duplicates.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any, Final

from hotich_contracts.dates import DatePrecision, PartialDate
from hotich_contracts.records import (
    AdoptionRecord,
    BirthRecord,
    DeathRecord,
    DivorceRecordingRecord,
    MarriageRecord,
    MarriageRecordingRecord,
    Person,
    RecordBase,
    RecordType,
)
from hotich_contracts.text import fold_diacritics
from hotich_contracts.units import default_registry
from hotich_dedup.domain.names import NameForm, name_form

__all__ = ["MATCHED_TYPES", "MatchProfile", "PersonKey", "build_profile"]

MATCHED_TYPES: Final = frozenset(
    {
        RecordType.BIRTH,
        RecordType.DEATH,
        RecordType.MARRIAGE,
        RecordType.MARRIAGE_RECORDING,
        RecordType.DIVORCE_RECORDING,
        RecordType.ADOPTION,
    }
)
"""Record types checked for probable duplicates (events that happen once)."""


@dataclass(frozen=True, slots=True)
class PersonKey:
    """One person of a profile: role, name (normal form), birth date, sex, identity."""

    role: str
    """Field name in the record's details: child, mother, deceased, husband, ..."""
    name: str
    """The name's normal form (NFC, case-folded, tone-canonical); may be empty."""
    birth: PartialDate | None = None
    sex: str | None = None
    identity: str | None = None
    """``<document type>:<number>``; the type is ``id`` when not given."""
    residence: str | None = None
    """Place of residence, case- and diacritic-folded (nơi cư trú)."""

    @property
    def form(self) -> NameForm | None:
        """The name's comparison forms (cached per name)."""
        return name_form(self.name) if self.name else None

    def to_doc(self) -> dict[str, Any]:
        """A JSON-able dict (what the store keeps)."""
        return {
            "role": self.role,
            "name": self.name,
            "birth": None if self.birth is None else str(self.birth),
            "sex": self.sex,
            "identity": self.identity,
            "residence": self.residence,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> PersonKey:
        """Inverse of :meth:`to_doc`."""
        birth = doc.get("birth")
        return cls(
            role=doc["role"],
            name=doc.get("name") or "",
            birth=PartialDate.parse(birth) if birth else None,
            sex=doc.get("sex"),
            identity=doc.get("identity"),
            residence=doc.get("residence"),
        )


@dataclass(frozen=True, slots=True)
class MatchProfile:
    """What duplicate detection compares of one record version."""

    record_id: str
    version: int
    record_type: str
    unit_code: str
    subjects: tuple[PersonKey, ...]
    related: tuple[PersonKey, ...]
    event_date: PartialDate | None
    place_code: str | None
    blocking_keys: tuple[str, ...]
    fingerprint: str
    """Hash of the compared content: a new version with the same one did not change."""
    keying: str | None = None
    """On another keying of this record's register entry (:meth:`as_keying_of`): the id
    of the record rejected as its exact duplicate, whose content this is. None on a
    record's own profile."""
    keying_unit: str | None = None
    """On another keying: the unit that entered it, whose district its keys are scoped to
    (:func:`rekeyed`); ``unit_code`` is its record's."""

    def as_keying_of(self, owner: MatchProfile) -> MatchProfile:
        """This profile as another keying of ``owner``'s register entry.

        A register entry keyed twice is one record (the second keying is rejected as an
        exact duplicate), but its two keyings may carry different slips: a later record
        may match the second and not the first. Kept beside the owner's profile, this
        one is found and compared as the owner (its id, version, unit and fingerprint),
        with its own names, dates and keys.
        """
        return replace(
            self,
            record_id=owner.record_id,
            version=owner.version,
            unit_code=owner.unit_code,
            fingerprint=owner.fingerprint,
            keying=self.record_id,
            keying_unit=self.unit_code,
        )

    def to_doc(self) -> dict[str, Any]:
        """A JSON-able dict (what the store keeps)."""
        keying = {} if self.keying is None else {"keying": self.keying}
        if self.keying_unit is not None:
            keying["keying_unit"] = self.keying_unit
        return keying | {
            "record_id": self.record_id,
            "version": self.version,
            "record_type": self.record_type,
            "unit_code": self.unit_code,
            "subjects": [p.to_doc() for p in self.subjects],
            "related": [p.to_doc() for p in self.related],
            "event_date": None if self.event_date is None else str(self.event_date),
            "place_code": self.place_code,
            "blocking_keys": list(self.blocking_keys),
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> MatchProfile:
        """Inverse of :meth:`to_doc`."""
        event_date = doc.get("event_date")
        return cls(
            record_id=doc["record_id"],
            version=int(doc["version"]),
            record_type=doc["record_type"],
            unit_code=doc["unit_code"],
            subjects=tuple(PersonKey.from_doc(p) for p in doc["subjects"]),
            related=tuple(PersonKey.from_doc(p) for p in doc["related"]),
            event_date=PartialDate.parse(event_date) if event_date else None,
            place_code=doc.get("place_code"),
            blocking_keys=tuple(doc["blocking_keys"]),
            fingerprint=doc["fingerprint"],
            keying=doc.get("keying"),
            keying_unit=doc.get("keying_unit"),
        )


def _person(role: str, person: Person | None) -> PersonKey | None:
    if person is None:
        return None
    identity = None
    if person.identity_number:
        kind = person.identity_document_type.value if person.identity_document_type else "id"
        if kind in ("cmnd", "cccd"):
            kind = "id"  # a CMND and a CCCD number are both "the number on the ID card"
        identity = f"{kind}:{''.join(person.identity_number.split()).upper()}"
    form = name_form(person.full_name) if person.full_name else None
    return PersonKey(
        role=role,
        name=form.text if form else "",
        birth=person.date_of_birth,
        sex=person.sex.value if person.sex else None,
        identity=identity,
        residence=(
            " ".join(fold_diacritics(person.place_of_residence).casefold().split())
            if person.place_of_residence
            else None
        ),
    )


def _people(pairs: Iterable[tuple[str, Person | None]]) -> tuple[PersonKey, ...]:
    return tuple(p for role, person in pairs if (p := _person(role, person)) is not None)


def _year(day: PartialDate | None) -> str:
    return "?" if day is None else f"{day.year:04d}"


def _month(day: PartialDate) -> str:
    return str(day) if day.precision == DatePrecision.YEAR else str(day)[:7]


def _initial(text: str) -> str:
    return text[:1] or "?"


DISTRICTS_LAST_DAY: Final = date(2025, 6, 30)
"""The last day of the three-level structure: the districts blocking areas are taken from."""


@lru_cache(maxsize=4096)
def blocking_area(unit_code: str) -> str:
    """The area the broad blocking keys of a unit's records are scoped to.

    The district the unit belonged to on :data:`DISTRICTS_LAST_DAY` (so that records of
    one commune before and after the 2025 reform share it), else ``*`` (the province:
    a province-level unit, one created after the reform, or an unknown code).
    """
    district = default_registry().district_of(unit_code, DISTRICTS_LAST_DAY)
    return district.code if district is not None else "*"


def _companion(
    record_type: str,
    person: PersonKey,
    subjects: tuple[PersonKey, ...],
    mother: NameForm | None,
    event_date: PartialDate | None,
) -> str:
    """What a subject's name key also carries (see :func:`_blocking_keys`)."""
    if record_type == RecordType.BIRTH:
        return f"|{mother.given if mother is not None else '?'}"
    if len(subjects) == 2:
        other = subjects[1] if subjects[0] is person else subjects[0]
        return f"|{_year(other.birth)}"
    if record_type == RecordType.DEATH:
        return f"|{_year(event_date)}"
    return ""


def _blocking_keys(
    record_type: str,
    subjects: tuple[PersonKey, ...],
    related: tuple[PersonKey, ...],
    event_date: PartialDate | None,
    area: str,
) -> tuple[str, ...]:
    keys: list[str] = []
    forms = {p.role: p.form for p in (*subjects, *related)}
    mother = forms.get("mother")
    for person in subjects:
        form = forms[person.role]
        if form is not None:
            # Folded family and given names and the birth year: survives diacritics,
            # case, spacing, i/y and a middle name left out. With the mother's given
            # name (a birth), the other spouse's birth year (a couple) or the year of
            # death: province-wide, a name and a year alone make blocks that grow with
            # every record held (a common name and a year: hundreds of births in a
            # province's backlog; the deceased's birth year is often unknown).
            keys.append(
                f"{record_type}|n|{person.role}|{form.family}|{form.given}|{_year(person.birth)}"
                f"{_companion(record_type, person, subjects, mother, event_date)}"
            )
            if person.birth is not None and person.birth.precision == DatePrecision.DAY:
                # Full birth date and the initials: survives a slip inside any word but
                # the first letters.
                keys.append(
                    f"{record_type}|d|{person.role}|{person.birth}|{form.family[0]}{_initial(form.given)}"
                )
        if person.identity is not None:
            keys.append(f"{record_type}|id|{person.identity}")
    child_year = _year(subjects[0].birth) if subjects else "?"
    child = forms.get("child")
    parent_tail = {
        # The mother's key with the child's family initial: survives any change to the
        # child's given and middle names. The father's key with the mother's given
        # initial: survives any change to the child's name, a family name taken from
        # the other parent included.
        "mother": _initial(child.family) if child is not None else "?",
        "father": _initial(mother.given) if mother is not None else "?",
    }
    for person in related:
        form = forms[person.role]
        if form is not None and record_type == RecordType.BIRTH:
            # A parent's name and the child's birth year, within the district: province-
            # wide, or without the tail, these blocks grow with every record held (a
            # common mother's name and a year: hundreds of births in a province).
            keys.append(
                f"birth|p|{person.role}|{form.family}|{form.given}|{child_year}|{area}"
                f"|{parent_tail.get(person.role, '?')}"
            )
    father = forms.get("father")
    if record_type == RecordType.BIRTH and mother is not None and father is not None:
        # Both parents' names and the child's birth year, province-wide: what the
        # parent keys above found in another district (a child's name mistyped, a
        # partial date), in blocks of a couple's births of one year.
        keys.append(
            f"birth|pp|{mother.family}|{mother.given}|{father.family}|{father.given}|{child_year}"
        )
    elif record_type == RecordType.BIRTH and mother is not None and child is not None:
        # No father on the record: the mother's name, the child's birth year and
        # initials, province-wide. What the key above finds in another district when
        # the child's name has a slip and its date is partial. (For every birth, this
        # block grows to ~0.9 profiles met per record at 700k; a common mother's name.)
        keys.append(
            f"birth|m|{mother.family}|{mother.given}|{child_year}"
            f"|{_initial(child.family)}{_initial(child.given)}"
        )
    if event_date is not None and subjects:
        form = forms[subjects[0].role]
        initials = _initial(form.family) + _initial(form.given) if form else "??"
        # The month with two initials: as broad, so within the district as well.
        keys.append(f"{record_type}|e|{_month(event_date)}|{initials}|{area}")
        birth = subjects[0].birth
        if record_type == RecordType.DEATH and form is not None and birth is not None:
            # A death registered again in another district (where the person lived, or
            # by the family elsewhere): the month with the initials and the birth year,
            # province-wide. Survives a slip in any name word after its first letter
            # and a date of death known to the month or the year only, which the name
            # key and the day key do not (a province's deaths of one month sharing two
            # initials and a birth year: under one on average).
            keys.append(f"death|y|{initials}|{_year(birth)}|{_month(event_date)}")
        if event_date.precision == DatePrecision.DAY and form is not None:
            # The day with the family initial: survives any change to the given name.
            # A birth's within the district (a province's births of one day are ~25,
            # province-wide this block was a quarter of the candidates a birth met).
            scope = f"|{area}" if record_type == RecordType.BIRTH else ""
            keys.append(f"{record_type}|e|{event_date}|{_initial(form.family)}{scope}")
    couple = [form for p in subjects if (form := forms[p.role]) is not None]
    if len(subjects) == 2 and len(couple) == 2:
        first, second = couple
        # Both given names of a couple: survives a slip in either family name.
        keys.append(
            f"{record_type}|c|{first.given}|{second.given}|{first.family[0]}{second.family[0]}"
        )
    return tuple(dict.fromkeys(keys))


BLOCKING_KEYS_VERSION: Final = 3
"""The scheme of :func:`_blocking_keys`. Raise it with every change to the keys: dedup
re-keys the profiles it holds when it starts (see ``MongoDedupStore.rekey``), since a
stored profile is found only by the keys it was stored with. 1: until 2026-12-06; 2: the
parent keys with a tail, a birth's day key within the district, the year of death; 3: a
death's month, initials and birth year, and, without a father, a birth's mother with the
child's year and initials, both province-wide."""


def rekeyed(profile: MatchProfile) -> MatchProfile:
    """The profile with the blocking keys of the current scheme (from its own fields)."""
    return replace(
        profile,
        blocking_keys=_blocking_keys(
            profile.record_type,
            profile.subjects,
            profile.related,
            profile.event_date,
            blocking_area(profile.keying_unit or profile.unit_code),
        ),
    )


def _fingerprint(
    record_type: str,
    subjects: tuple[PersonKey, ...],
    related: tuple[PersonKey, ...],
    event_date: PartialDate | None,
    place_code: str | None,
) -> str:
    content = json.dumps(
        [
            record_type,
            [p.to_doc() for p in subjects],
            [p.to_doc() for p in related],
            None if event_date is None else str(event_date),
            place_code,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(content.encode()).hexdigest()[:32]


def _parts(
    record: RecordBase,
) -> tuple[tuple[PersonKey, ...], tuple[PersonKey, ...], PartialDate | None, str | None] | None:
    if isinstance(record, BirthRecord):
        d = record.details
        return (
            _people([("child", d.child)]),
            _people([("mother", d.mother), ("father", d.father)]),
            d.child.date_of_birth,
            d.place_of_birth_unit_code,
        )
    if isinstance(record, DeathRecord):
        dd = record.details
        return _people([("deceased", dd.deceased)]), (), dd.date_of_death, None
    if isinstance(record, MarriageRecord):
        m = record.details
        return _people([("husband", m.husband), ("wife", m.wife)]), (), None, None
    if isinstance(record, MarriageRecordingRecord):
        r = record.details
        act = r.foreign_registration.issued_on if r.foreign_registration else None
        return _people([("husband", r.husband), ("wife", r.wife)]), (), act, None
    if isinstance(record, DivorceRecordingRecord):
        v = record.details
        judgment = v.foreign_judgment.issued_on if v.foreign_judgment else None
        return (
            _people([("husband", v.husband), ("wife", v.wife)]),
            (),
            v.effective_date or judgment,
            None,
        )
    if isinstance(record, AdoptionRecord):
        a = record.details
        return (
            _people([("child", a.child)]),
            _people(
                [
                    ("adoptive_father", a.adoptive_father),
                    ("adoptive_mother", a.adoptive_mother),
                    ("birth_father", a.birth_father),
                    ("birth_mother", a.birth_mother),
                ]
            ),
            None,
            None,
        )
    return None


def build_profile(
    record: RecordBase, *, record_id: str, version: int, unit_code: str
) -> MatchProfile | None:
    """Return the match profile of a record version, or None for an unmatched type."""
    parts = _parts(record)
    if parts is None:
        return None
    subjects, related, event_date, place_code = parts
    record_type = record.record_type.value
    return MatchProfile(
        record_id=record_id,
        version=version,
        record_type=record_type,
        unit_code=unit_code,
        subjects=subjects,
        related=related,
        event_date=event_date,
        place_code=place_code,
        blocking_keys=_blocking_keys(
            record_type, subjects, related, event_date, blocking_area(unit_code)
        ),
        fingerprint=_fingerprint(record_type, subjects, related, event_date, place_code),
    )
