"""Ports of the intake service."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hotich_contracts.envelope import RecordEventBase
from hotich_contracts.events import RecordEntered
from hotich_intake.domain.model import Account, RecordView


class AccountAlreadyExists(Exception):
    """An account with that username exists."""


class AccountStore(Protocol):
    """Accounts, by username."""

    async def add(self, account: Account) -> None:
        """Insert; raises AccountAlreadyExists."""

    async def get(self, username: str) -> Account | None:
        """Return the account."""

    async def get_many(self, usernames: Sequence[str]) -> dict[str, Account]:
        """Return the accounts that exist among ``usernames``, by username."""

    async def set_locked(self, username: str, locked: bool, at: datetime) -> bool:
        """Lock or unlock; False if there is no such account."""

    async def list(self) -> list[Account]:
        """All accounts."""

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace the password hash; False if there is no such account."""

    async def record_login_failure(self, username: str, at: datetime) -> None:
        """Count a failed login."""

    async def login_failures(self, username: str, now: datetime) -> int:
        """Failed logins within the throttling window."""

    async def clear_login_failures(self, username: str) -> None:
        """Forget failed logins after a success."""


@dataclass(frozen=True)
class KeyOwner:
    """The record an idempotency key (explicit or natural) already belongs to.

    ``event_id`` is the id of the event that created it: a submission whose own event id
    it is created the record; any other found it there.
    """

    record_id: str
    body_hash: str
    event_id: str


@dataclass(frozen=True)
class NewRecord:
    """A record about to be stored: its view, the key it claims, and its event."""

    view: RecordView
    scope_key: str
    body_hash: str
    event: RecordEntered


class RecordStore(Protocol):
    """Intake's record view and its outbox.

    The outbox holds one small document per submission (the record ids it covers) from
    before the records are stored until Kafka acknowledged their events; events are
    rebuilt from the record documents, so nothing is stored twice. Each record notes the
    entry of the writer that stored its current version (its *owner*): its event is
    waiting exactly while that entry is open. A record is found from its id, and its
    entry from the entry id, so the outbox needs no index on the ids it names (a
    multikey index there cost the store an index write and delete per record entered).
    """

    async def open_outbox(self, outbox_id: str, record_ids: Sequence[str]) -> None:
        """Note that these records' events are not yet acknowledged."""

    async def close_outbox(self, outbox_ids: Sequence[str]) -> None:
        """The events of these outbox entries were acknowledged."""

    async def insert_records(
        self, items: Sequence[NewRecord], outbox_id: str
    ) -> dict[str, KeyOwner]:
        """Store new records, each noting ``outbox_id`` (the entry covering its event).

        Each claims its ``scope_key`` atomically: the record id is derived from the key
        (:func:`record_id_for`), so the unique record id is the claim. Returns every key's
        owner: the item itself where it was stored, the earlier record where the key was
        taken (by an earlier submission or by an item before it in ``items``).
        """

    async def pending_events(
        self, record_ids: Sequence[str], *, besides: str | None = None
    ) -> tuple[list[str], list[RecordEntered]]:
        """What a resend may publish now for records whose owning entry is still open.

        Returns the entries (but ``besides``, the caller's own) that may be closed, and
        the events to publish: see :func:`settle_waiting`.
        """

    async def stage_version(
        self, view: RecordView, event: RecordEntered, previous_version: int, outbox_id: str
    ) -> bool:
        """Store a corrected version (owned by ``outbox_id``) if ``previous_version`` is current."""

    async def unpublished(
        self, older_than: datetime, limit: int
    ) -> list[tuple[str, list[RecordEntered]]]:
        """Outbox entries older than ``older_than`` with the events of the records they own.

        A record stored before records noted their owner counts as owned by every entry
        naming it.
        """

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
        """List records of the given units, paged by record id."""

    async def apply(self, events: Sequence[RecordEventBase]) -> None:
        """Apply outcome events to the views: history once per event id, status if newer."""


@dataclass(frozen=True)
class AuditEntry:
    """One action (nhật ký): who, from which unit, what, on what, when, from where, outcome."""

    at: datetime
    actor: str
    unit_code: str | None
    action: str
    target: str | None
    outcome: str
    client: str | None
    detail: dict[str, Any]


class AuditLog(Protocol):
    """Append-only audit trail, queryable by the Department."""

    async def append(self, entries: Sequence[AuditEntry]) -> None:
        """Add entries; never updates or deletes."""

    async def query(
        self, *, actor: str | None, action: str | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first."""


class ImportJobs(Protocol):
    """Progress of bulk NDJSON imports (migration track)."""

    async def create(self, job_id: str, owner: str, unit_code: str, started_at: datetime) -> None:
        """Register a job."""

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """Return a job's document."""

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
        """Add a committed chunk's counts (lines fully handed to Kafka)."""

    async def finish(self, job_id: str, status: str, at: datetime) -> None:
        """Mark a job completed or failed."""


@dataclass(frozen=True)
class Stored:
    """A stored record's entered event and the outbox entry that owns it (None: not noted)."""

    owner: str | None
    event: RecordEntered


def settle_waiting(
    record_ids: Sequence[str],
    entries: Mapping[str, Sequence[str]],
    stored: Mapping[str, Stored],
) -> tuple[list[str], list[RecordEntered]]:
    """Which open outbox entries a resend may close, and which events it publishes.

    ``entries`` are the open entries owning any of ``record_ids`` (entry id -> the record
    ids it names) and ``stored`` the stored records among the ids they name. An entry is
    closed only when every record it names is stored: its writer is then past its insert
    (an id it names is either stored by it or held by an earlier record), so no record it
    may still store goes without an open entry. The events published are those of the
    resent records whose owning entry is open, and of the records the closed entries own;
    an entry whose writer is still inserting stays open for its writer or the relay.
    """
    closable = [oid for oid, ids in entries.items() if all(rid in stored for rid in ids)]
    wanted = {rid for rid in record_ids if rid in stored and stored[rid].owner in entries}
    wanted.update(rid for oid in closable for rid in entries[oid] if _owned(stored[rid], oid))
    return closable, [stored[rid].event for rid in sorted(wanted)]


def _owned(record: Stored, outbox_id: str) -> bool:
    return record.owner in (outbox_id, None)
