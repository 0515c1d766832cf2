"""Re-determination of ethnicity (xác định lại dân tộc)."""

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
)

__all__ = ["EthnicityRedeterminationDetails", "EthnicityRedeterminationRecord"]


class EthnicityRedeterminationDetails(DetailsBase):
    """The person, the ethnicity before and after, and the grounds."""

    subject: Person = Field(description="The person concerned (người được xác định lại).")
    original_registration: RegistrationReference | None = Field(
        default=None, description="The registration that recorded the former ethnicity."
    )
    ethnicity_before: OptionalText = Field(
        default=None, description="Ethnicity before (dân tộc trước khi xác định lại)."
    )
    ethnicity_after: OptionalText = Field(
        default=None, description="Ethnicity after (dân tộc sau khi xác định lại)."
    )
    decision: DocumentReference | None = Field(
        default=None, description="The decision relied on (quyết định), if any."
    )
    legal_basis: OptionalText = Field(
        default=None, description="Grounds or papers relied on (căn cứ)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the person concerned."""
        return (self.subject,)


class EthnicityRedeterminationRecord(RecordBase):
    """An entry of ethnicity re-determination."""

    record_type: Literal[RecordType.ETHNICITY_REDETERMINATION] = Field(
        description="Always ethnicity_redetermination."
    )
    details: EthnicityRedeterminationDetails = Field(
        description="The person and the ethnicity before and after."
    )
