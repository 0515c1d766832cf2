"""Builders of events for tests (real contract models, no mocks)."""

from __future__ import annotations

import uuid
from typing import Any

from hotich_contracts.events import (
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordEntered,
    RecordEnteredPayload,
    RecordStatus,
    RecordValidated,
    RecordValidatedPayload,
)
from hotich_contracts.examples import example_record
from hotich_contracts.records import RECORD_ADAPTER, RecordType


def record(record_type: RecordType = RecordType.BIRTH, **overrides: Any) -> Any:
    return RECORD_ADAPTER.validate_python(example_record(record_type, **overrides))


def entered(
    rec: Any = None, *, unit_code: str = "25459", record_id: str | None = None
) -> RecordEntered:
    return RecordEntered(
        actor="clerk1",
        correlation_id="c-1",
        record_id=record_id or str(uuid.uuid4()),
        record_version=1,
        unit_code=unit_code,
        payload=RecordEnteredPayload(record=rec or record()),
    )


def validated(
    rec: Any = None,
    *,
    record_id: str | None = None,
    status: RecordStatus = RecordStatus.VALID,
    phase: Any = 1,
) -> RecordValidated:
    return RecordValidated(
        actor="service:validation",
        correlation_id="c-1",
        record_id=record_id or str(uuid.uuid4()),
        record_version=1,
        unit_code="25459",
        payload=RecordValidatedPayload(status=status, phase=phase, record=rec or record()),
    )


def deduplicated(
    rec: Any = None, *, record_id: str | None = None, status: RecordStatus = RecordStatus.ACCEPTED
) -> RecordDeduplicated:
    return RecordDeduplicated(
        actor="service:dedup",
        correlation_id="c-1",
        record_id=record_id or str(uuid.uuid4()),
        record_version=1,
        unit_code="25459",
        payload=RecordDeduplicatedPayload(status=status, phase=1, record=rec or record()),
    )
