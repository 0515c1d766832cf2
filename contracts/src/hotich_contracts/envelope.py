"""The event envelope every Kafka message of hotich carries.

An envelope is frozen and versioned: ``event_type`` and ``schema_version`` are literals
on each concrete event, so a consumer parses bytes straight into the right model and
rejects (to the DLQ) anything of another version. Only additive changes are allowed
within a version.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import TypedDict

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

EVENT_NAMESPACE = uuid.UUID("6f1c3b1e-8a43-5d2e-9b7a-2f8c1d4e5a60")
"""Namespace for deterministic event ids derived from the causing event."""


def derived_event_id(cause_event_id: uuid.UUID, stage: str) -> uuid.UUID:
    """Return the id of the event ``stage`` emits in reaction to ``cause_event_id``.

    Deterministic, so a consumer that crashes after publishing and processes the
    same input again publishes the *same* event id, and every downstream consumer
    drops the copy by id. This is what makes at-least-once delivery safe without
    Kafka transactions (the fallback broker has none).
    """
    return uuid.uuid5(EVENT_NAMESPACE, f"{cause_event_id}:{stage}")


def utcnow() -> datetime:
    """Return the current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class EventBase(BaseModel):
    """Fields common to every hotich event."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_id: uuid.UUID = Field(
        default_factory=uuid.uuid4, description="Unique id; consumers drop repeats by it."
    )
    occurred_at: AwareDatetime = Field(
        default_factory=utcnow, description="When the fact happened (UTC)."
    )
    actor: str = Field(description="Who caused it: a username, or `service:<name>`.")
    correlation_id: str = Field(
        description="Ties together everything one request caused (the intake request id)."
    )


class RecordEventBase(EventBase):
    """An event about one record; the Kafka key is ``record_id``."""

    record_id: str = Field(description="The record this event is about (mã bản ghi).")
    record_version: int = Field(ge=1, description="Version of the record, 1 for the first entry.")
    unit_code: str = Field(description="Unit that entered the record (the clerk's unit).")
    entered_at: AwareDatetime | None = Field(
        default=None,
        description="When this record version was entered: record.entered's `occurred_at`, "
        "carried by every stage's reaction to it and by a reviewer's resolution (absent on "
        "record.entered itself and on events of producers older than the field). Consumers "
        "of several stages' topics read a backlog in step by it, so that a record's events "
        "arrive together.",
    )

    @property
    def entered_time(self) -> datetime | None:
        """When this record version was entered, if the event says.

        None on an event of a producer older than ``entered_at``; record.entered answers
        its own ``occurred_at``.
        """
        return self.entered_at


class Reaction(TypedDict):
    """Envelope fields an event caused by another record event inherits."""

    event_id: uuid.UUID
    actor: str
    correlation_id: str
    record_id: str
    record_version: int
    unit_code: str
    entered_at: datetime | None


def reaction_to(cause: RecordEventBase, *, stage: str, actor: str) -> Reaction:
    """Envelope fields of the event ``stage`` emits in reaction to ``cause``.

    Same record, version, unit, correlation id and entry time (record.entered's
    ``occurred_at``; None when the cause, from a producer older than the field, carries
    none: another stage's own time is not an entry time); a deterministic event id (see
    :func:`derived_event_id`).
    """
    return {
        "event_id": derived_event_id(cause.event_id, stage),
        "actor": actor,
        "correlation_id": cause.correlation_id,
        "record_id": cause.record_id,
        "record_version": cause.record_version,
        "unit_code": cause.unit_code,
        "entered_at": cause.entered_time,
    }
