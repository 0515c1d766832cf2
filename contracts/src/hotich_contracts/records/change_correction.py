"""Change, correction or supplement of civil status information (thay đổi, cải chính, bổ sung)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import (
    ContractModel,
    DetailsBase,
    OptionalText,
    Person,
    RecordBase,
    RecordType,
    RegistrationReference,
    Text,
)

__all__ = ["ChangeCorrectionDetails", "ChangeCorrectionRecord", "ChangeKind", "ChangedItem"]


class ChangeKind(StrEnum):
    """What was done to the civil status information."""

    CHANGE = "change"
    """Thay đổi (e.g. of a name)."""
    CORRECTION = "correction"
    """Cải chính (an error corrected)."""
    SUPPLEMENT = "supplement"
    """Bổ sung (missing information added)."""


class ChangedItem(ContractModel):
    """One item changed, with its content before and after (nội dung thay đổi)."""

    item: Text = Field(description='The item changed as written, e.g. "Họ, chữ đệm, tên".')
    before: OptionalText = Field(default=None, description="Content before (nội dung cũ).")
    after: OptionalText = Field(default=None, description="Content after (nội dung mới).")


class ChangeCorrectionDetails(DetailsBase):
    """The person, the registration changed and what changed."""

    subject: Person = Field(
        description="The person whose information changed (người được thay đổi, cải chính)."
    )
    kind: ChangeKind | None = Field(
        default=None, description="change, correction or supplement (loại việc)."
    )
    original_registration: RegistrationReference | None = Field(
        default=None,
        description="The registration whose content changed (việc hộ tịch đã đăng ký).",
    )
    changes: list[ChangedItem] = Field(
        default_factory=list, description="The items changed (nội dung thay đổi)."
    )
    legal_basis: OptionalText = Field(
        default=None, description="Grounds or papers relied on (căn cứ)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the person whose information changed."""
        return (self.subject,)


class ChangeCorrectionRecord(RecordBase):
    """An entry of the change/correction/supplement register."""

    record_type: Literal[RecordType.CHANGE_CORRECTION] = Field(
        description="Always change_correction."
    )
    details: ChangeCorrectionDetails = Field(description="The person and what changed.")
