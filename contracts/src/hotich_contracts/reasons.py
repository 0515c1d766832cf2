"""Reasons: why a record was rejected or flagged, for machines and for clerks.

Every reason has a stable machine code (part of the public contract), a Vietnamese
message for the clerk (``message_vi``) and the English one beside it (``message_en``).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Severity(StrEnum):
    """Whether a reason blocks the record (error) or only flags it (warning)."""

    ERROR = "error"
    WARNING = "warning"


class ReasonCode(StrEnum):
    """Machine-readable reason codes. Additive only within a schema version."""

    MALFORMED = "malformed"
    MISSING_MANDATORY_FIELD = "missing_mandatory_field"
    NOT_ENTERABLE = "not_enterable"
    OUT_OF_SCOPE_TYPE = "out_of_scope_type"
    OUT_OF_SCOPE_DATE = "out_of_scope_date"
    WRONG_ENTERING_UNIT = "wrong_entering_unit"
    UNKNOWN_UNIT = "unknown_unit"
    MARITAL_STATUS_NOT_FOR_MARRIAGE = "marital_status_not_for_marriage"
    INCONSISTENT_DATES = "inconsistent_dates"
    INVALID_IDENTITY_NUMBER = "invalid_identity_number"
    LATE_ENTRY = "late_entry"
    DUPLICATE_EXACT = "duplicate_exact"
    DUPLICATE_PROBABLE = "duplicate_probable"
    NATIONAL_REJECTED = "national_rejected"
    UNREADABLE_FIELD = "unreadable_field"
    """Warning: an optional field is unreadable in a damaged register; the record stands."""
    IMPLAUSIBLE_AGE = "implausible_age"
    """A person's age at the event is impossible (error) or below the legal age (warning)."""


class Reason(BaseModel):
    """One reason attached to a record's outcome (lý do)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: ReasonCode = Field(description="Stable machine-readable code.")
    severity: Severity = Field(default=Severity.ERROR, description="error blocks, warning flags.")
    message_vi: str = Field(description="Message for the clerk, in Vietnamese (thông báo).")
    message_en: str = Field(description="The same message in English.")
    field: str | None = Field(
        default=None, description="Dotted path of the field concerned, when there is one."
    )
    related_record_id: str | None = Field(
        default=None, description="Another record this reason points at (e.g. the original)."
    )
