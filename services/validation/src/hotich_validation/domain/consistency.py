"""Consistency checks of one record: dates, ages, identity numbers, unit codes.

Pure functions: the record, the entry day, the unit registry and the thresholds
(:class:`ConsistencyRules`) come in as values. Partial dates (``1975``, ``1975-04``) are
compared at their precision: a check fails only when *every* day the date may stand
for fails it (:meth:`PartialDate.earliest` / :meth:`PartialDate.latest`).

What is checked (every failure is reported, none stops the others):

* the registration date is not after the day of entry (``inconsistent_dates``);
* nobody named in the record was born after the registration date, and no earlier act
  the record refers to (the death, a death notice, a foreign registration or judgment,
  a decision, the original registration) is dated after it (``inconsistent_dates``);
* the deceased did not die before being born (``inconsistent_dates``);
* ages: nobody is older than :attr:`ConsistencyRules.max_age_years` at registration
  (error), or, where the record is about an earlier event, at that event
  (:data:`AGE_AT_EVENT`: the deceased at death, the parents at the child's birth), so a
  death registered again decades later is not refused for the deceased's "age" today;
  spouses below :attr:`ConsistencyRules.impossible_marriage_age` at the marriage (error) or below the legal age of the era (warning) (``implausible_age``);
* identity numbers: a CCCD has 12 digits; a 12-digit number's province prefix is a real
  province code, its century/sex digit agrees with the person's sex and century of
  birth, its year digits with the birth year (``invalid_identity_number``; warnings
  for 12-digit numbers not declared CCCD, whose structure is not verified);
* unit codes other than the registering, storing and entering units (those are checked
  by :mod:`~hotich_validation.domain.entering_unit`): the place of birth and the unit of
  an original registration exist and existed at the date concerned (warnings:
  they may lie outside the province's unit list).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import types
import typing
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from typing import Annotated, Any, Final

from pydantic import BaseModel

from hotich_contracts.dates import DatePrecision, PartialDate
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.records import (
    IdentityDocumentType,
    Person,
    RecordBase,
    RecordType,
    Sex,
)
from hotich_contracts.units import UnitRegistry
from hotich_validation.domain.mandatory import value_at
from hotich_validation.domain.phases import RuleReason

__all__ = [
    "AGE_AT_EVENT",
    "CCCD_PROVINCE_CODES",
    "DEFAULT_RULES",
    "EARLIER_ACT_DATES",
    "MARRIAGE_AGE_ERAS",
    "UNIT_CODE_FIELDS",
    "ConsistencyRules",
    "MarriageAgeEra",
    "check_consistency",
    "check_identity_number",
    "check_registration_day",
]

# -- thresholds --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MarriageAgeEra:
    """Minimum marriage ages (completed years) for marriages from ``since`` on."""

    since: date | None
    """First marriage date the minimums apply to; None = since always."""
    men: int
    women: int
    source: str
    """The law, and how it is read."""


MARRIAGE_AGE_ERAS: Final = (
    MarriageAgeEra(
        since=None,
        men=18,
        women=15,
        source="Republic of Vietnam civil code of 1972 (registers of Tây Ninh before 1975 and "
        "until the 1959 law reached the South); not verified",
    ),
    MarriageAgeEra(
        since=date(1977, 3, 25),
        men=19,
        women=17,
        source="Luật HNGĐ 1959 (extended to the South by NQ 76/CP of 25/3/1977, date not "
        "verified), 1986 and 2000: 'nam từ 20 tuổi trở lên, nữ từ 18 tuổi trở lên', read "
        "as 'in the 20th/18th year' (NQ 02/2000/NQ-HĐTP), i.e. 19/17 completed years",
    ),
    MarriageAgeEra(
        since=date(2015, 1, 1),
        men=20,
        women=18,
        source="Luật HNGĐ 2014 Art. 8.1a: 'nam từ đủ 20 tuổi, nữ từ đủ 18 tuổi'",
    ),
)
"""Legal minimum marriage ages by era. Below them: a warning, not an error."""

CCCD_PROVINCE_CODES: Final[dict[str, str]] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "Thành phố Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}
"""First three digits of a CCCD / personal identification number: "0" + the GSO code of
the province of birth registration (the 63 provinces of QĐ 124/2004/QĐ-TTg). Provinces
merged in 2025 are believed to keep one of these codes (not verified)."""


def _default_eras() -> tuple[MarriageAgeEra, ...]:
    return MARRIAGE_AGE_ERAS


def _default_provinces() -> frozenset[str]:
    return frozenset(CCCD_PROVINCE_CODES)


@dataclass(frozen=True)
class ConsistencyRules:
    """Thresholds of the consistency checks (defaults documented in the README)."""

    marriage_age_eras: tuple[MarriageAgeEra, ...] = field(default_factory=_default_eras)
    """Legal minimum marriage ages by era, ordered by ``since``; below them: a warning."""
    impossible_marriage_age: int = 13
    """A spouse younger than this (completed years) at the marriage: an error."""
    max_age_years: int = 125
    """Anyone older than this at registration: an error (a date of birth mistyped)."""
    cccd_province_codes: frozenset[str] = field(default_factory=_default_provinces)
    """Valid first three digits of a 12-digit identity number."""

    def legal_marriage_ages(self, on: date) -> MarriageAgeEra:
        """The minimum ages that applied to a marriage on ``on``."""
        current = self.marriage_age_eras[0]
        for era in self.marriage_age_eras:
            if era.since is None or era.since <= on:
                current = era
        return current

    def fingerprint(self) -> str:
        """SHA-256 (hex) of the thresholds: equal rules, equal fingerprints."""
        data = dataclasses.asdict(self)
        data["cccd_province_codes"] = sorted(self.cccd_province_codes)
        text = json.dumps(data, sort_keys=True, default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


DEFAULT_RULES: Final = ConsistencyRules()
"""The thresholds used unless others are given."""

# -- record layout ---------------------------------------------------------------------

EARLIER_ACT_DATES: Final[dict[str, tuple[tuple[str, str, str], ...]]] = {
    RecordType.DEATH.value: (
        ("details.date_of_death", "ngày chết", "the date of death"),
        ("details.death_notice.issued_on", "ngày cấp giấy báo tử", "the date of the death notice"),
    ),
    RecordType.MARRIAGE_RECORDING.value: (
        (
            "details.foreign_registration.issued_on",
            "ngày đăng ký kết hôn ở nước ngoài",
            "the date of the marriage registration abroad",
        ),
    ),
    RecordType.DIVORCE_RECORDING.value: (
        (
            "details.foreign_judgment.issued_on",
            "ngày của bản án, quyết định ly hôn",
            "the date of the divorce judgment or decision",
        ),
        (
            "details.marriage_registration.registration_date",
            "ngày đăng ký kết hôn",
            "the date of the marriage registration",
        ),
    ),
    RecordType.CHANGE_CORRECTION.value: (
        (
            "details.original_registration.registration_date",
            "ngày đăng ký của việc hộ tịch được thay đổi",
            "the date of the original registration",
        ),
    ),
    RecordType.ETHNICITY_REDETERMINATION.value: (
        (
            "details.original_registration.registration_date",
            "ngày đăng ký của việc hộ tịch trước đó",
            "the date of the original registration",
        ),
        ("details.decision.issued_on", "ngày của quyết định", "the date of the decision"),
    ),
    RecordType.SEX_REDETERMINATION.value: (
        (
            "details.original_registration.registration_date",
            "ngày đăng ký của việc hộ tịch trước đó",
            "the date of the original registration",
        ),
        (
            "details.decision.issued_on",
            "ngày của bản án, quyết định",
            "the date of the judgment or decision",
        ),
    ),
    RecordType.ADOPTION.value: (
        ("details.decision.issued_on", "ngày của quyết định", "the date of the decision"),
    ),
    RecordType.PARENTAGE_RECOGNITION.value: (
        ("details.decision.issued_on", "ngày của quyết định", "the date of the decision"),
    ),
}
"""Dates of the event or of earlier acts a record refers to, by record type: none may be
after the registration date. (Persons' dates of birth are checked for every type.)"""

AGE_AT_EVENT: Final[dict[str, dict[str, tuple[str, str, str]]]] = {
    RecordType.DEATH.value: {
        "details.deceased": ("details.date_of_death", "khi chết", "at death"),
    },
    RecordType.BIRTH.value: {
        "details.mother": ("details.child.date_of_birth", "khi sinh con", "at the child's birth"),
        "details.father": ("details.child.date_of_birth", "khi sinh con", "at the child's birth"),
    },
}
"""Per record type: the persons whose age is checked at an earlier event rather than at
registration (person path -> path of the event's date, Vietnamese and English "when").
A late or repeated registration (đăng ký lại, đăng ký khai tử quá hạn) may come decades
after the event; the persons it is about were not alive, or not that old, then."""

_EARLIER_UNIT: Final = ("cơ quan đã đăng ký trước đó", "unit of the earlier registration")

UNIT_CODE_FIELDS: Final[dict[str, tuple[tuple[str, str, str, str], ...]]] = {
    RecordType.BIRTH.value: (
        (
            "details.place_of_birth_unit_code",
            "details.child.date_of_birth",
            "nơi sinh",
            "place of birth",
        ),
    ),
    **{
        record_type.value: (
            (
                "details.original_registration.registering_authority_code",
                "details.original_registration.registration_date",
                *_EARLIER_UNIT,
            ),
        )
        for record_type in (
            RecordType.CHANGE_CORRECTION,
            RecordType.ETHNICITY_REDETERMINATION,
            RecordType.SEX_REDETERMINATION,
        )
    },
    RecordType.DIVORCE_RECORDING.value: (
        (
            "details.marriage_registration.registering_authority_code",
            "details.marriage_registration.registration_date",
            *_EARLIER_UNIT,
        ),
    ),
}
"""Unit codes checked as warnings, by record type: (code field, date field it must have
been valid at, what it is in Vietnamese and English). The registering authority, the
storing unit and the clerk's unit are checked by the entering-unit rule instead."""

_ROLES: Final[dict[str, tuple[str, str]]] = {
    "child": ("người con", "the child"),
    "mother": ("người mẹ", "the mother"),
    "father": ("người cha", "the father"),
    "deceased": ("người chết", "the deceased"),
    "husband": ("người chồng", "the husband"),
    "wife": ("người vợ", "the wife"),
    "subject": ("người được đăng ký", "the person concerned"),
    "intended_spouse": ("người dự định kết hôn", "the intended spouse"),
    "adoptive_father": ("cha nuôi", "the adoptive father"),
    "adoptive_mother": ("mẹ nuôi", "the adoptive mother"),
    "birth_father": ("cha đẻ", "the birth father"),
    "birth_mother": ("mẹ đẻ", "the birth mother"),
    "ward": ("người được giám hộ", "the ward"),
    "guardian": ("người giám hộ", "the guardian"),
    "parent": ("người cha hoặc mẹ", "the parent"),
    "requester": ("người yêu cầu", "the requester"),
}

_SPOUSE_SEX: Final = {"husband": Sex.MALE, "wife": Sex.FEMALE}
_MARRIAGE_TYPES: Final = frozenset({RecordType.MARRIAGE.value, RecordType.MARRIAGE_RECORDING.value})


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _person_fields(model: type[BaseModel], prefix: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
    for name, info in model.model_fields.items():
        kind = _unwrap(info.annotation)
        if not isinstance(kind, type) or not issubclass(kind, BaseModel):
            continue
        if issubclass(kind, Person):
            yield (*prefix, name)
        elif len(prefix) < 2:
            yield from _person_fields(kind, (*prefix, name))


@dataclass(frozen=True, slots=True)
class _Layout:
    persons: tuple[tuple[str, tuple[str, ...]], ...]
    """Dotted path and segments of every person field of a record model."""
    earlier_acts: tuple[tuple[str, tuple[str, ...], str, str], ...]
    age_at: dict[str, tuple[tuple[str, ...], str, str]]
    """Person path -> segments of the event date its age is checked at, and the "when"."""
    unit_codes: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, str], ...]


@cache
def _layout(model: type[RecordBase], record_type: str) -> _Layout:
    """Where a record model keeps its persons and dated acts (computed once per model)."""
    persons = tuple((".".join(p), p) for p in _person_fields(model, ()))
    acts = tuple(
        (path, tuple(path.split(".")), vi, en)
        for path, vi, en in EARLIER_ACT_DATES.get(record_type, ())
    )
    units = tuple(
        (path, tuple(path.split(".")), tuple(date_path.split(".")), vi, en)
        for path, date_path, vi, en in UNIT_CODE_FIELDS.get(record_type, ())
    )
    age_at = {
        person: (tuple(date_path.split(".")), vi, en)
        for person, (date_path, vi, en) in AGE_AT_EVENT.get(record_type, {}).items()
    }
    return _Layout(persons=persons, earlier_acts=acts, age_at=age_at, unit_codes=units)


# -- helpers ---------------------------------------------------------------------------


def _vn(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _show(value: PartialDate) -> str:
    """A partial date as Vietnamese registers write it: 1985, 03/1985, 15/03/1985."""
    if value.precision is DatePrecision.YEAR:
        return f"{value.year:04d}"
    if value.precision is DatePrecision.MONTH:
        return f"{value.month:02d}/{value.year:04d}"
    return _vn(value.earliest())


def _as_partial(value: Any) -> PartialDate | None:
    if isinstance(value, PartialDate):
        return value
    if isinstance(value, date):
        return PartialDate.from_date(value)
    return None


def _full_years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _role(path: str) -> tuple[str, str]:
    return _ROLES.get(path.rsplit(".", 1)[-1], (path, path))


def _dates(code: str, field_path: str, vi: str, en: str) -> RuleReason:
    return RuleReason(code=code, detail_vi=vi, detail_en=en, field=field_path)


# -- checks ----------------------------------------------------------------------------


def check_registration_day(registration_date: date, entered_on: date) -> list[RuleReason]:
    """The registration date may not be after the day of entry (a date in the future)."""
    if registration_date <= entered_on:
        return []
    return [
        _dates(
            ReasonCode.INCONSISTENT_DATES,
            "registration_date",
            f"Ngày đăng ký {_vn(registration_date)} sau ngày nhập {_vn(entered_on)} (ngày "
            "trong tương lai): kiểm tra lại ngày đăng ký.",
            f"Registration date {_vn(registration_date)} is after the day of entry "
            f"{_vn(entered_on)} (in the future): check it.",
        )
    ]


def check_consistency(
    record: RecordBase,
    *,
    entered_on: date,
    registry: UnitRegistry,
    rules: ConsistencyRules = DEFAULT_RULES,
) -> list[RuleReason]:
    """Every consistency reason of a record (errors and warnings), in a stable order.

    Args:
        record: the record as entered.
        entered_on: the day of entry (Vietnam time), for "not in the future".
        registry: the administrative units, with their history.
        rules: the thresholds.
    """
    record_type = record.record_type.value
    registered = record.registration_date
    layout = _layout(type(record), record_type)
    reasons = check_registration_day(registered, entered_on)

    for path, segments, label_vi, label_en in layout.earlier_acts:
        when = _as_partial(value_at(record, segments))
        if when is not None and when.earliest() > registered:
            reasons.append(
                _dates(
                    ReasonCode.INCONSISTENT_DATES,
                    path,
                    f"{label_vi.capitalize()} ({_show(when)}) sau ngày đăng ký {_vn(registered)}.",
                    f"{label_en.capitalize()} ({_show(when)}) is after the registration date "
                    f"{_vn(registered)}.",
                )
            )

    sexes_allowed = _sexes_of_subject(record) if record_type == "sex_redetermination" else None
    for path, segments in layout.persons:
        person = value_at(record, segments)
        if not isinstance(person, Person):
            continue
        event = layout.age_at.get(path)
        at = _as_partial(value_at(record, event[0])) if event is not None else None
        age_event = (at.earliest(), event[1], event[2]) if at is not None and event else None
        reasons.extend(_check_person(person, path, registered, rules, age_event))
        if person.identity_number is not None:
            allowed = sexes_allowed if (sexes_allowed and path == "details.subject") else None
            reasons.extend(check_identity_number(person, path, rules, sexes=allowed))

    if record_type == RecordType.DEATH.value:
        reasons.extend(_death_after_birth(record))
    if record_type in _MARRIAGE_TYPES:
        reasons.extend(_marriage_ages(record, rules))
    reasons.extend(_unit_codes(record, layout, registry))
    return reasons


def _check_person(
    person: Person,
    path: str,
    registered: date,
    rules: ConsistencyRules,
    event: tuple[date, str, str] | None = None,
) -> list[RuleReason]:
    born = person.date_of_birth
    if born is not None:
        if born.earliest() > registered:
            role_vi, role_en = _role(path)
            return [
                _dates(
                    ReasonCode.INCONSISTENT_DATES,
                    f"{path}.date_of_birth",
                    f"Ngày sinh của {role_vi} ({_show(born)}) sau ngày đăng ký {_vn(registered)}.",
                    f"The date of birth of {role_en} ({_show(born)}) is after the registration "
                    f"date {_vn(registered)}.",
                )
            ]
        # At the earlier event when it is dated and after the birth (a death dated before
        # the birth is reported by the date checks), else at registration.
        on, when_vi, when_en = (
            event
            if event is not None and born.latest() <= event[0] <= registered
            else (registered, *_AT_REGISTRATION)
        )
        youngest = _full_years(born.latest(), on)
        if youngest > rules.max_age_years:
            return [_too_old(path, "date_of_birth", youngest, rules, when_vi, when_en)]
    elif person.age is not None and person.age > rules.max_age_years:
        return [_too_old(path, "age", person.age, rules, *_AT_REGISTRATION)]
    return []


_AT_REGISTRATION: Final = ("vào ngày đăng ký", "at registration")


def _too_old(
    path: str, name: str, age: int, rules: ConsistencyRules, when_vi: str, when_en: str
) -> RuleReason:
    role_vi, role_en = _role(path)
    return RuleReason(
        code=ReasonCode.IMPLAUSIBLE_AGE,
        detail_vi=f"{role_vi.capitalize()} đã {age} tuổi {when_vi} (quá "
        f"{rules.max_age_years} tuổi): kiểm tra lại năm sinh.",
        detail_en=f"{role_en.capitalize()} would be {age} {when_en} (over "
        f"{rules.max_age_years}): check the year of birth.",
        field=f"{path}.{name}",
    )


def _death_after_birth(record: RecordBase) -> list[RuleReason]:
    details: Any = record.details
    died = details.date_of_death
    born = details.deceased.date_of_birth
    if died is None or born is None or born.earliest() <= died.latest():
        return []
    return [
        _dates(
            ReasonCode.INCONSISTENT_DATES,
            "details.date_of_death",
            f"Ngày chết ({_show(died)}) trước ngày sinh ({_show(born)}) của người chết.",
            f"The date of death ({_show(died)}) is before the date of birth ({_show(born)}) "
            "of the deceased.",
        )
    ]


def _marriage_ages(record: RecordBase, rules: ConsistencyRules) -> list[RuleReason]:
    details: Any = record.details
    married_on = record.registration_date
    foreign = getattr(details, "foreign_registration", None)
    if foreign is not None and foreign.issued_on is not None:
        # A marriage recorded from abroad took place on the foreign registration date.
        married_on = min(married_on, foreign.issued_on.latest())
    era = rules.legal_marriage_ages(married_on)
    reasons: list[RuleReason] = []
    for role, sex in _SPOUSE_SEX.items():
        spouse: Person = getattr(details, role)
        if spouse.date_of_birth is not None:
            oldest = _full_years(spouse.date_of_birth.earliest(), married_on)
            where = f"details.{role}.date_of_birth"
        elif spouse.age is not None:
            oldest = spouse.age
            where = f"details.{role}.age"
        else:
            continue
        if oldest < 0:
            continue  # born after the marriage: a date error, reported by the date checks
        role_vi, role_en = _ROLES[role]
        minimum = era.men if sex is Sex.MALE else era.women
        if oldest < rules.impossible_marriage_age:
            reasons.append(
                RuleReason(
                    code=ReasonCode.IMPLAUSIBLE_AGE,
                    detail_vi=f"{role_vi.capitalize()} mới {oldest} tuổi khi kết hôn "
                    f"({_vn(married_on)}): không thể có, kiểm tra lại ngày sinh.",
                    detail_en=f"{role_en.capitalize()} would be {oldest} at the marriage "
                    f"({_vn(married_on)}): impossible, check the date of birth.",
                    field=where,
                )
            )
        elif oldest < minimum:
            reasons.append(
                RuleReason(
                    code=ReasonCode.IMPLAUSIBLE_AGE,
                    detail_vi=f"{role_vi.capitalize()} {oldest} tuổi khi kết hôn "
                    f"({_vn(married_on)}), dưới tuổi kết hôn theo luật thời đó ({minimum} "
                    "tuổi tròn): kiểm tra lại, nếu đúng như sổ thì vẫn nhập.",
                    detail_en=f"{role_en.capitalize()} was {oldest} at the marriage "
                    f"({_vn(married_on)}), below the legal age of the time ({minimum} full "
                    "years): check; if the register says so, it is still entered.",
                    field=where,
                    severity="warning",
                )
            )
    return reasons


def _sexes_of_subject(record: RecordBase) -> frozenset[Sex]:
    """Sexes a re-determined person's identity number may encode: before, after, given."""
    details: Any = record.details
    return frozenset(
        s for s in (details.sex_before, details.sex_after, details.subject.sex) if s is not None
    )


def check_identity_number(
    person: Person,
    path: str,
    rules: ConsistencyRules = DEFAULT_RULES,
    *,
    sexes: frozenset[Sex] | None = None,
) -> list[RuleReason]:
    """Check a person's CMND/CCCD number against its structure and the person's data.

    A CCCD (căn cước công dân) number has 12 digits: 3 for the province of birth
    registration, 1 for the century of birth and sex (0/1: 1900s male/female, 2/3:
    2000s, ...), 2 for the year of birth, 6 random; there is no check digit. A 9-digit
    CMND has no structure that can be checked. A 12-digit number declared CMND or of no
    declared kind is checked the same way, with warnings (that structure is not verified
    for them).

    Args:
        person: the person, with ``identity_number`` set.
        path: dotted path of the person in the record, for the reasons' field.
        rules: the valid province prefixes.
        sexes: sexes the number may encode when not just ``person.sex`` (a person whose
            sex was re-determined).
    """
    number = person.identity_number
    kind = person.identity_document_type
    if number is None or kind not in (None, IdentityDocumentType.CMND, IdentityDocumentType.CCCD):
        return []
    where = f"{path}.identity_number"
    if not (number.isascii() and number.isdigit()):
        return []  # the record contract refuses these for CMND/CCCD already
    if kind is IdentityDocumentType.CCCD and len(number) != 12:
        role_vi, role_en = _role(path)
        return [
            RuleReason(
                code=ReasonCode.INVALID_IDENTITY_NUMBER,
                detail_vi=f"Số căn cước công dân của {role_vi} phải có 12 chữ số (đang có "
                f"{len(number)}).",
                detail_en=f"The CCCD number of {role_en} must have 12 digits (it has "
                f"{len(number)}).",
                field=where,
            )
        ]
    if len(number) != 12:
        return []
    severity: typing.Literal["error", "warning"] = (
        "error" if kind is IdentityDocumentType.CCCD else "warning"
    )
    problems: list[tuple[str, str]] = []
    prefix = number[:3]
    if prefix not in rules.cccd_province_codes:
        problems.append(
            (
                f"3 chữ số đầu “{prefix}” không phải mã tỉnh nơi đăng ký khai sinh",
                f"the first three digits {prefix!r} are not a province code",
            )
        )
    digit = int(number[3])
    century = 1900 + 100 * (digit // 2)
    encoded_sex = Sex.FEMALE if digit % 2 else Sex.MALE
    if century >= 2100:
        problems.append(
            (
                f"chữ số thứ 4 “{digit}” chỉ người sinh từ năm {century}",
                f"the fourth digit {digit} means born in {century} or later",
            )
        )
    wanted = sexes or (
        frozenset({person.sex}) if person.sex in (Sex.MALE, Sex.FEMALE) else frozenset()
    )
    if wanted and encoded_sex not in wanted:
        sex_vi = "nữ" if encoded_sex is Sex.FEMALE else "nam"
        problems.append(
            (
                f"chữ số thứ 4 “{digit}” chỉ giới tính {sex_vi}, khác giới tính ghi trong sổ",
                f"the fourth digit {digit} means {encoded_sex.value}, not the sex registered",
            )
        )
    born = person.date_of_birth
    if born is not None and century < 2100:
        if born.year // 100 * 100 != century:
            problems.append(
                (
                    f"chữ số thứ 4 “{digit}” chỉ người sinh trong thế kỷ {century}–{century + 99}, "
                    f"năm sinh ghi {born.year}",
                    f"the fourth digit {digit} means born {century}-{century + 99}, the year "
                    f"of birth is {born.year}",
                )
            )
        if int(number[4:6]) != born.year % 100:
            problems.append(
                (
                    f"chữ số thứ 5–6 “{number[4:6]}” khác hai số cuối năm sinh {born.year}",
                    f"digits 5-6 {number[4:6]!r} differ from the year of birth {born.year}",
                )
            )
    if not problems:
        return []
    role_vi, role_en = _role(path)
    label_vi = "Số căn cước công dân" if kind is IdentityDocumentType.CCCD else "Số định danh 12 số"
    label_en = "CCCD number" if kind is IdentityDocumentType.CCCD else "12-digit identity number"
    return [
        RuleReason(
            code=ReasonCode.INVALID_IDENTITY_NUMBER,
            detail_vi=f"{label_vi} {number} của {role_vi}: {vi}.",
            detail_en=f"{label_en} {number} of {role_en}: {en}.",
            field=where,
            severity=severity,
        )
        for vi, en in problems
    ]


def _unit_codes(record: RecordBase, layout: _Layout, registry: UnitRegistry) -> list[RuleReason]:
    """Unit codes besides the authority, storing and entering units (warnings)."""
    reasons: list[RuleReason] = []
    for where, segments, date_segments, what_vi, what_en in layout.unit_codes:
        code = value_at(record, segments)
        if code is None:
            continue
        when = _as_partial(value_at(record, date_segments))
        versions = registry.versions(code)
        if not versions:
            reasons.append(
                RuleReason(
                    code=ReasonCode.UNKNOWN_UNIT,
                    detail_vi=f"Mã đơn vị {what_vi} “{code}” không có trong danh mục đơn vị "
                    "hành chính của tỉnh: kiểm tra lại (đúng nếu là đơn vị tỉnh khác).",
                    detail_en=f"The {what_en} code {code!r} is not in the province's unit "
                    "list: check it (fine if it is a unit of another province).",
                    field=where,
                    severity="warning",
                )
            )
        elif when is not None and not any(
            (v.valid_from is None or v.valid_from <= when.latest())
            and (v.valid_to is None or when.earliest() <= v.valid_to)
            for v in versions
        ):
            reasons.append(
                RuleReason(
                    code=ReasonCode.UNKNOWN_UNIT,
                    detail_vi=f"Đơn vị {what_vi} {registry.path_name(code)} ({code}) không tồn "
                    f"tại vào thời điểm {_show(when)}: ghi mã đơn vị đúng tại thời điểm đó.",
                    detail_en=f"The {what_en} {registry.path_name(code)} ({code}) did not exist "
                    f"at {_show(when)}: give the unit as it was then.",
                    field=where,
                    severity="warning",
                )
            )
    return reasons
