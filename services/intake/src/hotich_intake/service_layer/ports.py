"""Ports of the intake service."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from hotich_contracts.envelope import RecordEventBase
from hotich_intake.domain.model import Account, RecordView


class AccountAlreadyExists(Exception):
    """An account with that username exists."""


class AccountStore(Protocol):
    """Accounts, by username."""

    async def add(self, account: Account) -> None:
        """Insert; raises AccountAlreadyExists."""

    async def get(self, username: str) -> Account | None:
        """Return the account."""

    async def set_locked(self, username: str, locked: bool, at: datetime) -> bool:
        """Lock or unlock; False if there is no such account."""

    async def list(self) -> list[Account]:
        """All accounts."""


class IdempotencyConflict(Exception):
    """The key was used before with a different body."""


class RecordStore(Protocol):
    """Intake's record view and its outbox."""

    async def remember_key(self, scope_key: str, body_hash: str, record_id: str) -> str | None:
        """Claim an idempotency key; return the record id it already maps to, if any.

        Raises:
            IdempotencyConflict: the key maps to another body.
        """

    async def forget_key(self, scope_key: str) -> None:
        """Release a key claimed for a request that failed."""

    async def insert_pending(self, view: RecordView, event_json: str) -> None:
        """Store a new record with its unpublished event (the outbox)."""

    async def mark_published(self, record_id: str) -> None:
        """The event was acknowledged by Kafka."""

    async def discard_pending(self, record_id: str) -> None:
        """Remove a record whose event could not be published (the client got 503)."""

    async def unpublished(self, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        """Return (record_id, event_json) of records stored but not yet published."""

    async def get(self, record_id: str) -> RecordView | None:
        """Return a record's view."""

    async def list(
        self,
        *,
        unit_codes: Sequence[str] | None,
        filters: dict[str, Any],
        limit: int,
        after: str | None,
    ) -> list[RecordView]:
        """List records of the given units, newest last, paged by record id."""

    async def apply(self, events: Sequence[RecordEventBase]) -> None:
        """Apply outcome events to the views: history once per event id, status if newer."""
