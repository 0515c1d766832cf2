"""Administrative units (đơn vị hành chính) and their history, loaded from data.

The unit tree is reference data, not code: ``data/units_tay_ninh.csv`` lists Tây Ninh
province (code 72), its district-level units and communes with their official GSO
codes, as they were in 2019 and as they changed afterwards (see ``data/README.md``).

A unit *code* can have several *versions* over time: when thị trấn Hòa Thành became
phường Long Hoa on 2020-02-01 it kept code 25630, so the file holds two rows for
25630 with consecutive validity periods. Registers name the unit as it was when the
event was registered, so lookups can ask for the version valid on a date; without a
date they get the latest version.

Nothing is read at import time: :func:`default_registry` loads the packaged file on
first use and caches it.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterable, Iterator
from datetime import date
from enum import StrEnum
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from os import PathLike
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "DEFAULT_UNITS_RESOURCE",
    "Unit",
    "UnitKind",
    "UnitLevel",
    "UnitRegistry",
    "UnknownUnitError",
    "default_registry",
]

DEFAULT_UNITS_RESOURCE: Final = "units_tay_ninh.csv"
"""File name of the packaged unit table, inside ``hotich_contracts/data``."""

_CSV_COLUMNS: Final = (
    "code",
    "name",
    "level",
    "kind",
    "parent_code",
    "valid_from",
    "valid_to",
    "successor_codes",
    "note",
)


class UnitLevel(StrEnum):
    """Tier of the administrative hierarchy (cấp)."""

    PROVINCE = "province"
    """Cấp tỉnh: province or centrally-run city."""
    DISTRICT = "district"
    """Cấp huyện: district, district-level town or city (abolished on 2025-07-01)."""
    COMMUNE = "commune"
    """Cấp xã: commune, ward or township."""

    @property
    def rank(self) -> int:
        """0 for the province, 1 for a district, 2 for a commune (deeper = larger)."""
        return _LEVEL_RANK[self]


_LEVEL_RANK: Final[dict[UnitLevel, int]] = {
    UnitLevel.PROVINCE: 0,
    UnitLevel.DISTRICT: 1,
    UnitLevel.COMMUNE: 2,
}


class UnitKind(StrEnum):
    """Kind of unit within its level, as a machine value."""

    TINH = "tinh"
    """Tỉnh: province."""
    THANH_PHO = "thanh_pho"
    """Thành phố: city (province-level or district-level; the level tells which)."""
    HUYEN = "huyen"
    """Huyện: rural district."""
    THI_XA = "thi_xa"
    """Thị xã: district-level town."""
    QUAN = "quan"
    """Quận: urban district."""
    XA = "xa"
    """Xã: rural commune."""
    PHUONG = "phuong"
    """Phường: ward."""
    THI_TRAN = "thi_tran"
    """Thị trấn: township."""


_KINDS_BY_LEVEL: Final[dict[UnitLevel, frozenset[UnitKind]]] = {
    UnitLevel.PROVINCE: frozenset({UnitKind.TINH, UnitKind.THANH_PHO}),
    UnitLevel.DISTRICT: frozenset(
        {UnitKind.THANH_PHO, UnitKind.HUYEN, UnitKind.THI_XA, UnitKind.QUAN}
    ),
    UnitLevel.COMMUNE: frozenset({UnitKind.XA, UnitKind.PHUONG, UnitKind.THI_TRAN}),
}


class UnknownUnitError(KeyError):
    """A unit code is not in the registry (or has no version valid on the date asked)."""

    def __init__(self, code: str, on: date | None = None) -> None:
        self.code = code
        self.on = on
        when = f" on {on.isoformat()}" if on is not None else ""
        super().__init__(f"unknown administrative unit {code!r}{when}")


class Unit(BaseModel):
    """One version of an administrative unit (đơn vị hành chính), as valid for a period."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(
        pattern=r"^[0-9]{2,5}$",
        description="Official GSO code: 2 digits province, 3 district, 5 commune.",
    )
    name: str = Field(
        min_length=1,
        description="Official Vietnamese name with its prefix (NFC), e.g. 'Xã Tân Bình'.",
    )
    level: UnitLevel = Field(description="province, district or commune.")
    kind: UnitKind = Field(description="Kind within the level (xã, phường, thị trấn, ...).")
    parent_code: str | None = Field(
        default=None, description="Code of the unit directly above; null for a province."
    )
    valid_from: date | None = Field(
        default=None,
        description="First day of this version; null = since before the programme (2019).",
    )
    valid_to: date | None = Field(
        default=None, description="Last day of this version (inclusive); null = still valid."
    )
    successor_codes: tuple[str, ...] = Field(
        default=(),
        description="Units that took over when this one ended by split or merger.",
    )
    note: str = Field(default="", description="Source remarks: older names, changes, caveats.")

    @field_validator("name", "note")
    @classmethod
    def _nfc(cls, value: str) -> str:
        # Names are compared and displayed; one Unicode form avoids look-alike mismatches.
        return unicodedata.normalize("NFC", value.strip())

    @model_validator(mode="after")
    def _consistent(self) -> Unit:
        if self.kind not in _KINDS_BY_LEVEL[self.level]:
            raise ValueError(f"unit {self.code}: kind {self.kind} is not a {self.level} kind")
        if (self.level is UnitLevel.PROVINCE) != (self.parent_code is None):
            raise ValueError(f"unit {self.code}: exactly the provinces have no parent")
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"unit {self.code}: valid_to is before valid_from")
        return self

    def valid_on(self, day: date) -> bool:
        """Whether this version existed on ``day`` (both ends inclusive)."""
        return (self.valid_from is None or self.valid_from <= day) and (
            self.valid_to is None or day <= self.valid_to
        )


def _parse_row(row: dict[str, str], line: int) -> Unit:
    def opt(key: str) -> str | None:
        value = (row.get(key) or "").strip()
        return value or None

    successors = tuple(
        s.strip() for s in (row.get("successor_codes") or "").split(";") if s.strip()
    )
    try:
        return Unit.model_validate(
            {
                "code": (row.get("code") or "").strip(),
                "name": row.get("name") or "",
                "level": opt("level"),
                "kind": opt("kind"),
                "parent_code": opt("parent_code"),
                "valid_from": opt("valid_from"),
                "valid_to": opt("valid_to"),
                "successor_codes": successors,
                "note": row.get("note") or "",
            }
        )
    except ValueError as exc:
        raise ValueError(f"units file line {line}: {exc}") from exc


class UnitRegistry:
    """The administrative unit tree with its history; immutable once built.

    Hierarchy queries (``parent``, ``children``, ...) follow the latest version of
    each unit unless a date is given with ``on``. Unknown codes give ``None`` or an
    empty tuple rather than an error, so that callers walking trees need no guards;
    :meth:`require` raises :class:`UnknownUnitError` for callers that want one.
    """

    def __init__(self, units: Iterable[Unit]) -> None:
        """Build a registry from unit versions, checking that they form one history.

        Raises:
            ValueError: overlapping versions of a code, a parent or successor that is
                not in the registry, or a parent that is not at a higher level.
        """
        versions: dict[str, list[Unit]] = {}
        for unit in units:
            versions.setdefault(unit.code, []).append(unit)
        self._versions: dict[str, tuple[Unit, ...]] = {
            code: tuple(sorted(vs, key=lambda u: u.valid_from or date.min))
            for code, vs in versions.items()
        }
        self._check()
        self._latest: dict[str, Unit] = {code: vs[-1] for code, vs in self._versions.items()}
        children: dict[str, list[Unit]] = {}
        for unit in self._latest.values():
            if unit.parent_code is not None:
                children.setdefault(unit.parent_code, []).append(unit)
        self._children: dict[str, tuple[Unit, ...]] = {
            code: tuple(sorted(units_, key=lambda u: u.code)) for code, units_ in children.items()
        }

    def _check(self) -> None:
        for code, vs in self._versions.items():
            for earlier, later in zip(vs, vs[1:], strict=False):
                if earlier.valid_to is None or (
                    later.valid_from is not None and later.valid_from <= earlier.valid_to
                ):
                    raise ValueError(f"unit {code}: versions overlap in time")
            for unit in vs:
                if unit.parent_code is not None:
                    parents = self._versions.get(unit.parent_code)
                    if parents is None:
                        raise ValueError(f"unit {code}: parent {unit.parent_code} is unknown")
                    # Not "exactly one level up": from 2025 communes sit directly under
                    # the province.
                    if any(p.level.rank >= unit.level.rank for p in parents):
                        raise ValueError(f"unit {code}: parent {unit.parent_code} is not above it")
                for successor in unit.successor_codes:
                    if successor not in self._versions:
                        raise ValueError(f"unit {code}: successor {successor} is unknown")

    # -- construction -------------------------------------------------------------

    @classmethod
    def from_csv(cls, source: str | PathLike[str] | Traversable) -> UnitRegistry:
        """Read a unit table in the ``units_tay_ninh.csv`` format (UTF-8, header row).

        Args:
            source: a file system path or an ``importlib.resources`` traversable.

        Raises:
            ValueError: a malformed row or an inconsistent history.
        """
        if isinstance(source, str | PathLike):
            text = Path(source).read_text(encoding="utf-8-sig")
        else:
            text = source.read_text(encoding="utf-8-sig")
        return cls.from_csv_text(text)

    @classmethod
    def from_csv_text(cls, text: str) -> UnitRegistry:
        """Parse the content of a unit table (see :meth:`from_csv`)."""
        reader = csv.DictReader(io.StringIO(text))
        missing = set(_CSV_COLUMNS) - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"units file lacks columns: {sorted(missing)}")
        # Line numbers count the header as line 1, as an editor shows them.
        return cls(_parse_row(row, line) for line, row in enumerate(reader, start=2))

    @classmethod
    def load_default(cls) -> UnitRegistry:
        """Load the packaged Tây Ninh table (not cached: see :func:`default_registry`)."""
        return cls.from_csv(resources.files("hotich_contracts") / "data" / DEFAULT_UNITS_RESOURCE)

    # -- lookups ------------------------------------------------------------------

    def __contains__(self, code: object) -> bool:
        return code in self._versions

    def __len__(self) -> int:
        return len(self._versions)

    def __iter__(self) -> Iterator[Unit]:
        return iter(self.all())

    def get(self, code: str, on: date | None = None) -> Unit | None:
        """The unit with this code: its version valid ``on`` that day, else the latest.

        Returns:
            None if the code is unknown, or if ``on`` is given and no version was
            valid that day.
        """
        if on is None:
            return self._latest.get(code)
        return next((u for u in self._versions.get(code, ()) if u.valid_on(on)), None)

    def require(self, code: str, on: date | None = None) -> Unit:
        """Like :meth:`get` but raising :class:`UnknownUnitError` instead of returning None."""
        unit = self.get(code, on)
        if unit is None:
            raise UnknownUnitError(code, on)
        return unit

    def versions(self, code: str) -> tuple[Unit, ...]:
        """Every version of a code, oldest first; empty if unknown."""
        return self._versions.get(code, ())

    def valid_on(self, code: str, day: date) -> bool:
        """Whether some version of the unit existed on ``day``."""
        return self.get(code, day) is not None

    def all(self, on: date | None = None) -> tuple[Unit, ...]:
        """One version per code (latest, or the one valid ``on`` that day), top-down by code."""
        if on is None:
            units: Iterable[Unit] = self._latest.values()
        else:
            units = (u for vs in self._versions.values() for u in vs if u.valid_on(on))
        return tuple(sorted(units, key=lambda u: (u.level.rank, u.code)))

    # -- hierarchy ----------------------------------------------------------------

    def parent(self, code: str, on: date | None = None) -> Unit | None:
        """The unit directly above; None for a province or an unknown code."""
        unit = self.get(code, on)
        if unit is None or unit.parent_code is None:
            return None
        # A parent outlives its children in this data; fall back to its latest version
        # if it has none valid that day rather than losing the link.
        return self.get(unit.parent_code, on) or self.get(unit.parent_code)

    def ancestors(self, code: str, on: date | None = None) -> tuple[Unit, ...]:
        """Units above ``code``, nearest first (commune -> district -> province)."""
        chain: list[Unit] = []
        current = self.parent(code, on)
        while current is not None:
            chain.append(current)
            current = self.parent(current.code, on)
        return tuple(chain)

    def district_of(self, code: str, on: date | None = None) -> Unit | None:
        """The district-level unit of a commune, the unit itself for a district.

        Returns:
            None for a province, an unknown code, or a commune directly under a
            province (the two-level structure from 2025-07-01).
        """
        unit = self.get(code, on)
        if unit is None:
            return None
        if unit.level is UnitLevel.DISTRICT:
            return unit
        return next((a for a in self.ancestors(code, on) if a.level is UnitLevel.DISTRICT), None)

    def province_of(self, code: str, on: date | None = None) -> Unit | None:
        """The province of a unit, the unit itself for a province; None if unknown."""
        unit = self.get(code, on)
        if unit is None:
            return None
        if unit.level is UnitLevel.PROVINCE:
            return unit
        return next((a for a in self.ancestors(code, on) if a.level is UnitLevel.PROVINCE), None)

    def children(self, code: str, on: date | None = None) -> tuple[Unit, ...]:
        """Units directly below ``code``, by code; with ``on``, only those valid that day."""
        if on is None:
            return self._children.get(code, ())
        below = (self.get(u.code, on) for u in self._children.get(code, ()))
        return tuple(u for u in below if u is not None and u.parent_code == code)

    def descendants(self, code: str, on: date | None = None) -> tuple[Unit, ...]:
        """Every unit below ``code``, depth first (a district, then its communes)."""
        found: list[Unit] = []
        for child in self.children(code, on):
            found.append(child)
            found.extend(self.descendants(child.code, on))
        return tuple(found)

    def is_within(self, code: str, scope_code: str, on: date | None = None) -> bool:
        """Whether ``code`` is ``scope_code`` or lies below it (for scoping reads)."""
        if code == scope_code:
            return True
        return any(a.code == scope_code for a in self.ancestors(code, on))

    def successors_on(self, code: str, day: date) -> tuple[Unit, ...]:
        """Units that carry on a unit on ``day``: itself if still valid, else its successors.

        Successor chains are followed until units valid on ``day`` are found, which is
        how principle 2 finds who now holds a defunct unit's registers.
        """
        seen: set[str] = set()
        found: dict[str, Unit] = {}
        pending = [code]
        while pending:
            current = pending.pop()
            if current in seen:
                continue
            seen.add(current)
            unit = self.get(current, day)
            if unit is not None:
                found[unit.code] = unit
                continue
            for version in self.versions(current):
                if version.valid_to is not None and version.valid_to < day:
                    pending.extend(version.successor_codes)
        return tuple(sorted(found.values(), key=lambda u: u.code))

    def path_name(self, code: str, on: date | None = None) -> str:
        """Name with its ancestors, for messages: 'Xã Tân Bình, Huyện Tân Biên, Tỉnh Tây Ninh'.

        Two communes may share a name (there are two 'Xã Tân Bình'), so messages to
        clerks name the district too. Unknown codes give the code itself.
        """
        unit = self.get(code, on)
        if unit is None:
            return code
        return ", ".join(u.name for u in (unit, *self.ancestors(code, on)))


@cache
def default_registry() -> UnitRegistry:
    """The packaged Tây Ninh unit registry, loaded once on first use."""
    return UnitRegistry.load_default()
