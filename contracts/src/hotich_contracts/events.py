"""Concrete events of the record lifecycle and of reporting.

Each event = envelope fields + a literal ``event_type`` + ``schema_version`` + a typed
``payload``. Records travel inside the payloads ("fat events") so that no service
ever reads another service's store.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.json_schema import SkipJsonSchema

from hotich_contracts import topics
from hotich_contracts.envelope import EventBase, RecordEventBase
from hotich_contracts.reasons import Reason
from hotich_contracts.records import Record

Phase = Literal[1, 2, 3, "migration"]
"""A phase of the plan (giai đoạn) or the migration track (chuyển đổi dữ liệu)."""


class RecordStatus(StrEnum):
    """The record lifecycle of the public contract."""

    RECEIVED = "received"
    VALID = "valid"
    REJECTED = "rejected"
    ACCEPTED = "accepted"
    DUPLICATE_SUSPECTED = "duplicate_suspected"
    EXPORTED = "exported"
    EXPORT_FAILED = "export_failed"


class _Payload(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class RecordEnteredPayload(_Payload):
    """What a clerk entered (nhập liệu)."""

    record: Record = Field(description="The record as entered, structurally valid.")
    idempotency_key: str | None = Field(
        default=None, description="The client's Idempotency-Key, if it sent one."
    )


class RecordValidatedPayload(_Payload):
    """The plan's rules applied to one record version (kiểm tra)."""

    status: Literal[RecordStatus.VALID, RecordStatus.REJECTED] = Field(
        description="valid, or rejected with reasons."
    )
    phase: Phase | None = Field(description="Phase the record belongs to; null when out of scope.")
    late: bool = Field(default=False, description="Entered after its phase's window closed.")
    not_enterable: bool = Field(
        default=False,
        description="Register unreadable: counted against the survey, not as a clerk's error.",
    )
    reasons: list[Reason] = Field(default_factory=list, description="Errors (all at once).")
    warnings: list[Reason] = Field(default_factory=list, description="Flags on a valid record.")
    record: Record = Field(description="The record the rules were applied to.")


class DuplicateCandidate(_Payload):
    """Another record the dedup stage believes is the same event."""

    record_id: str = Field(description="The other record.")
    score: float = Field(ge=0, le=1, description="Match score, 1 = certain.")
    matched_fields: list[str] = Field(default_factory=list, description="Fields that agreed.")


class DuplicateResolution(StrEnum):
    """A reviewer's decision on a suspected duplicate (kết quả xem xét trùng lặp)."""

    DISTINCT = "distinct"
    """Not the same event: the record is accepted and not flagged again unless it changes."""
    DUPLICATE = "duplicate"
    """The same event as a candidate: the record is rejected (duplicate_probable)."""


class DuplicateReview(_Payload):
    """How a district or Department officer resolved a suspected duplicate."""

    resolution: DuplicateResolution = Field(description="distinct or duplicate.")
    duplicate_of: str | None = Field(
        default=None, description="For a duplicate: the candidate record it duplicates."
    )
    reviewer: str = Field(description="Username of the officer who resolved it.")
    reviewer_unit_code: str = Field(description="Unit of that officer.")
    note: str | None = Field(default=None, description="The officer's note (ghi chú).")
    resolved_at: AwareDatetime = Field(description="When it was resolved (UTC).")


class RecordDeduplicatedPayload(_Payload):
    """Outcome of duplicate detection (phát hiện trùng lặp).

    A suspected duplicate is later resolved by a reviewer: dedup then publishes a
    second event for the same record version, with ``review`` set and the status
    ``accepted`` (distinct) or ``rejected`` (duplicate). Views let such an event replace
    ``duplicate_suspected`` although it is of the same stage.
    """

    status: Literal[
        RecordStatus.ACCEPTED, RecordStatus.DUPLICATE_SUSPECTED, RecordStatus.REJECTED
    ] = Field(description="accepted, duplicate_suspected, or rejected (exact duplicate).")
    phase: Phase | None = Field(description="Phase carried over from validation.")
    candidates: list[DuplicateCandidate] = Field(default_factory=list)
    reasons: list[Reason] = Field(default_factory=list)
    record: Record = Field(description="The record, carried to export.")
    review: DuplicateReview | None = Field(
        default=None,
        description="Set on the event that resolves a suspected duplicate (after review).",
    )


class RecordExportedPayload(_Payload):
    """Outcome of forwarding to the national database (CSDL hộ tịch điện tử)."""

    status: Literal[RecordStatus.EXPORTED, RecordStatus.EXPORT_FAILED]
    phase: Phase | None = Field(description="Phase carried over.")
    national_id: str | None = Field(default=None, description="Id given by the national database.")
    attempts: int = Field(ge=1, description="Delivery attempts it took.")
    reasons: list[Reason] = Field(default_factory=list, description="Why it failed for good.")


class RecordEntered(RecordEventBase):
    """A record, or a new version of it, was entered at intake."""

    event_type: Literal["record.entered"] = "record.entered"
    schema_version: Literal[1] = 1
    entered_at: SkipJsonSchema[None] = Field(default=None, exclude=True)
    """Not part of record.entered: the entry is this event (its ``occurred_at``). Left out
    of the schema and of what is published; a ``null`` is still read, as published before."""
    payload: RecordEnteredPayload

    @property
    def entered_time(self) -> datetime:
        """The entry is this event: its own ``occurred_at``."""
        return self.occurred_at


class RecordValidated(RecordEventBase):
    """Validation applied the plan's rules to a record version."""

    event_type: Literal["record.validated"] = "record.validated"
    schema_version: Literal[1] = 1
    payload: RecordValidatedPayload


class RecordDeduplicated(RecordEventBase):
    """Dedup decided whether a valid record version is a duplicate."""

    event_type: Literal["record.deduplicated"] = "record.deduplicated"
    schema_version: Literal[1] = 1
    payload: RecordDeduplicatedPayload


class RecordExported(RecordEventBase):
    """Export delivered a record version to the national database, or gave up."""

    event_type: Literal["record.exported"] = "record.exported"
    schema_version: Literal[1] = 1
    payload: RecordExportedPayload


class ProgressCounts(_Payload):
    """Counts of one (phase, unit) cell, rolled up over the unit's subtree."""

    entered: int = 0
    valid: int = 0
    rejected: int = 0
    accepted: int = 0
    duplicate_suspected: int = 0
    exported: int = 0
    export_failed: int = 0
    surveyed: int = Field(
        default=0, description="Entries the survey baseline expects (khảo sát, thống kê)."
    )
    received: int = Field(default=0, description="Entered and not validated yet.")
    not_enterable: int = Field(
        default=0,
        description="Rejected as unreadable (torn register, principle 3): not a clerk's error.",
    )
    duplicate_confirmed: int = Field(
        default=0, description="Rejected by dedup as duplicates of another record."
    )
    late: int = Field(default=0, description="Valid, but entered after the phase's window.")
    rejected_by_reason: dict[str, int] = Field(
        default_factory=dict, description="Rejected records per reason code."
    )


class ProgressReportedPayload(_Payload):
    """A progress snapshot (tiến độ) of one phase and unit."""

    phase: str = Field(description="1, 2, 3, migration, or all.")
    unit_code: str
    counts: ProgressCounts
    as_of: str = Field(description="ISO timestamp of the projection state.")


class ProgressReported(EventBase):
    """Reporting published a progress snapshot; key ``<phase>:<unit_code>``, compacted."""

    event_type: Literal["report.progress"] = "report.progress"
    schema_version: Literal[1] = 1
    payload: ProgressReportedPayload


RecordEvent = Annotated[
    RecordEntered | RecordValidated | RecordDeduplicated | RecordExported,
    Field(discriminator="event_type"),
]
RECORD_EVENT_ADAPTER: TypeAdapter[RecordEvent] = TypeAdapter(RecordEvent)

EVENT_MODELS: dict[str, type[EventBase]] = {
    topics.RECORD_ENTERED: RecordEntered,
    topics.RECORD_VALIDATED: RecordValidated,
    topics.RECORD_DEDUPLICATED: RecordDeduplicated,
    topics.RECORD_EXPORTED: RecordExported,
    topics.REPORT_PROGRESS: ProgressReported,
}
"""Which event model each topic carries (one model per topic)."""

STAGE_RANK: dict[str, int] = {
    "record.entered": 0,
    "record.validated": 1,
    "record.deduplicated": 2,
    "record.exported": 3,
}
"""Order of the lifecycle stages. Views apply an event's status only if it is not older
than what they hold (same version, lower rank), because events of different topics for
one record may be read out of order."""


def resolves_suspicion(event: EventBase) -> bool:
    """Whether ``event`` is a reviewer's resolution of a suspected duplicate.

    Such a ``record.deduplicated`` event has the rank of its stage, like the
    ``duplicate_suspected`` event it resolves; views apply it over a held status
    ``duplicate_suspected`` of the same record version (and never over a later stage).
    It is published with the record id as key, so it follows the suspicion in its
    partition.

    Decided by the event type and the payload's ``review``, not by the class: a
    consumer's narrower read model of the same event (intake's ``Outcome``) qualifies too.
    """
    payload: Any = getattr(event, "payload", None)
    return (
        getattr(event, "event_type", None) == "record.deduplicated"
        and getattr(payload, "review", None) is not None
    )
