"""Guardianship (giám hộ) and its termination (chấm dứt giám hộ)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from hotich_contracts.records.common import (
    DetailsBase,
    OptionalText,
    Person,
    RecordBase,
    RecordType,
)

__all__ = ["GuardianshipAction", "GuardianshipDetails", "GuardianshipKind", "GuardianshipRecord"]


class GuardianshipKind(StrEnum):
    """How the guardian came to be one."""

    APPOINTED = "appointed"
    """Giám hộ cử."""
    STATUTORY = "statutory"
    """Giám hộ đương nhiên (by law)."""


class GuardianshipAction(StrEnum):
    """What the entry registers."""

    ESTABLISHMENT = "establishment"
    """Đăng ký giám hộ."""
    TERMINATION = "termination"
    """Đăng ký chấm dứt giám hộ (not named by the plan)."""


class GuardianshipDetails(DetailsBase):
    """The ward, the guardian and the kind of guardianship."""

    ward: Person = Field(description="The person under guardianship (người được giám hộ).")
    guardian: Person = Field(description="The guardian (người giám hộ).")
    kind: GuardianshipKind | None = Field(
        default=None, description="appointed (cử) or statutory (đương nhiên)."
    )
    action: GuardianshipAction = Field(
        default=GuardianshipAction.ESTABLISHMENT,
        description="establishment (đăng ký giám hộ) or termination (chấm dứt giám hộ).",
    )
    reason: OptionalText = Field(default=None, description="Reason as written (lý do).")

    def subjects(self) -> tuple[Person, ...]:
        """Return the ward, then the guardian."""
        return (self.ward, self.guardian)


class GuardianshipRecord(RecordBase):
    """An entry of the guardianship register (sổ đăng ký giám hộ)."""

    record_type: Literal[RecordType.GUARDIANSHIP] = Field(description="Always guardianship.")
    details: GuardianshipDetails = Field(description="The ward and the guardian.")
