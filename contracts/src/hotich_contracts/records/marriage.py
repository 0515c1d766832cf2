"""Marriage registration (kết hôn)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import DetailsBase, Person, RecordBase, RecordType

__all__ = ["CoupleDetails", "MarriageDetails", "MarriageRecord", "MarriageStatus"]


class MarriageStatus(StrEnum):
    """Later status of the marriage noted in the register (tình trạng kết hôn)."""

    DIVORCED = "divorced"
    """Ly hôn."""
    ANNULLED = "annulled"
    """Hủy việc kết hôn trái pháp luật."""
    RECOGNISED = "recognised"
    """Công nhận việc kết hôn."""


class CoupleDetails(DetailsBase):
    """Base of the details of events about a married couple."""

    husband: Person = Field(description="The husband (chồng).")
    wife: Person = Field(description="The wife (vợ).")

    def subjects(self) -> tuple[Person, ...]:
        """Return both spouses, husband first."""
        return (self.husband, self.wife)


class MarriageDetails(CoupleDetails):
    """What a marriage entry registers: both spouses."""

    marriage_status: MarriageStatus | None = Field(
        default=None, description="Later status noted beside the entry (tình trạng kết hôn)."
    )


class MarriageRecord(RecordBase):
    """An entry of a marriage register (sổ đăng ký kết hôn)."""

    record_type: Literal[RecordType.MARRIAGE] = Field(description="Always marriage.")
    details: MarriageDetails = Field(description="Both spouses.")
