"""Ports of the export service: the national database and the delivery store.

Errors a national database client raises::

    RetryableError
    └── NationalUnavailable    5xx, timeout, refused connection: the database is unwell.
        │                      Counts against the circuit breaker; retried with backoff.
        └── NationalThrottled  429: slow down. Holds every call for ``retry_after``;
                               not a sign of ill health.
    PermanentError
    └── NationalRejected       the record was refused as invalid (4xx): export_failed,
                               with the national reason, until corrected or redriven.

In-memory fakes of both ports are in :mod:`hotich_export.adapters.memory`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from hotich_export.domain.delivery import Delivery
from hotich_runtime.errors import PermanentError, RetryableError


class NationalRejected(PermanentError):
    """The national database refused the record as invalid: retrying will not help."""

    def __init__(self, reason: str, *, status: int = 422, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.code = code


class NationalUnavailable(RetryableError):
    """The national database did not answer usefully: 5xx, timeout, connection refused."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, status: int | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.status = status


class NationalThrottled(NationalUnavailable):
    """``429``: the national database asks to slow down for ``retry_after`` seconds."""


RecordJson = dict[str, Any] | bytes
"""A record as sent to the national database: a JSON object, or its JSON bytes already
serialized (the exporter serializes it once, straight from the model)."""


@dataclass(frozen=True)
class NationalReceipt:
    """The national database's answer to a create or an update that it holds."""

    national_id: str
    http_status: int
    """201/200 when this call wrote it, 409 when an earlier call (same key) had."""
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NationalHolding:
    """One national record as listed for reconciliation."""

    national_id: str
    source_record_id: str | None
    keys: tuple[str, ...]
    """Idempotency keys of every write applied to it."""


class NationalDatabase(Protocol):
    """The national database's calls export uses."""

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """Create the record; a repeated key answers with the same national id.

        Raises:
            NationalRejected: refused as invalid.
            NationalUnavailable: transient (``NationalThrottled`` for 429).
        """

    async def update(
        self,
        *,
        national_id: str,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """Send a corrected version of record ``national_id``, once per key.

        Raises:
            NationalRejected: refused as invalid, or no such national record.
            NationalUnavailable: transient (``NationalThrottled`` for 429).
        """

    def holdings(self, unit_code: str) -> AsyncIterator[NationalHolding]:
        """Every record the national database holds for ``unit_code``.

        Raises:
            NationalUnavailable: transient.
        """


@dataclass(frozen=True)
class StoreSummary:
    """Counts of deliveries by state, for ``hotich export status`` and tests."""

    by_state: dict[str, int]
    oldest_pending_due: datetime | None


class DeliveryStore(Protocol):
    """Deliveries that are not plain happy-path receipts: parked, failed, and the ledger.

    Writes are idempotent; every method raises ``RetryableError`` when the store is
    unavailable.
    """

    async def of_records(self, record_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        """Every delivery of these records (without their events), by record id."""

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        """Insert new deliveries; a key already stored is left as it is."""

    async def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[Delivery]:
        """Lease up to ``limit`` pending deliveries due by ``now`` (with their events).

        A leased delivery is not due again until ``now + lease_s``: if the claimer dies,
        another claims it then. Safe with several instances claiming at once.
        """

    async def settle(self, deliveries: Sequence[Delivery]) -> None:
        """Write the new state of claimed deliveries, unless no longer pending."""

    async def hurry(self, record_id: str, after_version: int, due_at: datetime) -> None:
        """Make the record's pending deliveries newer than ``after_version`` due by ``due_at``."""

    async def redrive(
        self, *, record_ids: Sequence[str] | None, failed: bool, now: datetime
    ) -> list[Delivery]:
        """Make failed (``failed``) and/or the given records' deliveries pending, due now.

        Exported ones of the given records are sent again (the national database answers
        409 if it holds them, or creates them again if it lost them).
        """

    async def summary(self) -> StoreSummary:
        """Counts by state."""

    async def units(self) -> list[str]:
        """Every unit code with a delivery."""

    def receipts(self, unit_code: str) -> AsyncIterator[Delivery]:
        """The ledger of one unit: its exported deliveries (without events)."""

    async def undelivered_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Of ``keys``, those stored in another state than exported, with their state."""
