"""Re-determination of sex (xác định lại giới tính)."""

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
    RegistrationReference,
    Sex,
)

__all__ = ["SexRedeterminationDetails", "SexRedeterminationRecord"]


class SexRedeterminationDetails(DetailsBase):
    """The person, the sex before and after, and the judgment or decision."""

    subject: Person = Field(description="The person concerned (người được xác định lại).")
    original_registration: RegistrationReference | None = Field(
        default=None, description="The registration that recorded the former sex."
    )
    sex_before: Sex | None = Field(
        default=None, description="Sex before (giới tính trước khi xác định lại)."
    )
    sex_after: Sex | None = Field(
        default=None, description="Sex after (giới tính sau khi xác định lại)."
    )
    decision: DocumentReference | None = Field(
        default=None, description="The judgment or decision noted (bản án, quyết định)."
    )
    legal_basis: OptionalText = Field(
        default=None, description="Grounds or papers relied on (căn cứ)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the person concerned."""
        return (self.subject,)


class SexRedeterminationRecord(RecordBase):
    """An entry of sex re-determination."""

    record_type: Literal[RecordType.SEX_REDETERMINATION] = Field(
        description="Always sex_redetermination."
    )
    details: SexRedeterminationDetails = Field(
        description="The person and the sex before and after."
    )
