"""Birth registration (khai sinh)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import (
    DetailsBase,
    OptionalText,
    OptionalUnitCode,
    Person,
    RecordBase,
    RecordType,
)

__all__ = ["BirthDetails", "BirthKind", "BirthRecord"]


class BirthKind(StrEnum):
    """Which parents are known (loại khai sinh)."""

    BOTH_PARENTS_KNOWN = "both_parents_known"
    MOTHER_UNKNOWN = "mother_unknown"
    FATHER_UNKNOWN = "father_unknown"
    NEITHER_PARENT_KNOWN = "neither_parent_known"
    ABANDONED_CHILD = "abandoned_child"
    """Trẻ bị bỏ rơi."""


class BirthDetails(DetailsBase):
    """What a birth entry registers: the child and the parents."""

    child: Person = Field(description="The registered child (người được khai sinh).")
    date_of_birth_in_words: OptionalText = Field(
        default=None, description="Date of birth written in words (ngày sinh bằng chữ)."
    )
    place_of_birth: OptionalText = Field(
        default=None, description="Place of birth (nơi sinh) as written."
    )
    place_of_birth_unit_code: OptionalUnitCode = Field(
        default=None, description="GSO code of the unit of the place of birth (nơi sinh ĐVHC)."
    )
    birth_kind: BirthKind | None = Field(
        default=None, description="Which parents are known (loại khai sinh)."
    )
    mother: Person | None = Field(default=None, description="The mother (mẹ).")
    father: Person | None = Field(default=None, description="The father (cha).")

    def subjects(self) -> tuple[Person, ...]:
        """Return the child."""
        return (self.child,)


class BirthRecord(RecordBase):
    """An entry of a birth register (sổ đăng ký khai sinh)."""

    record_type: Literal[RecordType.BIRTH] = Field(description="Always birth.")
    details: BirthDetails = Field(description="The child and the parents.")
