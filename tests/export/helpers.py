"""Builders shared by the export tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hotich_contracts.events import (
    RecordDeduplicated,
    RecordDeduplicatedPayload,
    RecordStatus,
)
from tests.factories import record


def accepted(
    record_id: str | None = None,
    version: int = 1,
    *,
    status: RecordStatus = RecordStatus.ACCEPTED,
    unit_code: str = "25459",
    **overrides: Any,
) -> RecordDeduplicated:
    """A dedup outcome for one record version (accepted unless told otherwise)."""
    return RecordDeduplicated(
        actor="service:dedup",
        correlation_id="c-1",
        record_id=record_id or str(uuid.uuid4()),
        record_version=version,
        unit_code=unit_code,
        payload=RecordDeduplicatedPayload(
            status=status,  # type: ignore[arg-type]
            phase=1,
            record=record(entry_number=str(version), **overrides),
        ),
    )


class Clock:
    """A wall clock tests move by hand (timezone-aware UTC)."""

    def __init__(self) -> None:
        self.now = datetime(2025, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class MonotonicClock:
    """A monotonic clock tests move by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now
