"""Ports of the export service, with fakes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hotich_runtime.errors import PermanentError


class NationalRejected(PermanentError):
    """The national database refused the record as invalid: retrying will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Receipt:
    """Proof that one record version is held by the national database."""

    idempotency_key: str
    record_id: str
    record_version: int
    national_id: str
    exported_at: datetime
    http_status: int


class NationalDatabase(Protocol):
    """The national database's create call."""

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: dict[str, Any],
    ) -> tuple[str, int]:
        """Create the record; return (national_id, http status). A repeated key returns the same id.

        Raises:
            NationalRejected: the record was refused as invalid.
            RetryableError: transient (5xx, 429, timeout, connection); may carry ``retry_after``.
        """


class ReceiptLedger(Protocol):
    """Where receipts are kept, one per exported version."""

    async def get(self, idempotency_key: str) -> Receipt | None:
        """Return the receipt for a key, if the version was exported already."""

    async def put(self, receipt: Receipt) -> None:
        """Record a receipt (idempotent on the key)."""
