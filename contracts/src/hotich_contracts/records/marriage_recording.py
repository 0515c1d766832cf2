"""Recording of a marriage registered abroad (ghi chú kết hôn)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import DocumentReference, RecordBase, RecordType
from hotich_contracts.records.marriage import CoupleDetails, MarriageStatus

__all__ = ["MarriageRecordingDetails", "MarriageRecordingRecord"]


class MarriageRecordingDetails(CoupleDetails):
    """Both spouses and the foreign registration of their marriage."""

    foreign_registration: DocumentReference | None = Field(
        default=None,
        description=(
            "The registration abroad: number (số đăng ký), date, foreign authority (cơ quan "
            "nước ngoài đã đăng ký) and country (quốc gia)."
        ),
    )
    marriage_status: MarriageStatus | None = Field(
        default=None, description="Later status noted beside the entry (tình trạng kết hôn)."
    )


class MarriageRecordingRecord(RecordBase):
    """An entry of the register of marriages recorded from abroad (sổ ghi chú kết hôn)."""

    record_type: Literal[RecordType.MARRIAGE_RECORDING] = Field(
        description="Always marriage_recording."
    )
    details: MarriageRecordingDetails = Field(description="Both spouses and the foreign act.")
