"""Recording of a divorce granted abroad (ghi chú ly hôn)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from hotich_contracts.dates import PartialDate
from hotich_contracts.records.common import (
    DocumentReference,
    RecordBase,
    RecordType,
    RegistrationReference,
)
from hotich_contracts.records.marriage import CoupleDetails

__all__ = ["DivorceRecordingDetails", "DivorceRecordingRecord"]


class DivorceRecordingDetails(CoupleDetails):
    """Both former spouses and the foreign judgment or decision."""

    foreign_judgment: DocumentReference | None = Field(
        default=None,
        description=(
            "The foreign judgment or decision (bản án, quyết định ly hôn của cơ quan nước "
            "ngoài): number, date, authority, country."
        ),
    )
    effective_date: PartialDate | None = Field(
        default=None, description="Date the divorce took effect (ngày có hiệu lực)."
    )
    marriage_registration: RegistrationReference | None = Field(
        default=None, description="The registration of the marriage dissolved, if known."
    )


class DivorceRecordingRecord(RecordBase):
    """An entry of the register of divorces recorded from abroad (sổ ghi chú ly hôn)."""

    record_type: Literal[RecordType.DIVORCE_RECORDING] = Field(
        description="Always divorce_recording."
    )
    details: DivorceRecordingDetails = Field(description="Both spouses and the judgment.")
