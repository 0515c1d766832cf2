"""Streams synthetic register entries of Tây Ninh with their ground truth.

How the registers are laid out, in three steps:

1. **Allocation.** Every unit of the province (the Department of Justice, 9 district
   offices, 95 communes as of the plan's date) gets *register years*: one per record
   type and registration year it plausibly registered (births dominate, then deaths,
   marriages and marital status certificates; changes and re-determinations mostly at
   district level; foreign-element events at province level before 2016). Each register
   year is classified with the plan's own rules (:func:`assign_phase`) as in scope
   (some phase), out of scope by type or by date (after the group's cutoff), or
   migratable (the group's local software years). The total and the province-level
   count are split over these cells by weight with largest remainders, so the counts
   add up exactly.
2. **Books.** A register year is cut into books of ``book_capacity`` entries
   ("01/2008", "02/2008"), entries numbered on across the books of the year. Book
   condition (intact/damaged) and whether its registering unit is known are drawn per
   book; :mod:`hotich_local.synth.survey` lists the same books as the survey baseline.
3. **Entries.** Each entry becomes a record dict with persons whose dates fit
   (birth before registration, death after birth, marriage ages, CMND/CCCD numbers of
   the era) and the injected noise, and a truth dict: the entering unit, the simulated
   entry day, phase, reasons, final status, duplicate links and noise labels.

Determinism: every random draw comes from :class:`random.Random` instances seeded
from the config's seed (string seeds hash with SHA-512, independent of
``PYTHONHASHSEED``); nothing iterates a set. Memory stays constant in the number of
records: one register year and a bounded sample of earlier entries (for probable
duplicates) are held at a time.
"""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from random import Random
from typing import Any, Final

from hotich_contracts.plan import Plan, load_plan
from hotich_contracts.reasons import ReasonCode
from hotich_contracts.units import UnitKind, UnitLevel, UnitRegistry, default_registry
from hotich_local.synth.model import GenerationConfig, Item, Truth
from hotich_local.synth.names import (
    HAMLET_NAMES,
    NameGenerator,
    WeightedTable,
    diacritic_variant,
    drop_middle_name,
    typo,
)
from hotich_validation.domain.phases import assign_phase

__all__ = ["RECORD_TYPE_ORDER", "Book", "generate", "iter_books"]

RECORD_TYPE_ORDER: Final = (
    "birth",
    "death",
    "marriage",
    "marriage_recording",
    "marital_status",
    "change_correction",
    "ethnicity_redetermination",
    "sex_redetermination",
    "adoption",
    "guardianship",
    "divorce_recording",
    "parentage_recognition",
)
"""Record types in the order a unit's books are generated."""

# Categories of entries in a register year.
_IN: Final = 0  # in some phase of manual entry
_OUT_DATE: Final = 1  # keyed by hand but dated after the group's cutoff (or outside phases)
_OUT_TYPE: Final = 2  # a type in no phase (parentage recognition)
_MIGRATION: Final = 3  # from the local software, in the group's migration years
_CATEGORIES: Final = 4

_TypeProfile = tuple[float, int | None, int | None]
"""Relative weight, first and last registration year (None = the config's bounds)."""

_TYPE_PROFILES: Final[dict[str, dict[str, _TypeProfile]]] = {
    # Communes register most events of their residents.
    "commune": {
        "birth": (52.0, None, None),
        "death": (17.0, None, None),
        "marriage": (13.0, None, None),
        "marital_status": (9.0, 1999, None),
        "change_correction": (5.0, 1988, None),
        "ethnicity_redetermination": (0.4, 1990, None),
        "adoption": (0.4, 1987, None),
        "guardianship": (0.5, 1990, None),
        "parentage_recognition": (1.0, 1990, None),
    },
    # District offices: changes for adults and re-determinations; from 2016 also the
    # events with a foreign element (Law on Civil Status 2014, Art. 7).
    "district": {
        "change_correction": (55.0, 1990, None),
        "ethnicity_redetermination": (8.0, 1990, None),
        "sex_redetermination": (1.5, 1995, None),
        "birth": (8.0, 2016, None),
        "death": (2.0, 2016, None),
        "marriage": (8.0, 2016, None),
        "marriage_recording": (6.0, 2016, None),
        "adoption": (1.5, 2016, None),
        "guardianship": (0.5, 2016, None),
        "divorce_recording": (1.5, 2016, None),
        "parentage_recognition": (1.0, 2016, None),
    },
    # The Department of Justice registered events with a foreign element until 2015.
    "province": {
        "birth": (14.0, 1995, 2015),
        "death": (3.0, 1995, 2015),
        "marriage": (38.0, 1995, 2015),
        "marriage_recording": (18.0, 1995, 2015),
        "change_correction": (8.0, 1995, 2015),
        "ethnicity_redetermination": (1.0, 1995, 2015),
        "sex_redetermination": (1.0, 1995, 2015),
        "adoption": (8.0, 1995, 2015),
        "divorce_recording": (8.0, 1995, 2015),
        "parentage_recognition": (1.0, 1995, 2015),
    },
}

_OLD_NAMES: Final[dict[str, tuple[str, int]]] = {
    # code: (name used in registers before the year), from the unit table's notes.
    "703": ("Thị xã Tây Ninh", 2014),
    "25480": ("Xã Ninh Sơn", 2014),
    "25483": ("Xã Ninh Thạnh", 2014),
}

_SUBJECT_KEYS: Final[dict[str, tuple[str, ...]]] = {
    "birth": ("child",),
    "death": ("deceased",),
    "marriage": ("husband", "wife"),
    "marriage_recording": ("husband", "wife"),
    "marital_status": ("subject",),
    "change_correction": ("subject",),
    "ethnicity_redetermination": ("subject",),
    "sex_redetermination": ("subject",),
    "adoption": ("child",),
    "guardianship": ("ward", "guardian"),
    "divorce_recording": ("husband", "wife"),
    "parentage_recognition": ("parent", "child"),
}
"""Persons the record is about (``subjects()``), in the details."""

_MANDATORY_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "birth": ("details.child.full_name", "details.child.date_of_birth"),
    "death": ("details.deceased.full_name", "details.date_of_death"),
    "marriage": ("details.husband.full_name", "details.wife.full_name"),
    "marriage_recording": ("details.husband.full_name", "details.wife.full_name"),
    "marital_status": ("details.subject.full_name",),
    "change_correction": ("details.subject.full_name", "details.subject.date_of_birth"),
    "ethnicity_redetermination": ("details.subject.full_name",),
    "sex_redetermination": ("details.subject.full_name",),
    "adoption": ("details.child.full_name",),
    "guardianship": ("details.ward.full_name", "details.guardian.full_name"),
    "divorce_recording": ("details.husband.full_name", "details.wife.full_name"),
    "parentage_recognition": ("details.parent.full_name", "details.child.full_name"),
}
"""Fields every reading of the mandatory minimum requires (names, the key dates)."""

_OPTIONAL_PATHS: Final[dict[str, tuple[str, ...]]] = {
    "birth": ("details.place_of_birth", "details.date_of_birth_in_words", "page"),
    "death": ("details.cause_of_death", "details.place_of_death", "page"),
    "marriage": ("details.husband.place_of_residence", "details.wife.place_of_residence"),
    "marital_status": ("details.residence_place", "page"),
    "change_correction": ("details.legal_basis", "page"),
}
_DEFAULT_OPTIONAL_PATHS: Final = ("page",)

_DUPLICABLE_TYPES: Final = frozenset({"birth", "death", "marriage"})

_CAUSES_OF_DEATH: Final = (
    ("Già yếu", 30.0),
    ("Bệnh", 25.0),
    ("Bệnh tim", 8.0),
    ("Tai biến mạch máu não", 8.0),
    ("Ung thư", 8.0),
    ("Tai nạn giao thông", 6.0),
    ("Bệnh phổi", 4.0),
    ("Đuối nước", 2.0),
    ("Sốt xuất huyết", 1.0),
    ("Không rõ", 3.0),
)
_OTHER_PURPOSES: Final = (
    "Để bổ sung hồ sơ vay vốn ngân hàng",
    "Để làm thủ tục mua bán nhà đất",
    "Để bổ túc hồ sơ xin việc làm",
    "Để làm thủ tục hưởng chế độ",
    "Để bổ sung hồ sơ xuất khẩu lao động",
)
_MARRIAGE_PURPOSES: Final = (
    "Để làm thủ tục đăng ký kết hôn",
    "Để đăng ký kết hôn",
    "Để đăng ký kết hôn với người nước ngoài",
)
_GUARDIANSHIP_REASONS: Final = (
    "Cha mẹ đều đã chết",
    "Cha mẹ mất năng lực hành vi dân sự",
    "Không xác định được cha mẹ",
    "Người được giám hộ mất năng lực hành vi dân sự",
)
_CHANGE_ITEMS: Final = (
    "Họ, chữ đệm, tên",
    "Ngày, tháng, năm sinh",
    "Quê quán",
    "Dân tộc",
    "Nơi sinh",
)
_LEGAL_BASES: Final = (
    "Tờ khai cải chính hộ tịch",
    "Bản sao giấy khai sinh",
    "Học bạ, bằng tốt nghiệp",
    "Sổ hộ khẩu gia đình",
    "Giấy chứng minh nhân dân",
)
_HOSPITALS_HCMC: Final = ("Bệnh viện Từ Dũ", "Bệnh viện Chợ Rẫy", "Bệnh viện Nhi Đồng 1")
_FOREIGN_AUTHORITIES: Final[dict[str, tuple[str, ...]]] = {
    "Campuchia": ("Ủy ban xã Bavet", "Ủy ban xã Chrak Mtes", "Ủy ban huyện Svay Teap"),
    "Đài Loan (Trung Quốc)": ("Văn phòng Hộ chính quận Đào Viên", "Văn phòng Hộ chính Đài Trung"),
    "Hàn Quốc": ("Văn phòng quận Gangnam, Seoul", "Văn phòng thành phố Suwon"),
}
_CMND_PREFIXES: Final = (("29", 88.0), ("30", 4.0), ("02", 4.0), ("27", 2.0), ("28", 2.0))
"""First digits of 9-digit CMND numbers: 29 is Tây Ninh, then Long An, HCMC, ..."""

_DIGITS: Final = ("không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín")
_MARITAL_VALUES: Final = (("never_married", 82.0), ("divorced", 11.0), ("widowed", 7.0))
_DAYS_PER_YEAR: Final = 365.25


# -- small helpers ----------------------------------------------------------------------


def _below_hundred(n: int) -> str:
    if n < 10:
        return _DIGITS[n]
    tens, units = divmod(n, 10)
    head = "mười" if tens == 1 else f"{_DIGITS[tens]} mươi"
    if units == 0:
        return head
    if units == 1 and tens > 1:
        tail = "mốt"
    elif units == 4 and tens > 1:
        tail = "tư"
    elif units == 5:
        tail = "lăm"
    else:
        tail = _DIGITS[units]
    return f"{head} {tail}"


def _year_in_words(year: int) -> str:
    thousands, rest = divmod(year, 1000)
    hundreds, below = divmod(rest, 100)
    parts = [f"{_DIGITS[thousands]} nghìn"]
    if hundreds or below:
        parts.append(f"{_DIGITS[hundreds]} trăm")
    if below:
        parts.append(f"linh {_DIGITS[below]}" if below < 10 else _below_hundred(below))
    return " ".join(parts)


def date_in_words(day: date) -> str:
    """Write a date in words as birth registers do (ngày sinh bằng chữ).

    ``2010-02-27`` -> "Ngày hai mươi bảy, tháng hai, năm hai nghìn không trăm mười".
    """
    month = "tư" if day.month == 4 else _below_hundred(day.month)
    return f"Ngày {_below_hundred(day.day)}, tháng {month}, năm {_year_in_words(day.year)}"


def _lower_first(name: str) -> str:
    # "Xã Thạnh Tân" -> "xã Thạnh Tân": unit names inside an address start lower case.
    return name[:1].lower() + name[1:]


_UNIT_PREFIXES: Final = ("Thành phố ", "Thị xã ", "Huyện ", "Thị trấn ", "Phường ", "Xã ", "Tỉnh ")


def _bare_name(name: str) -> str:
    # "Huyện Hòa Thành" -> "Hòa Thành", as quê quán is usually written.
    for prefix in _UNIT_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def _damage_share(year: int) -> float:
    """Share of books of a year found torn or faded: old paper fares worse."""
    if year < 1976:
        return 0.5
    if year < 1990:
        return 0.3
    if year < 2000:
        return 0.15
    if year < 2010:
        return 0.06
    return 0.03


def _year_weight(record_type: str, year: int) -> float:
    """Relative volume of a registration year: old registers are sparse or lost."""
    if year < 1976:
        weight = 0.08
    elif year < 1995:
        weight = 0.35 + 0.65 * (year - 1976) / 19
    else:
        weight = 1.0
    if record_type == "death" and year < 1995:
        # Deaths went unregistered more often than births.
        weight *= 0.6
    return weight


def _largest_remainder(target: int, weights: list[float]) -> list[int]:
    """Split ``target`` into integers proportional to ``weights`` that add up exactly."""
    total = math.fsum(weights)
    if target <= 0 or total <= 0:
        return [0] * len(weights)
    quotas = [target * w / total for w in weights]
    counts = [int(q) for q in quotas]
    rest = target - sum(counts)
    order = sorted(range(len(weights)), key=lambda i: (counts[i] - quotas[i], i))
    for i in order[:rest]:
        counts[i] += 1
    return counts


def _year_aligned(plan: Plan) -> bool:
    """Whether every date boundary of the plan falls on a year boundary.

    Then the phase of a (type, group, source, purpose) depends on the registration
    year only, and phase decisions can be memoized per year.
    """
    starts: list[date | None] = []
    ends: list[date | None] = []
    for phase in plan.phases:
        for rule in phase.rules:
            starts.append(rule.registration_date.start)
            ends.append(rule.registration_date.end)
    for group in plan.groups:
        ends.append(group.manual_cutoff)
        if group.migration_range is not None:
            starts.append(group.migration_range.start)
            ends.append(group.migration_range.end)
    return all(d is None or (d.month, d.day) == (1, 1) for d in starts) and all(
        d is None or (d.month, d.day) == (12, 31) for d in ends
    )


# -- context ----------------------------------------------------------------------------


class _PhaseOracle:
    """Memoized :func:`assign_phase`: the plan's decision for a kind of entry.

    The decision depends on the entering unit only through its district group, so it
    is memoized per group (and per year when the plan's boundaries are whole years).
    """

    def __init__(self, plan: Plan, registry: UnitRegistry) -> None:
        self._plan = plan
        self._registry = registry
        self._by_year = _year_aligned(plan)
        self._probe_day = plan.phases[0].entry_window.start
        self._memo: dict[tuple[Any, ...], tuple[int | str | None, tuple[str, ...]]] = {}

    def decide(
        self,
        record_type: str,
        day_ordinal: int,
        year: int,
        unit_code: str,
        group: str,
        source: str,
        purpose: str | None,
    ) -> tuple[int | str | None, tuple[str, ...]]:
        """Return (phase, reason codes) for an entry; phase None when out of scope."""
        key = (record_type, year if self._by_year else day_ordinal, group, source, purpose)
        found = self._memo.get(key)
        if found is None:
            registration_date = date(year, 1, 1) if self._by_year else date.fromordinal(day_ordinal)
            decision = assign_phase(
                record_type=record_type,
                registration_date=registration_date,
                unit_code=unit_code,
                source=source,
                marital_purpose=purpose if record_type == "marital_status" else None,
                entered_on=self._probe_day,
                plan=self._plan,
                registry=self._registry,
            )
            found = (decision.phase, tuple(str(r.code) for r in decision.reasons))
            self._memo[key] = found
        return found


@dataclass(slots=True)
class _UnitProfile:
    """What the generator needs to know about one unit."""

    code: str
    level: str  # province | district | commune
    kind: UnitKind
    district_code: str | None
    group: str
    weight: float
    hamlets: tuple[str, ...]
    last_valid_ordinal: int | None
    successor: str | None
    communes: tuple[str, ...]  # communes whose residents it registers (itself for a commune)
    wrong_clerk: str  # a unit that would wrongly key its registers


@dataclass(frozen=True, slots=True)
class Book:
    """One register book (quyển sổ) as the survey lists it.

    Attributes:
        book_id: stable id, ``<unit>/<record_type>/<year>/<sequence>``; items carry it in
            ``truth.book_id``.
        unit_code: the unit whose register it is (that registered its events).
        unit_name: the unit's name in the register's year.
        level: ``province``, ``district`` or ``commune``.
        district_code: the district-level unit (None for the province).
        storing_unit_code: the unit keeping the book at the plan's date.
        record_type: the type of events in the book.
        year: registration year of its entries.
        sequence: 1 for the year's first book, 2 for the next, ...
        book_number: quyển số as written, e.g. "01/2008".
        first_entry: number of its first entry (numbering runs on across a year's books).
        entries: distinct entries in it (re-keyed exact duplicates not counted).
        migrated_entries: how many of them come through migration instead of by hand.
        condition: ``intact`` or ``damaged`` (torn, faded).
        authority_known: False when the book does not tell which unit registered it.
    """

    book_id: str
    unit_code: str
    unit_name: str
    level: str
    district_code: str | None
    storing_unit_code: str
    record_type: str
    year: int
    sequence: int
    book_number: str
    first_entry: int
    entries: int
    migrated_entries: int
    condition: str
    authority_known: bool


class _Context:
    """Everything derived from the config before streaming: units, allocation, rates."""

    def __init__(self, config: GenerationConfig, plan: Plan, registry: UnitRegistry) -> None:
        self.config = config
        self.plan = plan
        self.registry = registry
        self.oracle = _PhaseOracle(plan, registry)
        self.province_code = plan.province_code
        self.profiles: dict[str, _UnitProfile] = {}
        self.order: list[str] = []
        self.group_of: dict[str, str] = {}
        self._build_units()
        # allocation[code][record_type][year] = counts per category
        self.allocation: dict[str, dict[str, dict[int, list[int]]]] = {}
        self.entries_per_level: dict[str, int] = {}
        self.exact_duplicates_per_level: dict[str, int] = {}
        self.damaged_in_scope_share = 0.0
        self._allocate()
        windows: dict[int | str | None, tuple[int, int]] = {}
        for phase in plan.phases:
            windows[phase.number] = (
                phase.entry_window.start.toordinal(),
                phase.entry_window.end.toordinal(),
            )
        windows[None] = (min(s for s, _ in windows.values()), max(e for _, e in windows.values()))
        if plan.migration is not None:
            windows["migration"] = (
                plan.migration.window.start.toordinal(),
                plan.migration.window.end.toordinal(),
            )
        self.windows = windows

    # -- units --------------------------------------------------------------------

    def _build_units(self) -> None:
        plan, registry = self.plan, self.registry
        on = plan.issued_on
        rng = Random(f"hotich-synth/{self.config.seed}/units")
        province = registry.require(self.province_code, on)
        in_province = [
            u
            for u in registry.all(on)
            if u.code == province.code
            or (p := registry.province_of(u.code, on)) is not None
            and p.code == province.code
        ]
        selected = self._selected_codes([u.code for u in in_province])
        communes_by_district: dict[str, list[str]] = {}
        for unit in in_province:
            if unit.level is UnitLevel.COMMUNE and unit.parent_code is not None:
                communes_by_district.setdefault(unit.parent_code, []).append(unit.code)
        all_communes = tuple(sorted(c for codes in communes_by_district.values() for c in codes))
        for unit in in_province:
            level = unit.level.value
            district = registry.district_of(unit.code, on)
            district_code = district.code if district is not None else None
            if unit.level is UnitLevel.COMMUNE:
                weight = 0.6 + rng.random()
                if unit.kind in (UnitKind.PHUONG, UnitKind.THI_TRAN):
                    weight *= 1.25
                communes: tuple[str, ...] = (unit.code,)
                wrong = district_code or province.code
                if unit.kind is UnitKind.XA:
                    picked = rng.sample(HAMLET_NAMES, 6)
                    hamlets = tuple(f"ấp {h}" for h in picked) + ("ấp 1", "ấp 2")
                else:
                    hamlets = tuple(f"khu phố {n}" for n in range(1, 7))
            elif unit.level is UnitLevel.DISTRICT:
                weight = 0.5
                communes = tuple(sorted(communes_by_district.get(unit.code, ())))
                wrong = communes[int(rng.random() * len(communes))] if communes else province.code
                hamlets = ()
            else:
                weight = 1.0
                communes = all_communes
                # A district office keying the Department's register.
                wrong = min(communes_by_district) if communes_by_district else province.code
                hamlets = ()
            try:
                group = plan.group_of(unit.code, registry)
            except LookupError:
                continue
            last_valid: date | None = None
            successor: str | None = None
            versions = registry.versions(unit.code)
            if all(v.valid_to is not None for v in versions):
                last_valid = max(v.valid_to for v in versions if v.valid_to is not None)
                following = registry.successors_on(
                    unit.code, date.fromordinal(last_valid.toordinal() + 1)
                )
                successor = following[0].code if following else None
            self.group_of[unit.code] = group
            # Every unit gets a profile (addresses name communes outside a selection);
            # only selected units get registers.
            self.profiles[unit.code] = _UnitProfile(
                code=unit.code,
                level=level,
                kind=unit.kind,
                district_code=district_code,
                group=group,
                weight=weight,
                hamlets=hamlets,
                last_valid_ordinal=last_valid.toordinal() if last_valid else None,
                successor=successor,
                communes=communes,
                wrong_clerk=wrong,
            )
            if unit.code in selected:
                self.order.append(unit.code)
        # Profiles of every commune are needed for addresses even when not selected.
        self.address_units = {u.code: u for u in in_province}
        self.districts = tuple(sorted(communes_by_district))

    def _selected_codes(self, codes: list[str]) -> set[str]:
        wanted = self.config.units
        if wanted is None:
            return set(codes)
        known = set(codes)
        selected: set[str] = set()
        for code in wanted:
            if code not in known:
                raise ValueError(f"unit {code!r} is not a unit of province {self.province_code}")
            selected.add(code)
            unit = self.registry.get(code, self.plan.issued_on)
            if unit is not None and unit.level is UnitLevel.DISTRICT:
                selected.update(c.code for c in self.registry.children(code, self.plan.issued_on))
        return selected

    # -- allocation -----------------------------------------------------------------

    def _allocate(self) -> None:
        config = self.config
        rates = config.rates
        oracle = self.oracle
        cells: dict[str, list[list[tuple[str, str, int, float]]]] = {
            "province": [[] for _ in range(_CATEGORIES)],
            "local": [[] for _ in range(_CATEGORIES)],
        }
        for code in self.order:
            profile = self.profiles[code]
            level_key = "province" if profile.level == "province" else "local"
            for record_type in RECORD_TYPE_ORDER:
                spec = _TYPE_PROFILES[profile.level].get(record_type)
                if spec is None:
                    continue
                type_weight, first, last = spec
                first_year = max(first or config.first_year, config.first_year)
                last_year = min(last or config.last_year, config.last_year)
                for year in range(first_year, last_year + 1):
                    weight = profile.weight * type_weight * _year_weight(record_type, year)
                    day = date(year, 1, 1).toordinal()
                    phase, codes = oracle.decide(
                        record_type, day, year, code, profile.group, "manual", "marriage"
                    )
                    cell = (code, record_type, year, weight)
                    if phase is not None:
                        cells[level_key][_IN].append(cell)
                    elif ReasonCode.OUT_OF_SCOPE_TYPE in codes:
                        cells[level_key][_OUT_TYPE].append(cell)
                    elif ReasonCode.OUT_OF_SCOPE_DATE in codes:
                        cells[level_key][_OUT_DATE].append(cell)
                    migrated, _ = oracle.decide(
                        record_type, day, year, code, profile.group, "migration", "marriage"
                    )
                    if migrated == "migration":
                        cells[level_key][_MIGRATION].append(cell)

        has_province = any(cells["province"])
        has_local = any(cells["local"])
        if has_province and has_local:
            items = {
                "province": config.province_level,
                "local": config.total - config.province_level,
            }
        elif has_province:
            items = {"province": config.total, "local": 0}
        else:
            items = {"province": 0, "local": config.total}

        shares = {
            _MIGRATION: rates.migration,
            _OUT_DATE: rates.out_of_scope_date,
            _OUT_TYPE: rates.out_of_scope_type,
        }
        in_scope_total = 0
        damaged_expected = 0.0
        for level_key, level_cells in cells.items():
            count = items[level_key]
            if count and not any(level_cells):
                raise ValueError(f"no registers to generate {count} {level_key} items from")
            duplicates = min(round(count * rates.duplicate_exact), count // 2)
            entries = count - duplicates
            self.exact_duplicates_per_level[level_key] = duplicates
            self.entries_per_level[level_key] = entries
            targets = [0] * _CATEGORIES
            for category, share in shares.items():
                if level_cells[category]:
                    targets[category] = round(entries * share)
            targets[_IN] = entries - sum(targets)
            if not level_cells[_IN] and targets[_IN]:
                # No in-scope register (a unit selection without one): give the rest to
                # the first category that has registers.
                fallback = next(c for c in range(_CATEGORIES) if level_cells[c])
                targets[fallback] += targets[_IN]
                targets[_IN] = 0
            for category in range(_CATEGORIES):
                category_cells = level_cells[category]
                counts = _largest_remainder(targets[category], [c[3] for c in category_cells])
                for (code, record_type, year, _), n in zip(category_cells, counts, strict=True):
                    if not n:
                        continue
                    per_year = self.allocation.setdefault(code, {}).setdefault(record_type, {})
                    per_year.setdefault(year, [0] * _CATEGORIES)[category] += n
                    if category == _IN:
                        in_scope_total += n
                        damaged_expected += n * _damage_share(year)
        self.damaged_in_scope_share = damaged_expected / in_scope_total if in_scope_total else 0.0

    # -- names of units ---------------------------------------------------------------

    @lru_cache(maxsize=4096)  # noqa: B019 - one context per config, kept for the run
    def unit_name(self, code: str, year: int) -> str:
        """The unit's name as registers of that year write it."""
        old = _OLD_NAMES.get(code)
        if old is not None and year < old[1]:
            return old[0]
        unit = self.registry.get(code, date(year, 7, 1)) or self.registry.require(code)
        return unit.name

    @lru_cache(maxsize=4096)  # noqa: B019 - one context per config, kept for the run
    def address_tail(self, code: str, year: int) -> str:
        """'xã Thạnh Tân, thành phố Tây Ninh, tỉnh Tây Ninh' as of the year."""
        parts = [_lower_first(self.unit_name(code, year))]
        unit = self.address_units.get(code)
        if unit is not None and unit.parent_code is not None:
            parent = self.address_units.get(unit.parent_code)
            if parent is not None and parent.level is UnitLevel.DISTRICT:
                parts.append(_lower_first(self.unit_name(parent.code, year)))
            if code != self.province_code:
                parts.append(_lower_first(self.unit_name(self.province_code, year)))
        return ", ".join(parts)

    @lru_cache(maxsize=4096)  # noqa: B019 - one context per config, kept for the run
    def authority_name(self, code: str, year: int) -> str:
        """The registering authority as the register's header writes it."""
        if code == self.province_code:
            return f"Sở Tư pháp {_lower_first(self.unit_name(code, year))}"
        prefix = "Ủy ban nhân dân" if year < 1990 else "UBND"
        return f"{prefix} {_lower_first(self.unit_name(code, year))}"


@lru_cache(maxsize=4)
def _default_context(config: GenerationConfig) -> _Context:
    return _Context(config, load_plan(config.plan), default_registry())


def _context(
    config: GenerationConfig, plan: Plan | None, registry: UnitRegistry | None
) -> _Context:
    if plan is None and registry is None:
        return _default_context(config)
    return _Context(config, plan or load_plan(config.plan), registry or default_registry())


# -- books ------------------------------------------------------------------------------


def _books_with_labels(ctx: _Context) -> Iterator[tuple[Book, list[int]]]:
    """Yield every book with the category of each of its entries, in stream order."""
    config = ctx.config
    rng = Random(f"hotich-synth/{config.seed}/books")
    rnd = rng.random
    capacity = config.book_capacity
    unknown_rate = config.rates.unknown_authority
    for code in ctx.order:
        per_unit = ctx.allocation.get(code)
        if not per_unit:
            continue
        profile = ctx.profiles[code]
        for record_type in RECORD_TYPE_ORDER:
            per_year = per_unit.get(record_type)
            if not per_year:
                continue
            for year in sorted(per_year):
                counts = per_year[year]
                labels: list[int] = []
                for category, n in enumerate(counts):
                    labels.extend([category] * n)
                if sum(1 for n in counts if n) > 1:
                    rng.shuffle(labels)
                plain_numbers = rnd() < (0.35 if year < 1990 else 0.1)
                name = ctx.unit_name(code, year)
                for index, start in enumerate(range(0, len(labels), capacity)):
                    part = labels[start : start + capacity]
                    sequence = index + 1
                    damaged = rnd() < _damage_share(year)
                    known = True
                    if profile.level == "commune" and year <= 1990 and counts[_IN] == sum(counts):
                        known = rnd() >= unknown_rate
                    book = Book(
                        book_id=f"{code}/{record_type}/{year}/{sequence:02d}",
                        unit_code=code,
                        unit_name=name,
                        level=profile.level,
                        district_code=profile.district_code,
                        storing_unit_code=code,
                        record_type=record_type,
                        year=year,
                        sequence=sequence,
                        book_number=(
                            f"{sequence}/{year}" if plain_numbers else f"{sequence:02d}/{year}"
                        ),
                        first_entry=start + 1,
                        entries=len(part),
                        migrated_entries=part.count(_MIGRATION),
                        condition="damaged" if damaged else "intact",
                        authority_known=known,
                    )
                    yield book, part


def iter_books(
    config: GenerationConfig | None = None,
    *,
    plan: Plan | None = None,
    registry: UnitRegistry | None = None,
) -> Iterator[Book]:
    """Yield the register books the generator fills, in stream order.

    Args:
        config: what to generate (defaults: the plan's counts, seed 2547).
        plan: the plan (default: ``config.plan`` or the packaged Tây Ninh plan).
        registry: the unit registry (default: the packaged one).
    """
    ctx = _context(config or GenerationConfig(), plan, registry)
    for book, _ in _books_with_labels(ctx):
        yield book


# -- entries ----------------------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    """An earlier clean entry that a probable duplicate may register again."""

    truth_id: str
    unit_code: str
    event_ordinal: int
    registration_ordinal: int
    details: dict[str, Any]


def _identifiable(details: dict[str, Any], record_type: str) -> bool:
    """Whether a registered-again copy of an entry is still a detectable duplicate.

    A birth with neither parent recorded (``neither_parent_known``, abandoned child)
    carries only the child's name, sex, birth date and place of birth: what namesakes
    share. Dedup's rules (services/dedup README, "Scoring") never match two births with
    no parent named on both sides, whatever their points (up to 8 + 7 + 0.5 + 0.5 = 16),
    so the copy would be accepted and a ``duplicate_suspected`` label would be wrong. Every
    other duplicable entry keeps at least 14 points under any one variant: a parent's
    name (+5) and birth year (+1) for births; the residence (+2) and the date of death
    (month at least, +4) for deaths; the other spouse's name (+8) for marriages.
    """
    if record_type != "birth":
        return True
    return details.get("mother") is not None or details.get("father") is not None


class _Factory:
    """Builds records and truths; holds the record RNG and the streaming state."""

    def __init__(self, ctx: _Context) -> None:
        config = ctx.config
        self.ctx = ctx
        self.config = config
        self.rates = config.rates
        self.rng = Random(f"hotich-synth/{config.seed}/records")
        self.r: Callable[[], float] = self.rng.random
        self.names = NameGenerator(self.r)
        self.causes = WeightedTable(_CAUSES_OF_DEATH)
        self.marital_values = WeightedTable(_MARITAL_VALUES)
        self.cmnd_prefix = WeightedTable(_CMND_PREFIXES)
        self._iso: dict[int, str] = {}
        self._words: dict[int, str] = {}
        self.seq = 0
        self.id_prefix = f"syn{config.seed}-"
        # Exact duplicates: selection sampling over every entry of a level gives exactly
        # the planned number (Knuth's algorithm S).
        self.dup_left = dict(ctx.exact_duplicates_per_level)
        self.slots_left = dict(ctx.entries_per_level)
        # Probable duplicates draw from recent entries and a reservoir across units.
        self.recent: dict[str, deque[_Candidate]] = {t: deque(maxlen=64) for t in _DUPLICABLE_TYPES}
        self.reservoir: dict[str, list[_Candidate]] = {t: [] for t in _DUPLICABLE_TYPES}
        self.seen: dict[str, int] = dict.fromkeys(_DUPLICABLE_TYPES, 0)
        # Not-enterable and damaged-readable entries occur only in damaged books; scale
        # the per-entry chance there so the overall share matches the rate.
        rates = self.rates
        share = ctx.damaged_in_scope_share
        room = max(1e-9, 1.0 - rates.malformed - rates.wrong_entering_unit)
        if share > 0:
            self.q_not_enterable = rates.not_enterable / share / room
            self.q_damaged_readable = rates.damaged_readable / share / room
        else:
            self.q_not_enterable = self.q_damaged_readable = 0.0
        excess = self.q_not_enterable + self.q_damaged_readable
        if excess > 1:
            self.q_not_enterable /= excess
            self.q_damaged_readable /= excess
        self.old_until = config.old_register_until

    # -- primitives ---------------------------------------------------------------

    def iso(self, ordinal: int) -> str:
        """ISO text of a day ordinal (memoized: a few tens of thousands of days occur)."""
        text = self._iso.get(ordinal)
        if text is None:
            text = date.fromordinal(ordinal).isoformat()
            self._iso[ordinal] = text
        return text

    def vn_date(self, ordinal: int) -> str:
        """The day as Vietnamese text writes it, dd/mm/yyyy."""
        year, month, day = self.iso(ordinal).split("-")
        return f"{day}/{month}/{year}"

    def words(self, ordinal: int) -> str:
        """The day in words (memoized)."""
        text = self._words.get(ordinal)
        if text is None:
            text = date_in_words(date.fromordinal(ordinal))
            self._words[ordinal] = text
        return text

    def one(self, options: tuple[str, ...]) -> str:
        """A uniform choice."""
        return options[int(self.r() * len(options))]

    def age_days(self, low: float, high: float) -> int:
        """A uniform age in days between two ages in years."""
        return int((low + self.r() * (high - low)) * _DAYS_PER_YEAR)

    def residence(self, profile: _UnitProfile, year: int) -> str:
        """An address in one of the communes the unit registers residents of."""
        communes = profile.communes
        if not communes:
            return self.ctx.address_tail(profile.code, year)
        code = communes[int(self.r() * len(communes))] if len(communes) > 1 else communes[0]
        hamlets = self.ctx.profiles[code].hamlets
        tail = self.ctx.address_tail(code, year)
        if not hamlets:
            return tail
        return f"{hamlets[int(self.r() * len(hamlets))]}, {tail}"

    def origin(self, profile: _UnitProfile, year: int) -> str:
        """Place of origin (quê quán) as written."""
        r = self.r
        if r() < 0.85:
            district = (
                profile.district_code or self.ctx.districts[int(r() * len(self.ctx.districts))]
            )
            return f"{_bare_name(self.ctx.unit_name(district, year))}, Tây Ninh"
        return self.names.province.pick(self.r())

    def identity(self, person: dict[str, Any], male: bool, dob: int, reg: int, year: int) -> None:
        """Give an adult a CMND (9 digits) or, from 2016, sometimes a 12-digit CCCD."""
        r = self.r
        if year < 1980 or reg - dob < 16 * _DAYS_PER_YEAR or r() > 0.8:
            return
        birth_year = int(self.iso(dob)[:4])
        if year >= 2016 and birth_year >= 1900 and r() < min(0.85, 0.2 * (year - 2015)):
            u = r()
            province = "072" if u < 0.9 else ("079" if u < 0.95 else "080")
            digit = (birth_year // 100 - 19) * 2 + (0 if male else 1)
            number = f"{province}{digit}{birth_year % 100:02d}{int(r() * 1_000_000):06d}"
            person["identity_document_type"] = "cccd"
            person["identity_number"] = number
            low = max(dob + int(14 * _DAYS_PER_YEAR), date(2016, 1, 1).toordinal())
            issuer = "Cục Cảnh sát quản lý hành chính về trật tự xã hội"
        else:
            person["identity_document_type"] = "cmnd"
            person["identity_number"] = f"{self.cmnd_prefix.pick(r())}{int(r() * 10_000_000):07d}"
            low = max(dob + int(14 * _DAYS_PER_YEAR), reg - 15 * 365, 721354)  # 1976-01-01
            issuer = "Công an tỉnh Tây Ninh"
        high = reg - 1
        low = min(low, high)
        person["identity_issued_on"] = self.iso(low + int(r() * (high - low + 1)))
        person["identity_issued_by"] = issuer

    def person(
        self,
        *,
        male: bool,
        dob: int,
        reg: int,
        year: int,
        ethnicity: str,
        family: str | None = None,
        name: str | None = None,
        year_only: bool = False,
        residence: str | None = None,
        with_id: bool = True,
    ) -> dict[str, Any]:
        """A Vietnamese person with consistent sex, birth date and identity number."""
        iso = self.iso(dob)
        person: dict[str, Any] = {
            "full_name": name or self.names.full_name(male, int(iso[:4]), ethnicity, family),
            "date_of_birth": iso[:4] if year_only else iso,
            "sex": "male" if male else "female",
            "ethnicity": ethnicity,
            "nationality": "Việt Nam",
        }
        if residence is not None:
            person["residence_type"] = "permanent"
            person["place_of_residence"] = residence
        if with_id:
            self.identity(person, male, dob, reg, year)
        return person

    def foreigner(self, country: str, male: bool, dob: int) -> dict[str, Any]:
        """A foreign spouse with a passport."""
        r = self.r
        letter = "ABCEGKLMNPS"[int(r() * 11)]
        return {
            "full_name": self.names.foreign_name(country, male),
            "date_of_birth": self.iso(dob) if r() < 0.7 else self.iso(dob)[:4],
            "sex": "male" if male else "female",
            "nationality": country,
            "identity_document_type": "passport",
            "identity_number": f"{letter}{int(r() * 10_000_000):07d}",
        }

    def decision(self, kind: str, suffix: str, issued: int, issuer: str) -> dict[str, Any]:
        """A decision or judgment reference."""
        number = 1 + int(self.r() * 250)
        return {
            "document_kind": kind,
            "number": f"{number}/{suffix}",
            "issued_on": self.iso(issued),
            "issued_by": issuer,
        }

    # -- record types ---------------------------------------------------------------

    def birth(self, p: _UnitProfile, reg: int, year: int) -> tuple[dict[str, Any], str, int]:
        """Details of a birth entry, its registration kind and the birth day."""
        r = self.r
        on_time = 0.6 if year < 1990 else 0.88
        if r() < on_time:
            dob = reg - 1 - int(r() * 60)
            kind = "on_time"
        else:
            dob = reg - 61 - int(r() * 365 * 12)
            kind = "late"
        male = r() < 0.512
        ethnicity = self.names.ethnicity.pick(r())
        u = r()
        if u < 0.93:
            birth_kind = "both_parents_known"
        elif u < 0.985:
            birth_kind = "father_unknown"
        elif u < 0.99:
            birth_kind = "mother_unknown"
        elif u < 0.995:
            birth_kind = "neither_parent_known"
        else:
            birth_kind = "abandoned_child"
        residence = self.residence(p, year)
        details: dict[str, Any] = {}
        father = mother = None
        family = None
        foreign = p.level != "commune" and r() < 0.7
        if foreign and birth_kind in ("both_parents_known", "mother_unknown"):
            # Registered above the commune: an event with a foreign element.
            father = self.foreigner(self.names.country.pick(r()), True, dob - self.age_days(22, 50))
        elif birth_kind in ("both_parents_known", "mother_unknown"):
            father_dob = dob - self.age_days(20, 45)
            father = self.person(
                male=True,
                dob=father_dob,
                reg=reg,
                year=year,
                ethnicity=ethnicity,
                year_only=r() < 0.65,
                residence=residence,
            )
            family = father["full_name"].split(" ", 1)[0]
        if foreign:
            family = None  # the child takes the Vietnamese mother's family name
        if birth_kind in ("both_parents_known", "father_unknown"):
            mother_dob = dob - self.age_days(17, 42)
            mother = self.person(
                male=False,
                dob=mother_dob,
                reg=reg,
                year=year,
                ethnicity=ethnicity if r() < 0.95 else "Kinh",
                year_only=r() < 0.65,
                residence=residence,
            )
            if family is None:
                family = mother["full_name"].split(" ", 1)[0]
        child = self.person(
            male=male,
            dob=dob,
            reg=reg,
            year=year,
            ethnicity=ethnicity,
            family=family,
            with_id=False,
        )
        child["place_of_origin"] = self.origin(p, year)
        details["child"] = child
        if year >= 1990 or r() < 0.5:
            details["date_of_birth_in_words"] = self.words(dob)
        u = r()
        commune = p.communes[int(r() * len(p.communes))] if p.communes else p.code
        if year < 1990 and u < 0.5:
            details["place_of_birth"] = f"Tại nhà, {residence}"
            details["place_of_birth_unit_code"] = commune
        elif u < (0.8 if year < 2006 else 0.35):
            details["place_of_birth"] = (
                f"Trạm Y tế {_lower_first(self.ctx.unit_name(commune, year))}"
            )
            details["place_of_birth_unit_code"] = commune
        elif u < 0.93:
            details["place_of_birth"] = "Bệnh viện Đa khoa tỉnh Tây Ninh"
            details["place_of_birth_unit_code"] = "703"
        else:
            details["place_of_birth"] = f"{self.one(_HOSPITALS_HCMC)}, TP. Hồ Chí Minh"
        details["birth_kind"] = birth_kind
        if mother is not None:
            details["mother"] = mother
        if father is not None:
            details["father"] = father
        return details, kind, dob

    def death(self, p: _UnitProfile, reg: int, year: int) -> tuple[dict[str, Any], str, int]:
        """Details of a death entry, its registration kind and the day of death."""
        r = self.r
        if r() < (0.2 if year < 1990 else 0.05):
            dod = reg - 16 - int(r() * 365 * 5)
            kind = "late"
        else:
            dod = reg - int(r() * 15)
            kind = "on_time"
        u = r()
        if u < 0.04:
            age = self.age_days(0, 1)
        elif u < 0.25:
            age = self.age_days(18, 60)
        else:
            age = self.age_days(60, 98)
        dob = dod - age
        male = r() < 0.55
        residence = self.residence(p, year)
        deceased = self.person(
            male=male,
            dob=dob,
            reg=reg,
            year=year,
            ethnicity=self.names.ethnicity.pick(r()),
            year_only=year < 1995 and r() < 0.5,
            residence=residence,
        )
        details: dict[str, Any] = {"deceased": deceased, "date_of_death": self.iso(dod)}
        if r() < 0.6:
            details["time_of_death"] = f"{int(r() * 24):02d}:{int(r() * 60):02d}"
        if r() < 0.75:
            details["place_of_death"] = f"Tại nhà, {residence}"
        else:
            details["place_of_death"] = "Bệnh viện Đa khoa tỉnh Tây Ninh"
        details["cause_of_death"] = self.causes.pick(r())
        if year >= 2000 and r() < 0.7:
            issued = dod + int(r() * (reg - dod + 1))
            details["death_notice"] = self.decision(
                "Giấy báo tử",
                "GBT",
                issued,
                f"Trạm Y tế {_lower_first(self.ctx.unit_name(p.communes[0], year))}"
                if p.communes
                else "Bệnh viện Đa khoa tỉnh Tây Ninh",
            )
        return details, kind, dod

    def couple(
        self, p: _UnitProfile, reg: int, year: int, *, foreign: str | None = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Husband and wife at plausible marriage ages (a foreigner of ``foreign``)."""
        r = self.r
        husband_age = (
            self.age_days(30, 50) if r() < 0.1 else int((20 + (r() + r()) * 6) * _DAYS_PER_YEAR)
        )
        wife_age = (
            self.age_days(28, 45) if r() < 0.08 else int((18 + (r() + r()) * 5) * _DAYS_PER_YEAR)
        )
        ethnicity = self.names.ethnicity.pick(r())
        old = year <= self.old_until
        foreign_husband = foreign is not None and r() < 0.85
        if foreign is not None and foreign_husband:
            husband = self.foreigner(foreign, True, reg - husband_age)
        else:
            husband = self.person(
                male=True,
                dob=reg - husband_age,
                reg=reg,
                year=year,
                ethnicity=ethnicity,
                year_only=old and r() < 0.4,
                residence=self.residence(p, year),
            )
        if foreign is not None and not foreign_husband:
            wife = self.foreigner(foreign, False, reg - wife_age)
        else:
            wife = self.person(
                male=False,
                dob=reg - wife_age,
                reg=reg,
                year=year,
                ethnicity=ethnicity if r() < 0.95 else "Kinh",
                year_only=old and r() < 0.4,
                residence=self.residence(p, year),
            )
        return husband, wife

    def marriage(self, p: _UnitProfile, reg: int, year: int) -> tuple[dict[str, Any], str, int]:
        """Details of a marriage entry."""
        foreign = self.names.country.pick(self.r()) if p.level != "commune" else None
        husband, wife = self.couple(p, reg, year, foreign=foreign)
        details: dict[str, Any] = {"husband": husband, "wife": wife}
        if self.r() < 0.02:
            details["marriage_status"] = "divorced"
        return details, "on_time", reg

    def marriage_recording(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a marriage registered abroad and recorded here."""
        r = self.r
        country = self.names.country.pick(r())
        husband, wife = self.couple(p, reg, year, foreign=country)
        issuers = _FOREIGN_AUTHORITIES.get(country)
        issued = reg - 30 - int(r() * 700)
        details = {
            "husband": husband,
            "wife": wife,
            "foreign_registration": {
                "document_kind": "Giấy chứng nhận kết hôn",
                "number": str(1 + int(r() * 900)),
                "issued_on": self.iso(issued),
                "issued_by": self.one(issuers) if issuers else f"Cơ quan hộ tịch {country}",
                "country": country,
            },
        }
        return details, "recorded_from_abroad", issued

    def marital_status(
        self, p: _UnitProfile, reg: int, year: int, *, for_marriage: bool
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a marital status certificate for marriage or another purpose."""
        r = self.r
        male = r() < 0.5
        dob = reg - self.age_days(18, 55)
        residence = self.residence(p, year)
        subject = self.person(
            male=male,
            dob=dob,
            reg=reg,
            year=year,
            ethnicity=self.names.ethnicity.pick(r()),
            residence=residence,
        )
        birth_year = int(self.iso(dob)[:4])
        details: dict[str, Any] = {
            "subject": subject,
            "purpose": "marriage" if for_marriage else "other",
            "purpose_text": self.one(_MARRIAGE_PURPOSES if for_marriage else _OTHER_PURPOSES),
            "marital_status": self.marital_values.pick(r()),
            "residence_place": residence,
            "residence_from": str(min(year, birth_year + 18 + int(r() * 10))),
            "residence_to": self.iso(reg)[:7],
        }
        if for_marriage and r() < 0.6:
            details["intended_spouse"] = {
                "full_name": self.names.full_name(not male, birth_year, "Kinh"),
                "date_of_birth": str(birth_year - 3 + int(r() * 7)),
            }
            details["intended_registration_place"] = self.ctx.authority_name(
                p.communes[int(r() * len(p.communes))] if p.communes else p.code, year
            )
        return details, "on_time", reg

    def original_registration(self, p: _UnitProfile, dob: int) -> dict[str, Any]:
        """A reference to the person's birth registration."""
        r = self.r
        birth_year = int(self.iso(dob)[:4])
        authority = p.communes[int(r() * len(p.communes))] if p.communes else p.code
        return {
            "record_type": "birth",
            "registering_authority_code": authority,
            "book_number": f"01/{birth_year}",
            "entry_number": str(1 + int(r() * 300)),
            "registration_date": self.iso(dob + 1 + int(r() * 59)),
        }

    def change_correction(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a change, correction or supplement of civil status."""
        r = self.r
        male = r() < 0.5
        dob = reg - self.age_days(1, 70)
        ethnicity = self.names.ethnicity.pick(r())
        subject = self.person(male=male, dob=dob, reg=reg, year=year, ethnicity=ethnicity)
        u = r()
        kind = "correction" if u < 0.55 else ("change" if u < 0.85 else "supplement")
        item = self.one(_CHANGE_ITEMS)
        if kind == "supplement":
            change: dict[str, Any] = {"item": "Quê quán", "after": self.origin(p, year)}
        elif item == "Họ, chữ đệm, tên":
            before = subject["full_name"]
            after = self.names.full_name(male, int(self.iso(dob)[:4]), ethnicity)
            if kind == "correction":
                before = typo(after, r(), r())
            subject["full_name"] = after
            change = {"item": item, "before": before, "after": after}
        elif item == "Ngày, tháng, năm sinh":
            change = {
                "item": item,
                "before": self.iso(dob - 1 - int(r() * 400)),
                "after": self.iso(dob),
            }
        elif item == "Dân tộc":
            change = {"item": item, "before": "Kinh", "after": ethnicity}
        else:
            before = self.origin(p, year)
            after = self.origin(p, year)
            if after == before:
                after = self.names.province.pick(r())
            change = {"item": item, "before": before, "after": after}
        issued = reg - int(r() * 30)
        details = {
            "subject": subject,
            "kind": kind,
            "original_registration": self.original_registration(p, dob),
            "changes": [change],
            "legal_basis": f"{self.one(_LEGAL_BASES)} ngày {self.vn_date(issued)}",
        }
        return details, "on_time", reg

    def ethnicity_redetermination(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a re-determination of ethnicity (to the other parent's)."""
        r = self.r
        male = r() < 0.5
        dob = reg - self.age_days(1, 30)
        minority = self.one(("Khmer", "Khơ Me", "Hoa", "Chăm"))
        to_minority = r() < 0.7
        subject = self.person(
            male=male,
            dob=dob,
            reg=reg,
            year=year,
            ethnicity=minority if to_minority else "Kinh",
        )
        details = {
            "subject": subject,
            "original_registration": self.original_registration(p, dob),
            "ethnicity_before": "Kinh" if to_minority else minority,
            "ethnicity_after": minority if to_minority else "Kinh",
            "legal_basis": self.one(("Theo dân tộc của mẹ", "Theo dân tộc của cha")),
        }
        return details, "on_time", reg

    def sex_redetermination(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a re-determination of sex after a medical finding."""
        r = self.r
        male_after = r() < 0.5
        dob = reg - self.age_days(5, 40)
        subject = self.person(
            male=male_after, dob=dob, reg=reg, year=year, ethnicity=self.names.ethnicity.pick(r())
        )
        details = {
            "subject": subject,
            "original_registration": self.original_registration(p, dob),
            "sex_before": "female" if male_after else "male",
            "sex_after": "male" if male_after else "female",
            "decision": self.decision(
                "Kết luận", "KL-BV", reg - 10 - int(r() * 300), self.one(_HOSPITALS_HCMC)
            ),
        }
        return details, "on_time", reg

    def adoption(self, p: _UnitProfile, reg: int, year: int) -> tuple[dict[str, Any], str, int]:
        """Details of an adoption: the child and the adoptive parents."""
        r = self.r
        dob = reg - self.age_days(0.2, 15)
        residence = self.residence(p, year)
        father_dob = reg - self.age_days(30, 55)
        father = self.person(
            male=True, dob=father_dob, reg=reg, year=year, ethnicity="Kinh", residence=residence
        )
        family: str | None = father["full_name"].split(" ", 1)[0]
        foreign = self.names.country.pick(r()) if p.level == "province" and r() < 0.7 else None
        if foreign is not None:
            # Adoption by foreigners was the Department's business.
            father = self.foreigner(foreign, True, father_dob)
            family = None
        details: dict[str, Any] = {
            "child": self.person(
                male=r() < 0.5, dob=dob, reg=reg, year=year, ethnicity="Kinh", family=family
            )
        }
        if r() < 0.85:
            details["adoptive_father"] = father
        if r() < 0.9 or "adoptive_father" not in details:
            mother_dob = reg - self.age_days(28, 52)
            details["adoptive_mother"] = (
                self.foreigner(foreign, False, mother_dob)
                if foreign is not None
                else self.person(
                    male=False,
                    dob=mother_dob,
                    reg=reg,
                    year=year,
                    ethnicity="Kinh",
                    residence=residence,
                )
            )
        if r() < 0.5:
            details["birth_mother"] = {
                "full_name": self.names.full_name(False, year - 25, "Kinh"),
                "date_of_birth": str(year - 18 - int(r() * 20)),
            }
        if r() < 0.2:
            details["care_institution"] = "Trung tâm Bảo trợ xã hội tỉnh Tây Ninh"
        details["decision"] = self.decision(
            "Quyết định", "QĐ-UBND", reg, self.ctx.authority_name(p.code, year)
        )
        return details, "on_time", reg

    def guardianship(self, p: _UnitProfile, reg: int, year: int) -> tuple[dict[str, Any], str, int]:
        """Details of a guardianship (or its termination)."""
        r = self.r
        minor = r() < 0.8
        dob = reg - (self.age_days(0.5, 17) if minor else self.age_days(18, 60))
        residence = self.residence(p, year)
        guardian = self.person(
            male=r() < 0.5,
            dob=reg - self.age_days(25, 70),
            reg=reg,
            year=year,
            ethnicity="Kinh",
            residence=residence,
        )
        ward = self.person(
            male=r() < 0.5,
            dob=dob,
            reg=reg,
            year=year,
            ethnicity="Kinh",
            family=guardian["full_name"].split(" ", 1)[0] if r() < 0.6 else None,
            residence=residence,
        )
        details = {
            "ward": ward,
            "guardian": guardian,
            "kind": "statutory" if r() < 0.6 else "appointed",
            "action": "establishment" if r() < 0.88 else "termination",
            "reason": self.one(_GUARDIANSHIP_REASONS[:3] if minor else _GUARDIANSHIP_REASONS[3:]),
        }
        return details, "on_time", reg

    def divorce_recording(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a divorce granted abroad and recorded here."""
        r = self.r
        country = self.names.country.pick(r())
        husband, wife = self.couple(p, reg - 365 * 3, year, foreign=country)
        issued = reg - 60 - int(r() * 700)
        effective = issued + 30 + int(r() * 20)
        details = {
            "husband": husband,
            "wife": wife,
            "foreign_judgment": {
                "document_kind": "Bản án" if r() < 0.7 else "Quyết định",
                "number": f"{1 + int(r() * 400)}/{self.iso(issued)[:4]}",
                "issued_on": self.iso(issued),
                "issued_by": f"Tòa án {country}",
                "country": country,
            },
            "effective_date": self.iso(effective) if r() < 0.6 else self.iso(effective)[:7],
        }
        return details, "recorded_from_abroad", issued

    def parentage_recognition(
        self, p: _UnitProfile, reg: int, year: int
    ) -> tuple[dict[str, Any], str, int]:
        """Details of a recognition of parentage (in no phase of the plan)."""
        r = self.r
        u = r()
        if u < 0.7:
            kind, parent_male = "father_recognises_child", True
        elif u < 0.9:
            kind, parent_male = "mother_recognises_child", False
        elif u < 0.97:
            kind, parent_male = "child_recognises_father", True
        else:
            kind, parent_male = "child_recognises_mother", False
        residence = self.residence(p, year)
        parent = self.person(
            male=parent_male,
            dob=reg - self.age_days(22, 60),
            reg=reg,
            year=year,
            ethnicity="Kinh",
            residence=residence,
        )
        child = self.person(
            male=r() < 0.5,
            dob=reg - self.age_days(0.1, 30),
            reg=reg,
            year=year,
            ethnicity="Kinh",
            family=parent["full_name"].split(" ", 1)[0] if parent_male else None,
        )
        return {"parent": parent, "child": child, "kind": kind}, "on_time", reg

    # -- noise ------------------------------------------------------------------------

    def noisy_name(self, details: dict[str, Any], record_type: str, noise: list[str]) -> None:
        """Apply the typo and diacritic draws to one subject's name."""
        r = self.r
        rates = self.rates
        draw_typo = r() < rates.typo
        draw_marks = r() < rates.diacritic_variant
        if not (draw_typo or draw_marks):
            return
        keys = _SUBJECT_KEYS[record_type]
        person = details[keys[int(r() * len(keys))] if len(keys) > 1 else keys[0]]
        name = person["full_name"]
        if draw_marks:
            name, _ = diacritic_variant(name, r(), r())
            noise.append("diacritic_variant")
        if draw_typo:
            name = typo(name, r(), r())
            noise.append("typo")
        person["full_name"] = name

    def partial_dates(self, details: dict[str, Any], record_type: str) -> bool:
        """Cut the subjects' dates to YYYY or YYYY-MM, as old registers give them."""
        r = self.r
        changed = False
        for key in _SUBJECT_KEYS[record_type]:
            person = details.get(key)
            if person is None:
                continue
            dob = person.get("date_of_birth")
            if isinstance(dob, str) and len(dob) == 10:
                person["date_of_birth"] = dob[:4] if r() < 0.6 else dob[:7]
                changed = True
        dod = details.get("date_of_death")
        if isinstance(dod, str) and len(dod) == 10 and r() < 0.5:
            details["date_of_death"] = dod[:7]
            changed = True
        return changed

    def variant_of(self, candidate: _Candidate, record_type: str) -> tuple[dict[str, Any], str]:
        """The details of a probable duplicate of an earlier entry, and the variant made."""
        r = self.r
        details = {k: (dict(v) if isinstance(v, dict) else v) for k, v in candidate.details.items()}
        keys = _SUBJECT_KEYS[record_type]
        person = details[keys[int(r() * len(keys))] if len(keys) > 1 else keys[0]]
        name = person["full_name"]
        u = r()
        if u < 0.35:
            name, _ = diacritic_variant(name, r(), r())
            how = "diacritic_variant"
        elif u < 0.6 and (shorter := drop_middle_name(name)) is not None:
            name, how = shorter, "middle_name_dropped"
        elif u < 0.85:
            name, how = typo(name, r(), r()), "typo"
        else:
            how = ""
        person["full_name"] = name
        return details, how

    def pick_candidate(self, record_type: str, reg: int, unit: str) -> _Candidate | None:
        """An earlier clean entry of the type registered before ``reg``, if one fits.

        Only entries a registered-again copy of could be told from a namesake's entry
        (:func:`_identifiable`): the truth labels the copy ``duplicate_suspected``, so
        the pair must be one dedup's documented rules flag.
        """
        r = self.r
        recent = self.recent[record_type]
        reservoir = self.reservoir[record_type]
        for _ in range(8):
            source: Any = reservoir if (r() < 0.5 and reservoir) else recent
            if not source:
                continue
            candidate: _Candidate = source[int(r() * len(source))]
            if (
                candidate.event_ordinal <= reg
                and candidate.registration_ordinal <= reg
                and _identifiable(candidate.details, record_type)
            ):
                return candidate
        return None

    def remember(self, candidate: _Candidate, record_type: str) -> None:
        """Keep a bounded sample of clean entries for later probable duplicates."""
        r = self.r
        if r() < 0.3:
            self.recent[record_type].append(candidate)
        seen = self.seen[record_type] + 1
        self.seen[record_type] = seen
        reservoir = self.reservoir[record_type]
        if len(reservoir) < 512:
            reservoir.append(candidate)
        else:
            slot = int(r() * seen)
            if slot < 512:
                reservoir[slot] = candidate

    def malform(self, record: dict[str, Any]) -> None:
        """Break the record so the contract refuses it (422 at intake)."""
        u = self.r()
        if u < 0.3:
            year, month, day = record["registration_date"].split("-")
            record["registration_date"] = f"{day}/{month}/{year}"
        elif u < 0.55:
            record["page"] = f"{record.get('page') or 1}a"
        elif u < 0.8:
            person = record["details"][_SUBJECT_KEYS[record["record_type"]][0]]
            person["sex"] = "nam" if person.get("sex") != "female" else "nữ"
        else:
            person = record["details"][_SUBJECT_KEYS[record["record_type"]][0]]
            person["date_of_birth"] = "1985-02-30"

    # -- streaming ----------------------------------------------------------------------

    def next_id(self) -> str:
        """The next synthetic id, in stream order."""
        self.seq += 1
        return f"{self.id_prefix}{self.seq:08d}"

    def items(self) -> Iterator[Item]:
        """Yield every item of the run."""
        ctx = self.ctx
        builders: dict[str, Callable[[_UnitProfile, int, int], tuple[dict[str, Any], str, int]]] = {
            "birth": self.birth,
            "death": self.death,
            "marriage": self.marriage,
            "marriage_recording": self.marriage_recording,
            "change_correction": self.change_correction,
            "ethnicity_redetermination": self.ethnicity_redetermination,
            "sex_redetermination": self.sex_redetermination,
            "adoption": self.adoption,
            "guardianship": self.guardianship,
            "divorce_recording": self.divorce_recording,
            "parentage_recognition": self.parentage_recognition,
        }
        r = self.r
        rates = self.rates
        oracle = ctx.oracle
        group_of = ctx.group_of
        windows = ctx.windows
        iso = self.iso
        old_until = self.old_until
        p_malformed = rates.malformed
        p_wrong = p_malformed + rates.wrong_entering_unit
        q_ne = self.q_not_enterable
        q_dr = q_ne + self.q_damaged_readable
        pending: deque[tuple[dict[str, Any], Truth]] = deque()
        for book, labels in _books_with_labels(ctx):
            profile = ctx.profiles[book.unit_code]
            record_type = book.record_type
            year = book.year
            level_key = "province" if book.level == "province" else "local"
            build = builders.get(record_type)
            in_phase, _ = oracle.decide(
                record_type,
                date(year, 1, 1).toordinal(),
                year,
                book.unit_code,
                profile.group,
                "manual",
                "marriage",
            )
            # Registration days of the book's entries, in entry order.
            first_day = date(year, 1, 1).toordinal()
            span = date(year, 12, 31).toordinal() - first_day + 1
            days = sorted(first_day + int(r() * span) for _ in labels)
            number_style = r()
            authority_code = book.unit_code if book.authority_known else None
            authority_name = (
                ctx.authority_name(book.unit_code, year)
                if book.authority_known
                else self.one(
                    (
                        "Ủy ban nhân dân cách mạng xã (bìa sổ rách)",
                        "Không rõ (sổ mất bìa)",
                        "UBND xã (không đọc được tên)",
                    )
                )
            )
            signer = self.signer(book, profile)
            old = year <= old_until
            for offset, category in enumerate(labels):
                reg = days[offset]
                entry_no = book.first_entry + offset
                noise: list[str] = []
                migration = category == _MIGRATION
                source = "migration" if migration else "manual"
                # Entry-level rejections, one at most, only for in-scope manual entries.
                kind = ""
                if category == _IN:
                    u = r()
                    if u < p_malformed:
                        kind = "malformed"
                    elif u < p_wrong:
                        kind = "wrong_entering_unit"
                    elif book.condition == "damaged":
                        v = r()
                        if v < q_ne:
                            kind = "not_enterable"
                        elif v < q_dr:
                            kind = "damaged_readable"
                elif category == _OUT_TYPE:
                    noise.append("out_of_scope_type")
                elif category == _OUT_DATE:
                    noise.append("out_of_scope_date")
                # Simulated day of entry, inside the window the entry belongs to.
                window_key: int | str | None = (
                    "migration" if migration else (in_phase if category == _IN else None)
                )
                start, end = windows.get(window_key) or windows[None]
                start = max(start, reg + 1)
                entered = start + int(r() * (end - start + 1)) if end > start else max(end, start)
                holder = profile.code
                if profile.last_valid_ordinal is not None and entered > profile.last_valid_ordinal:
                    holder = profile.successor or profile.code
                if kind == "wrong_entering_unit" and (
                    holder != profile.code or authority_code is None
                ):
                    # The rule cannot be broken this way for a defunct or unknown
                    # authority (principle 2); leave the entry clean instead.
                    kind = ""
                purpose = None
                candidate = None
                variant = ""
                if record_type == "marital_status":
                    for_marriage = not (
                        kind == ""
                        and category in (_IN, _MIGRATION)
                        and r() < rates.marital_status_other
                    )
                    purpose = "marriage" if for_marriage else "other"
                    if not for_marriage:
                        noise.append("marital_status_other")
                    details, reg_kind, event = self.marital_status(
                        profile, reg, year, for_marriage=for_marriage
                    )
                else:
                    if (
                        category == _IN
                        and kind == ""
                        and record_type in _DUPLICABLE_TYPES
                        and r() < rates.duplicate_probable
                    ):
                        candidate = self.pick_candidate(record_type, reg, profile.code)
                    if candidate is not None:
                        details, variant = self.variant_of(candidate, record_type)
                        reg_kind = "re_registration" if r() < 0.7 else "late"
                        event = candidate.event_ordinal
                        noise.append("duplicate_probable")
                        if variant:
                            noise.append(variant)
                    else:
                        assert build is not None
                        details, reg_kind, event = build(profile, reg, year)
                if candidate is None:
                    self.noisy_name(details, record_type, noise)
                    if (
                        old
                        and not migration
                        and r() < rates.partial_date
                        and self.partial_dates(details, record_type)
                    ):
                        noise.append("partial_date")
                if book.authority_known is False:
                    noise.append("unknown_authority")
                # The record, as keyed.
                if number_style < 0.75:
                    entry_text = str(entry_no)
                elif number_style < 0.85:
                    entry_text = f"{entry_no:03d}"
                else:
                    entry_text = f"{entry_no}/{year}"
                storing = holder
                clerk = holder
                if kind == "wrong_entering_unit":
                    clerk = profile.wrong_clerk
                    if profile.level == "commune":
                        # The district keys its copy of the commune's register.
                        storing = clerk
                    noise.append("wrong_entering_unit")
                page = (entry_no - 1) // 2 + 1
                record: dict[str, Any] = {
                    "record_type": record_type,
                    "registering_authority_code": authority_code,
                    "registering_authority_name": authority_name,
                    "storing_unit_code": storing,
                    "book_number": book.book_number,
                    "entry_number": entry_text,
                    "page": page,
                    "registration_date": iso(reg),
                    "registration_kind": reg_kind,
                    "source": source,
                }
                if signer is not None:
                    record["signer_name"], record["signer_title"] = signer
                if not migration:
                    record["page_image"] = (
                        f"so-ho-tich/{book.unit_code}/{record_type}/{year}/"
                        f"{book.sequence:02d}/trang-{page:04d}.jpg"
                    )
                else:
                    del record["page"]
                record["details"] = details
                if kind == "not_enterable" or kind == "damaged_readable":
                    self.unreadable(record, record_type, mandatory=kind == "not_enterable")
                    noise.append(kind)
                # Ground truth.
                reasons: list[str]
                phase: int | str | None
                if kind == "malformed":
                    self.malform(record)
                    noise.append("malformed")
                    phase, reasons = None, [ReasonCode.MALFORMED.value]
                else:
                    phase, codes = oracle.decide(
                        record_type, reg, year, clerk, group_of[clerk], source, purpose
                    )
                    reasons = list(codes)
                    if kind == "wrong_entering_unit":
                        reasons.append(ReasonCode.WRONG_ENTERING_UNIT.value)
                    elif kind == "not_enterable":
                        reasons.append(ReasonCode.NOT_ENTERABLE.value)
                truth: Truth = {
                    "id": self.next_id(),
                    "record_type": record_type,
                    "source": source,
                    "level": book.level,
                    "book_id": book.book_id,
                    "entering_unit_code": clerk,
                    "entered_on": iso(entered),
                    "outcome": "rejected" if reasons else "valid",
                    "reasons": reasons,
                    "final_status": "rejected"
                    if reasons
                    else ("duplicate_suspected" if candidate is not None else "accepted"),
                    "phase": phase,
                    "duplicate_of": candidate.truth_id if candidate is not None else None,
                    "duplicate_kind": "probable" if candidate is not None else None,
                    "noise": noise,
                    "malformed": kind == "malformed",
                }
                yield {"record": record, "truth": truth}
                if (
                    category == _IN
                    and not reasons
                    and candidate is None
                    and record_type in _DUPLICABLE_TYPES
                ):
                    self.remember(
                        _Candidate(
                            truth_id=truth["id"],
                            unit_code=profile.code,
                            event_ordinal=event,
                            registration_ordinal=reg,
                            details={
                                k: (dict(v) if isinstance(v, dict) else v)
                                for k, v in details.items()
                            },
                        ),
                        record_type,
                    )
                # Exact duplicates: selection sampling over the level's entries.
                left = self.dup_left[level_key]
                if left and r() * self.slots_left[level_key] < left:
                    self.dup_left[level_key] = left - 1
                    pending.append((copy.deepcopy(record), copy.deepcopy(truth)))
                self.slots_left[level_key] -= 1
                if pending and r() < 0.35:
                    yield self.exact_duplicate(*pending.popleft())
            while pending:
                yield self.exact_duplicate(*pending.popleft())

    def signer(self, book: Book, profile: _UnitProfile) -> tuple[str, str] | None:
        """Who signed the book's entries: one official per book, often missing in old ones."""
        r = self.r
        if book.year < 1990 and r() < 0.5:
            return None
        name = self.names.full_name(r() < 0.8, book.year - 45, "Kinh")
        if profile.level == "province":
            title = "Giám đốc Sở Tư pháp" if r() < 0.5 else "Phó Giám đốc Sở Tư pháp"
        elif profile.level == "district":
            title = "Phó Chủ tịch UBND huyện" if r() < 0.6 else "Chủ tịch UBND huyện"
        else:
            title = "Chủ tịch UBND" if r() < 0.5 else "Phó Chủ tịch UBND"
        return name, title

    def unreadable(self, record: dict[str, Any], record_type: str, *, mandatory: bool) -> None:
        """Mark a field unreadable (torn page): a mandatory one, or an optional one."""
        paths = (
            _MANDATORY_PATHS[record_type]
            if mandatory
            else _OPTIONAL_PATHS.get(record_type, _DEFAULT_OPTIONAL_PATHS)
        )
        path = paths[int(self.r() * len(paths))]
        parts = path.split(".")
        target: Any = record
        for part in parts[:-1]:
            target = target.get(part) if isinstance(target, dict) else None
        last = parts[-1]
        if isinstance(target, dict):
            if last == "full_name":
                target[last] = ""
            else:
                target.pop(last, None)
        record["unreadable_fields"] = [path]
        record["register_condition"] = "damaged"

    def exact_duplicate(self, record: dict[str, Any], original: Truth) -> Item:
        """The same entry keyed again: same coordinates, perhaps another slip in a name."""
        r = self.r
        noise = ["duplicate_exact"]
        if r() < 0.2:
            entry = record["entry_number"]
            if entry.isdigit() and len(entry) < 4:
                # natural_key drops leading zeros: still the same line of the register.
                record["entry_number"] = f"0{entry}"
        if not original["malformed"] and r() < 0.3:
            details = record["details"]
            key = _SUBJECT_KEYS[record["record_type"]][0]
            person = details.get(key)
            if isinstance(person, dict) and person.get("full_name"):
                person["full_name"] = typo(person["full_name"], r(), r())
                noise.append("typo")
        reasons = list(original["reasons"]) or [ReasonCode.DUPLICATE_EXACT.value]
        truth: Truth = {
            "id": self.next_id(),
            "record_type": original["record_type"],
            "source": original["source"],
            "level": original["level"],
            "book_id": original["book_id"],
            "entering_unit_code": original["entering_unit_code"],
            "entered_on": original["entered_on"],
            "outcome": "rejected",
            "reasons": reasons,
            "final_status": "rejected",
            "phase": original["phase"],
            "duplicate_of": original["id"],
            "duplicate_kind": "exact",
            "noise": noise,
            "malformed": original["malformed"],
        }
        return {"record": record, "truth": truth}


def generate(
    config: GenerationConfig | None = None,
    *,
    plan: Plan | None = None,
    registry: UnitRegistry | None = None,
) -> Iterator[Item]:
    """Stream synthetic register entries with their ground truth.

    Exactly ``config.total`` items are yielded, ``config.province_level`` of them from
    the Department of Justice's books (when the province and other units are both
    selected). The same config yields the same items in the same order.

    Args:
        config: what to generate (defaults: the plan's counts, seed 2547).
        plan: the plan (default: ``config.plan`` or the packaged Tây Ninh plan).
        registry: the unit registry (default: the packaged one).

    Yields:
        ``{"record": ..., "truth": ...}``: see :class:`~hotich_local.synth.model.Item`.

    Raises:
        ValueError: a unit of ``config.units`` is not in the province, or the selection
            has no register to generate from.
    """
    ctx = _context(config or GenerationConfig(), plan, registry)
    yield from _Factory(ctx).items()
