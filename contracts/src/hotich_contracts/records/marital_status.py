"""Certificate of marital status (xác nhận tình trạng hôn nhân).

Only certificates issued for the purpose of registering a marriage are in the plan;
``purpose`` carries what the certificate was issued for, and the validation service
rejects the others.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.dates import PartialDate
from hotich_contracts.records.common import (
    DetailsBase,
    OptionalText,
    Person,
    RecordBase,
    RecordType,
)

__all__ = [
    "MaritalStatusDetails",
    "MaritalStatusPurpose",
    "MaritalStatusRecord",
    "MaritalStatusValue",
]


class MaritalStatusPurpose(StrEnum):
    """What the certificate was issued for (mục đích sử dụng)."""

    MARRIAGE = "marriage"
    """To register a marriage, in Viet Nam or abroad (để đăng ký kết hôn)."""
    OTHER = "other"
    """Any other purpose (mục đích khác)."""


class MaritalStatusValue(StrEnum):
    """The marital status certified (tình trạng hôn nhân)."""

    NEVER_MARRIED = "never_married"
    """Chưa đăng ký kết hôn với ai."""
    MARRIED = "married"
    """Đang có vợ/chồng."""
    DIVORCED = "divorced"
    """Đã ly hôn."""
    WIDOWED = "widowed"
    """Vợ/chồng đã chết."""


class MaritalStatusDetails(DetailsBase):
    """The person certified, the status certified and what it is for."""

    subject: Person = Field(description="The person certified (người được xác nhận).")
    purpose: MaritalStatusPurpose = Field(
        description=(
            "What the certificate was issued for (mục đích sử dụng); only certificates "
            "issued to register a marriage are in the plan."
        )
    )
    purpose_text: OptionalText = Field(
        default=None, description="The purpose as written in the register."
    )
    marital_status: MaritalStatusValue | None = Field(
        default=None, description="The status certified (tình trạng hôn nhân)."
    )
    residence_place: OptionalText = Field(
        default=None, description="Place of residence the certificate covers (nơi cư trú)."
    )
    residence_from: PartialDate | None = Field(
        default=None, description="Start of the period covered (thời gian cư trú từ)."
    )
    residence_to: PartialDate | None = Field(
        default=None, description="End of the period covered (thời gian cư trú đến)."
    )
    intended_spouse: Person | None = Field(
        default=None, description="The person to be married, when named (người dự định kết hôn)."
    )
    intended_registration_place: OptionalText = Field(
        default=None,
        description="Where the marriage is to be registered (nơi dự định đăng ký kết hôn).",
    )

    @property
    def is_for_marriage(self) -> bool:
        """Whether the certificate was issued to register a marriage (in the plan)."""
        return self.purpose is MaritalStatusPurpose.MARRIAGE

    def subjects(self) -> tuple[Person, ...]:
        """Return the person certified."""
        return (self.subject,)


class MaritalStatusRecord(RecordBase):
    """An entry of the marital status certificate register (sổ cấp giấy xác nhận TTHN)."""

    record_type: Literal[RecordType.MARITAL_STATUS] = Field(description="Always marital_status.")
    details: MaritalStatusDetails = Field(description="The person, the status, the purpose.")
