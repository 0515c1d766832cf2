"""Death registration (khai tử)."""

from __future__ import annotations

from datetime import time
from typing import Literal

from pydantic import Field

from hotich_contracts.dates import PartialDate
from hotich_contracts.records.common import (
    DetailsBase,
    DocumentReference,
    OptionalText,
    Person,
    RecordBase,
    RecordType,
)

__all__ = ["DeathDetails", "DeathRecord"]


class DeathDetails(DetailsBase):
    """What a death entry registers: the deceased and the facts of the death."""

    deceased: Person = Field(description="The deceased (người chết).")
    date_of_death: PartialDate | None = Field(
        default=None, description="Date of death (ngày chết), possibly partial."
    )
    time_of_death: time | None = Field(
        default=None, description="Time of death (giờ, phút chết), HH:MM."
    )
    place_of_death: OptionalText = Field(
        default=None, description="Place of death (nơi chết) as written."
    )
    cause_of_death: OptionalText = Field(
        default=None, description="Cause of death (nguyên nhân chết) as written."
    )
    death_notice: DocumentReference | None = Field(
        default=None, description="The death notice or equivalent paper (giấy báo tử)."
    )

    def subjects(self) -> tuple[Person, ...]:
        """Return the deceased."""
        return (self.deceased,)


class DeathRecord(RecordBase):
    """An entry of a death register (sổ đăng ký khai tử)."""

    record_type: Literal[RecordType.DEATH] = Field(description="Always death.")
    details: DeathDetails = Field(description="The deceased and the death.")
