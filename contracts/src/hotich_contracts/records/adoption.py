"""Adoption (nuôi con nuôi)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import (
    DetailsBase,
    DocumentReference,
    OptionalText,
    Person,
    RecordBase,
    RecordType,
)

__all__ = ["AdoptionDetails", "AdoptionRecord"]


class AdoptionDetails(DetailsBase):
    """The adopted child, the adoptive parents and the birth parents."""

    child: Person = Field(description="The adopted child (con nuôi).")
    adoptive_father: Person | None = Field(
        default=None, description="The adoptive father (cha nuôi)."
    )
    adoptive_mother: Person | None = Field(
        default=None, description="The adoptive mother (mẹ nuôi)."
    )
    birth_father: Person | None = Field(default=None, description="The birth father (cha đẻ).")
    birth_mother: Person | None = Field(default=None, description="The birth mother (mẹ đẻ).")
    care_institution: OptionalText = Field(
        default=None,
        description="Institution that cared for the child, if any (cơ sở nuôi dưỡng).",
    )
    decision: DocumentReference | None = Field(
        default=None, description="The decision recognising the adoption (quyết định)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the child, then the adoptive parents named."""
        adopters = (p for p in (self.adoptive_father, self.adoptive_mother) if p is not None)
        return (self.child, *adopters)


class AdoptionRecord(RecordBase):
    """An entry of the adoption register (sổ đăng ký nuôi con nuôi)."""

    record_type: Literal[RecordType.ADOPTION] = Field(description="Always adoption.")
    details: AdoptionDetails = Field(description="The child and the adoptive parents.")
