"""In-memory fakes of intake's stores, for fast unit tests of the service layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_contracts.events import RecordEntered
from hotich_intake.domain.model import Account, RecordView
from hotich_intake.service_layer.ports import (
    AccountAlreadyExists,
    AuditEntry,
    KeyOwner,
    NewRecord,
    Stored,
    settle_waiting,
)


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

    async def get_many(self, usernames: Sequence[str]) -> dict[str, Account]:
        """Return the accounts that exist among ``usernames``."""
        return {u: self.accounts[u] for u in usernames if u in self.accounts}

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
    """Records, their events and the outbox in dicts (no status ranking: Mongo has it)."""

    def __init__(self) -> None:
        self.views: dict[str, RecordView] = {}
        self.events: dict[str, RecordEntered] = {}
        self.keys: dict[str, KeyOwner] = {}
        self.owners: dict[str, str] = {}
        self.outbox: dict[str, tuple[list[str], datetime]] = {}

    async def open_outbox(self, outbox_id: str, record_ids: Sequence[str]) -> None:
        """Open an entry."""
        self.outbox[outbox_id] = (list(record_ids), utcnow())

    async def close_outbox(self, outbox_ids: Sequence[str]) -> None:
        """Close entries."""
        for outbox_id in outbox_ids:
            self.outbox.pop(outbox_id, None)

    async def insert_records(
        self, items: Sequence[NewRecord], outbox_id: str
    ) -> dict[str, KeyOwner]:
        """First claim of a key wins."""
        for item in items:
            if item.scope_key not in self.keys:
                self.keys[item.scope_key] = KeyOwner(
                    item.view.record_id, item.body_hash, str(item.event.event_id)
                )
                self.views[item.view.record_id] = item.view
                self.events[item.view.record_id] = item.event
                self.owners[item.view.record_id] = outbox_id
        return {item.scope_key: self.keys[item.scope_key] for item in items}

    def _stored(self, record_ids: Sequence[str]) -> dict[str, Stored]:
        return {
            rid: Stored(self.owners.get(rid), self.events[rid])
            for rid in record_ids
            if rid in self.events
        }

    async def pending_events(
        self, record_ids: Sequence[str], *, besides: str | None = None
    ) -> tuple[list[str], list[RecordEntered]]:
        """Open entries (but ``besides``) owning these records; see the port."""
        owners = {self.owners.get(rid) for rid in record_ids} - {besides, None}
        entries = {oid: list(self.outbox[oid][0]) for oid in owners if oid in self.outbox}
        named = sorted({*record_ids, *(rid for ids in entries.values() for rid in ids)})
        return settle_waiting(record_ids, entries, self._stored(named))

    async def stage_version(
        self, view: RecordView, event: RecordEntered, previous_version: int, outbox_id: str
    ) -> bool:
        """Compare-and-set on the version."""
        current = self.views.get(view.record_id)
        if current is None or current.version != previous_version:
            return False
        self.views[view.record_id] = view
        self.events[view.record_id] = event
        self.owners[view.record_id] = outbox_id
        return True

    async def unpublished(
        self, older_than: datetime, limit: int
    ) -> list[tuple[str, list[RecordEntered]]]:
        """Entries older than ``older_than``, with the events of the records they own."""
        return [
            (oid, [s.event for s in self._stored(ids).values() if s.owner in (oid, None)])
            for oid, (ids, at) in self.outbox.items()
            if at < older_than
        ][:limit]

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


class InMemoryImportJobs:
    """Import jobs in a dict, shaped like the store's documents."""

    def __init__(self) -> None:
        self.jobs: dict[str, dict[str, Any]] = {}

    async def create(self, job_id: str, owner: str, unit_code: str, started_at: datetime) -> None:
        """Register a job (again: it keeps its counts)."""
        job = self.jobs.setdefault(
            job_id,
            {
                "_id": job_id,
                "owner": owner,
                "unit_code": unit_code,
                "started_at": started_at,
                "lines_committed": 0,
                "submitted": 0,
                "repeated": 0,
                "error_count": 0,
                "errors": [],
            },
        )
        job["status"] = "running"

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job, or None."""
        return self.jobs.get(job_id)

    async def progress(
        self,
        job_id: str,
        *,
        lines: int,
        submitted: int,
        repeated: int,
        errors: Sequence[dict[str, Any]],
        error_count: int,
    ) -> None:
        """Add a committed chunk's counts."""
        job = self.jobs[job_id]
        job["lines_committed"] += lines
        job["submitted"] += submitted
        job["repeated"] += repeated
        job["error_count"] += error_count
        job["errors"] = [*job["errors"], *errors][:1000]

    async def finish(self, job_id: str, status: str, at: datetime) -> None:
        """Mark the job ended."""
        self.jobs[job_id]["status"] = status
