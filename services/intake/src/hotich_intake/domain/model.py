"""Intake's own view of accounts and records (no I/O)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hotich_contracts.envelope import RecordEventBase
from hotich_contracts.events import DuplicateReview, Phase, RecordStatus
from hotich_contracts.reasons import Reason
from hotich_runtime.auth import Role


@dataclass
class Account:
    """A login of a clerk or officer (tài khoản), created by the Department of Justice."""

    username: str
    unit_code: str
    role: Role
    password_hash: str
    locked: bool = False
    created_at: datetime | None = None
    locked_at: datetime | None = None


@dataclass
class RecordView:
    """What intake knows of a record: the latest version and its lifecycle."""

    record_id: str
    version: int
    unit_code: str
    entered_by: str
    record_type: str
    status: str
    phase: int | str | None
    reasons: list[dict[str, Any]]
    warnings: list[dict[str, Any]]
    national_id: str | None
    record: dict[str, Any]
    history: list[dict[str, Any]] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None


class OutcomePayload(BaseModel):
    """The outcome part of a validated, deduplicated or exported event's payload."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    status: RecordStatus
    phase: Phase | None = None
    reasons: list[Reason] = Field(default_factory=list)
    warnings: list[Reason] = Field(default_factory=list)
    national_id: str | None = None
    review: DuplicateReview | None = None


class Outcome(RecordEventBase):
    """What the status view reads of an outcome event: its envelope and outcome.

    The events of ``record.validated`` and ``record.deduplicated`` carry the whole record,
    which the view never shows (it holds the record as entered): decoding them to the
    contract's models validated every record again, a sixth of intake's CPU in the
    end-to-end benchmark. Other fields are ignored; another schema version is refused
    (dead-lettered) as the full models refuse it.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    event_type: Literal["record.validated", "record.deduplicated", "record.exported"]
    schema_version: Literal[1] = 1
    payload: OutcomePayload
