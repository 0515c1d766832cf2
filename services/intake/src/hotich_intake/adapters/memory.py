"""In-memory fakes of intake's stores, for fast unit tests of the service layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_intake.domain.model import Account, RecordView
from hotich_intake.service_layer.ports import AccountAlreadyExists, AuditEntry, KeyOwner


class InMemoryAccountStore:
    """Accounts in a dict."""

    def __init__(self) -> None:
        self.accounts: dict[str, Account] = {}
        self.failures: dict[str, int] = {}

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

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace the hash."""
        account = self.accounts.get(username)
        if account is None:
            return False
        self.accounts[username] = replace(account, password_hash=password_hash)
        return True

    async def record_login_failure(self, username: str, at: datetime) -> None:
        """Count failures (no window in the fake)."""
        self.failures[username] = self.failures.get(username, 0) + 1

    async def login_failures(self, username: str, now: datetime) -> int:
        """Failures so far."""
        return self.failures.get(username, 0)

    async def clear_login_failures(self, username: str) -> None:
        """Forget failures."""
        self.failures.pop(username, None)


class InMemoryRecordStore:
    """Records, outbox flags and keys in dicts (no status ranking: the Mongo adapter has it)."""

    def __init__(self) -> None:
        self.views: dict[str, RecordView] = {}
        self.outbox: dict[str, tuple[str, datetime]] = {}
        self.keys: dict[str, KeyOwner] = {}

    async def claim_keys(self, claims: Sequence[tuple[str, str, str]]) -> dict[str, KeyOwner]:
        """First claim wins."""
        for key, digest, record_id in claims:
            self.keys.setdefault(key, KeyOwner(record_id, digest))
        return {key: self.keys[key] for key, _, _ in claims}

    async def existing(self, record_ids: Sequence[str]) -> set[str]:
        """Stored ids."""
        return {rid for rid in record_ids if rid in self.views}

    async def forget_keys(self, scope_keys: Sequence[str]) -> None:
        """Release keys."""
        for key in scope_keys:
            self.keys.pop(key, None)

    async def insert_pending(self, items: Sequence[tuple[RecordView, str]]) -> None:
        """Store with outbox entries."""
        for view, event_json in items:
            if view.record_id not in self.views:
                self.views[view.record_id] = view
                self.outbox[view.record_id] = (event_json, utcnow())

    async def unpublished_events(self, record_ids: Sequence[str]) -> dict[str, str]:
        """Outbox events of those still unpublished."""
        return {rid: self.outbox[rid][0] for rid in record_ids if rid in self.outbox}

    async def stage_version(self, view: RecordView, event_json: str, previous_version: int) -> bool:
        """Compare-and-set on the version."""
        current = self.views.get(view.record_id)
        if current is None or current.version != previous_version:
            return False
        self.views[view.record_id] = replace(view, created_at=current.created_at)
        self.outbox[view.record_id] = (event_json, utcnow())
        return True

    async def mark_published(self, record_ids: Sequence[str]) -> None:
        """Clear outbox entries."""
        for record_id in record_ids:
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
            if view is not None and view.version == event.record_version:
                view.status = str(payload.status)


class InMemoryAuditLog:
    """Audit entries in a list."""

    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    async def append(self, entries: Sequence[AuditEntry]) -> None:
        """Append."""
        self.entries.extend(entries)

    async def query(
        self, *, actor: str | None, action: str | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first, filtered."""
        rows = [
            e
            for e in reversed(self.entries)
            if (actor is None or e.actor == actor)
            and (action is None or e.action == action)
            and (since is None or e.at >= since)
        ]
        return rows[:limit]
