"""In-memory fakes of intake's stores, for fast unit tests of the service layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_intake.domain.model import Account, RecordView
from hotich_intake.service_layer.ports import AccountAlreadyExists, IdempotencyConflict


class InMemoryAccountStore:
    """Accounts in a dict."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}

    async def add(self, account: Account) -> None:
        """Insert a new account."""
        if account.username in self.accounts:
            raise AccountAlreadyExists(account.username)
        self.accounts[account.username] = account

    async def get(self, username: str) -> Account | None:
        """Return the account."""
        return self.accounts.get(username)

    async def set_locked(self, username: str, locked: bool, at: datetime) -> bool:
        """Lock or unlock."""
        account = self.accounts.get(username)
        if account is None:
            return False
        self.accounts[username] = replace(account, locked=locked, locked_at=at if locked else None)
        return True

    async def list(self) -> list[Account]:
        """All accounts."""
        return sorted(self.accounts.values(), key=lambda a: a.username)


class InMemoryRecordStore:
    """Records, outbox flags and idempotency keys in dicts (no status ranking: see Mongo)."""

    def __init__(self) -> None:
        self.views: dict[str, RecordView] = {}
        self.outbox: dict[str, tuple[str, datetime]] = {}
        self.keys: dict[str, tuple[str, str]] = {}

    async def remember_key(self, scope_key: str, body_hash: str, record_id: str) -> str | None:
        """Claim a key or return its earlier record."""
        if scope_key in self.keys:
            earlier_hash, earlier_id = self.keys[scope_key]
            if earlier_hash != body_hash:
                raise IdempotencyConflict(scope_key)
            return earlier_id
        self.keys[scope_key] = (body_hash, record_id)
        return None

    async def forget_key(self, scope_key: str) -> None:
        """Release a key."""
        self.keys.pop(scope_key, None)

    async def insert_pending(self, view: RecordView, event_json: str) -> None:
        """Store with an outbox entry."""
        self.views[view.record_id] = view
        self.outbox[view.record_id] = (event_json, utcnow())

    async def mark_published(self, record_id: str) -> None:
        """Clear the outbox entry."""
        self.outbox.pop(record_id, None)

    async def discard_pending(self, record_id: str) -> None:
        """Drop a record that never reached Kafka."""
        self.views.pop(record_id, None)
        self.outbox.pop(record_id, None)

    async def unpublished(self, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        """Outbox entries older than ``older_than``."""
        return [(rid, ev) for rid, (ev, at) in self.outbox.items() if at < older_than][:limit]

    async def get(self, record_id: str) -> RecordView | None:
        """Return a view."""
        return self.views.get(record_id)

    async def list(
        self,
        *,
        unit_codes: Sequence[str] | None,
        filters: dict[str, Any],
        limit: int,
        after: str | None,
    ) -> list[RecordView]:
        """Views of the units, filtered, paged by id."""
        rows = sorted(self.views.values(), key=lambda v: v.record_id)
        return [
            v
            for v in rows
            if (unit_codes is None or v.unit_code in unit_codes)
            and all(getattr(v, k) == f for k, f in filters.items() if f is not None)
            and (after is None or v.record_id > after)
        ][:limit]

    async def apply(self, events: Sequence[RecordEventBase]) -> None:
        """Set the latest status (tests feed events in order)."""
        for event in events:
            view = self.views.get(event.record_id)
            payload: Any = getattr(event, "payload", None)
            if view is not None:
                view.status = str(payload.status)
