"""MongoDB (motor) adapter of intake's own store: the only module here that calls motor."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_contracts.events import (
    STAGE_RANK,
    RecordEntered,
    RecordEnteredPayload,
    RecordStatus,
    resolves_suspicion,
)
from hotich_contracts.records import RECORD_ADAPTER
from hotich_intake.domain.model import Account, RecordView
from hotich_intake.service_layer.ports import (
    AccountAlreadyExists,
    AuditEntry,
    KeyOwner,
    NewRecord,
    Stored,
    settle_waiting,
)
from hotich_runtime.auth import Role
from hotich_runtime.errors import RetryableError

Db = AsyncIOMotorDatabase[dict[str, Any]]


async def ensure_indexes(db: Db) -> None:
    """Create the indexes intake's queries need (idempotent)."""
    await db["records"].create_index([("unit_code", ASCENDING), ("_id", ASCENDING)])
    # No index on scope_key: the record id is derived from it, so ``_id`` is the claim. A
    # store made before that keeps a unique index on it, which would refuse new records
    # whose key an old one holds under another id: drop it.
    if "scope_key_1" in await db["records"].index_information():
        await db["records"].drop_index("scope_key_1")
    # No index on the ids an outbox entry names either: a record notes its owning entry
    # (``outbox_id``). A store made before that keeps one, written on every record: drop it.
    if "record_ids_1" in await db["outbox"].index_information():
        await db["outbox"].drop_index("record_ids_1")
    await db["outbox"].create_index("created_at")
    await db["login_failures"].create_index(
        "at", expireAfterSeconds=int(LOGIN_FAILURE_WINDOW.total_seconds())
    )
    await db["login_failures"].create_index("username")
    await db["audit"].create_index([("at", DESCENDING)])
    await db["audit"].create_index([("actor", ASCENDING), ("at", DESCENDING)])


class MongoAccountStore:
    """Accounts keyed by username."""

    def __init__(self, db: Db) -> None:
        self._c = db["accounts"]
        self._failures = db["login_failures"]

    async def add(self, account: Account) -> None:
        """Insert a new account."""
        try:
            await self._c.insert_one(
                {
                    "_id": account.username,
                    "unit_code": account.unit_code,
                    "role": account.role.value,
                    "password_hash": account.password_hash,
                    "locked": account.locked,
                    "created_at": account.created_at or utcnow(),
                    "locked_at": None,
                }
            )
        except DuplicateKeyError as exc:
            raise AccountAlreadyExists(account.username) from exc

    @staticmethod
    def _account(doc: dict[str, Any]) -> Account:
        return Account(
            username=doc["_id"],
            unit_code=doc["unit_code"],
            role=Role(doc["role"]),
            password_hash=doc["password_hash"],
            locked=doc["locked"],
            created_at=doc.get("created_at"),
            locked_at=doc.get("locked_at"),
        )

    async def get(self, username: str) -> Account | None:
        """Return the account, or None."""
        doc = await self._c.find_one({"_id": username})
        return None if doc is None else self._account(doc)

    async def get_many(self, usernames: Sequence[str]) -> dict[str, Account]:
        """Return the accounts that exist among ``usernames`` (one query).

        Raises:
            RetryableError: the store did not answer.
        """
        try:
            docs = self._c.find({"_id": {"$in": sorted(set(usernames))}})
            return {doc["_id"]: self._account(doc) async for doc in docs}
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc

    async def set_locked(self, username: str, locked: bool, at: datetime) -> bool:
        """Lock or unlock the account."""
        result = await self._c.update_one(
            {"_id": username}, {"$set": {"locked": locked, "locked_at": at if locked else None}}
        )
        return result.matched_count == 1

    async def list(self) -> list[Account]:
        """Every account, by username."""
        return [self._account(d) async for d in self._c.find().sort("_id", ASCENDING)]

    async def set_password_hash(self, username: str, password_hash: str) -> bool:
        """Replace the password hash."""
        result = await self._c.update_one(
            {"_id": username}, {"$set": {"password_hash": password_hash}}
        )
        return result.matched_count == 1

    async def record_login_failure(self, username: str, at: datetime) -> None:
        """Count a failure; the TTL index forgets old ones."""
        await self._failures.insert_one({"username": username, "at": at})

    async def login_failures(self, username: str, now: datetime) -> int:
        """Failures within the window."""
        return int(
            await self._failures.count_documents(
                {"username": username, "at": {"$gt": now - LOGIN_FAILURE_WINDOW}}
            )
        )

    async def clear_login_failures(self, username: str) -> None:
        """Forget failures after a successful login."""
        await self._failures.delete_many({"username": username})


LOGIN_FAILURE_WINDOW = timedelta(minutes=15)


def _only_duplicates(exc: BulkWriteError) -> None:
    """Re-raise unless every write error is a duplicate key (a repeat, which is fine)."""
    if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
        raise exc


def _record_doc(item: NewRecord, outbox_id: str, now: datetime) -> dict[str, Any]:
    view, event = item.view, item.event
    return {
        "_id": view.record_id,
        "outbox_id": outbox_id,
        "version": view.version,
        "unit_code": view.unit_code,
        "entered_by": view.entered_by,
        "record_type": view.record_type,
        "status": view.status,
        "status_version": view.version,
        "status_rank": 0,
        "phase": None,
        "reasons": [],
        "warnings": [],
        "national_id": None,
        "record": view.record,
        "history": [],
        "created_at": now,
        "updated_at": now,
        "scope_key": item.scope_key,
        "body_hash": item.body_hash,
        **_event_fields(event),
    }


def _event_fields(event: RecordEntered) -> dict[str, Any]:
    """What it takes, besides the record itself, to rebuild the entered event exactly."""
    return {
        "event_id": str(event.event_id),
        "occurred_at": event.occurred_at,
        "correlation_id": event.correlation_id,
        "idempotency_key": event.payload.idempotency_key,
    }


def _rebuild_event(doc: dict[str, Any]) -> RecordEntered:
    return RecordEntered(
        event_id=uuid.UUID(doc["event_id"]),
        occurred_at=doc["occurred_at"],
        actor=doc["entered_by"],
        correlation_id=doc["correlation_id"],
        record_id=doc["_id"],
        record_version=doc["version"],
        unit_code=doc["unit_code"],
        payload=RecordEnteredPayload(
            record=RECORD_ADAPTER.validate_python(doc["record"]),
            idempotency_key=doc.get("idempotency_key"),
        ),
    )


def _view(doc: dict[str, Any]) -> RecordView:
    return RecordView(
        record_id=doc["_id"],
        version=doc["version"],
        unit_code=doc["unit_code"],
        entered_by=doc["entered_by"],
        record_type=doc["record_type"],
        status=doc["status"],
        phase=doc.get("phase"),
        reasons=doc.get("reasons", []),
        warnings=doc.get("warnings", []),
        national_id=doc.get("national_id"),
        record=doc["record"],
        # Events of different topics arrive in any order: show them in lifecycle order.
        history=sorted(
            doc.get("history", []),
            key=lambda h: (h["version"], STAGE_RANK.get(h["event_type"], 9), h["at"]),
        ),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
    )


class MongoRecordStore:
    """Records (latest version + history) with their outbox flag, and idempotency keys."""

    def __init__(self, db: Db) -> None:
        self._records = db["records"]
        self._outbox = db["outbox"]

    async def open_outbox(self, outbox_id: str, record_ids: Sequence[str]) -> None:
        """One small document per submission, before the records are written."""
        try:
            await self._outbox.insert_one(
                {"_id": outbox_id, "record_ids": list(record_ids), "created_at": utcnow()}
            )
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc

    async def close_outbox(self, outbox_ids: Sequence[str]) -> None:
        """Delete outbox entries whose events were acknowledged."""
        if outbox_ids:
            with contextlib.suppress(PyMongoError):  # the relay republishes what stays
                await self._outbox.delete_many({"_id": {"$in": list(outbox_ids)}})

    async def insert_records(
        self, items: Sequence[NewRecord], outbox_id: str
    ) -> dict[str, KeyOwner]:
        """Insert unordered; a record id taken (the same ``scope_key``) keeps its owner."""
        if not items:
            return {}
        now = utcnow()
        owners: dict[str, KeyOwner] = {}
        for i in items:  # the first item of a key is the one stored, if any is
            owners.setdefault(
                i.scope_key, KeyOwner(i.view.record_id, i.body_hash, str(i.event.event_id))
            )
        try:
            try:
                await self._records.insert_many(
                    [_record_doc(i, outbox_id, now) for i in items], ordered=False
                )
                return owners
            except BulkWriteError as exc:
                _only_duplicates(exc)
                lost = {
                    items[e["index"]].view.record_id for e in exc.details.get("writeErrors", [])
                }
            cursor = self._records.find(
                {"_id": {"$in": list(lost)}}, {"scope_key": 1, "body_hash": 1, "event_id": 1}
            )
            found: set[str] = set()
            async for doc in cursor:
                owners[doc["scope_key"]] = KeyOwner(doc["_id"], doc["body_hash"], doc["event_id"])
                found.add(doc["_id"])
            if missing := sorted(lost - found):  # refused for another unique key
                raise RetryableError(f"intake store: records refused, not stored: {missing[:5]}")
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc
        return owners

    async def _stored(self, record_ids: Sequence[str]) -> dict[str, Stored]:
        cursor = self._records.find({"_id": {"$in": list(record_ids)}}, {"history": 0})
        return {
            doc["_id"]: Stored(doc.get("outbox_id"), _rebuild_event(doc)) async for doc in cursor
        }

    async def pending_events(
        self, record_ids: Sequence[str], *, besides: str | None = None
    ) -> tuple[list[str], list[RecordEntered]]:
        """Open entries (but ``besides``) owning these records; see the port."""
        try:
            # The owners first (a small projection): most resent records' owning entry
            # is closed, and then nothing more is read.
            owner_of = {
                d["_id"]: d.get("outbox_id")
                async for d in self._records.find(
                    {"_id": {"$in": list(record_ids)}}, {"outbox_id": 1}
                )
            }
            owners = set(owner_of.values()) - {besides, None}
            if not owners:
                return [], []
            entries = {
                d["_id"]: list(d["record_ids"])
                async for d in self._outbox.find({"_id": {"$in": sorted(owners)}})
            }
            if not entries:
                return [], []
            waiting = {rid for rid, owner in owner_of.items() if owner in entries}
            named = {rid for ids in entries.values() for rid in ids}
            stored = await self._stored(sorted(waiting | named))
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc
        return settle_waiting(record_ids, entries, stored)

    async def stage_version(
        self, view: RecordView, event: RecordEntered, previous_version: int, outbox_id: str
    ) -> bool:
        """Replace the record by its corrected version if nobody else did first."""
        try:
            result = await self._records.update_one(
                {"_id": view.record_id, "version": previous_version},
                {
                    "$set": {
                        "version": view.version,
                        "outbox_id": outbox_id,
                        "record": view.record,
                        "record_type": view.record_type,
                        "entered_by": view.entered_by,
                        "status": view.status,
                        "status_version": view.version,
                        "status_rank": 0,
                        "phase": None,
                        "reasons": [],
                        "warnings": [],
                        "updated_at": utcnow(),
                        **_event_fields(event),
                    }
                },
            )
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc
        return result.modified_count == 1

    async def unpublished(
        self, older_than: datetime, limit: int
    ) -> list[tuple[str, list[RecordEntered]]]:
        """Outbox entries older than ``older_than``, with the events of the records they own."""
        entries = [
            d async for d in self._outbox.find({"created_at": {"$lt": older_than}}).limit(limit)
        ]
        found = []
        for entry in entries:
            stored = await self._stored(entry["record_ids"])
            owned = [s.event for s in stored.values() if s.owner in (entry["_id"], None)]
            found.append((entry["_id"], owned))
        return found

    async def get(self, record_id: str) -> RecordView | None:
        """Return the view of ``record_id``."""
        doc = await self._records.find_one({"_id": record_id})
        return None if doc is None else _view(doc)

    async def list(
        self,
        *,
        unit_codes: Sequence[str] | None,
        filters: dict[str, Any],
        limit: int,
        after: str | None,
    ) -> list[RecordView]:
        """Records of ``unit_codes`` (None = all) matching ``filters``, paged by id."""
        query: dict[str, Any] = {k: v for k, v in filters.items() if v is not None}
        if unit_codes is not None:
            query["unit_code"] = {"$in": list(unit_codes)}
        if after:
            query["_id"] = {"$gt": after}
        cursor = self._records.find(query, {"history": 0}).sort("_id", ASCENDING).limit(limit)
        return [_view(d) async for d in cursor]

    async def apply(self, events: Sequence[RecordEventBase]) -> None:
        """Push each event to its record's history once; set status only if not stale.

        One read and one write per record, whatever the number of its events in the
        batch: the records are read (50 ids a query), the events folded onto them here,
        and each record written with a compare-and-set on the status it was read with and
        on its history lacking the new event ids. A record another writer changed in
        between (a correction, a second consumer after a rebalance) is read again and
        folded again, so no event is lost or pushed twice. (The former form, one update
        per event and case, cost the store about 14 statements per record.)
        """
        by_record: dict[str, list[RecordEventBase]] = {}
        for event in events:
            by_record.setdefault(event.record_id, []).append(event)
        pending = list(by_record)
        for _attempt in range(_APPLY_ATTEMPTS):
            if not pending:
                return
            conflicted: list[str] = []
            for start in range(0, len(pending), _IDS_PER_QUERY):
                chunk = pending[start : start + _IDS_PER_QUERY]
                conflicted += await self._apply_chunk({rid: by_record[rid] for rid in chunk})
            pending = conflicted
        raise RetryableError(f"intake store: status view kept changing under {pending[:5]}")

    async def _apply_chunk(self, by_record: dict[str, Sequence[RecordEventBase]]) -> Sequence[str]:
        """Fold and write the events of these records; return those written meanwhile."""
        try:
            docs = {
                d["_id"]: d
                async for d in self._records.find({"_id": {"$in": list(by_record)}}, _STATUS_FIELDS)
            }
            ops: list[UpdateOne] = []
            written: list[str] = []
            for record_id, doc in docs.items():
                op = _fold(doc, by_record[record_id])
                if op is not None:
                    ops.append(op)
                    written.append(record_id)
            if not ops:
                return []
            result = await self._records.bulk_write(ops, ordered=False)
            if result.matched_count == len(ops):
                return []
            # Some record changed between the read and the write: find which.
            again = self._records.find({"_id": {"$in": written}}, _STATUS_FIELDS)
            return [d["_id"] async for d in again if _fold(d, by_record[d["_id"]]) is not None]
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc


_APPLY_ATTEMPTS = 10
_IDS_PER_QUERY = 50
_STATUS_FIELDS = {"status": 1, "status_version": 1, "status_rank": 1, "history.event_id": 1}


def _history_entry(event: RecordEventBase) -> dict[str, Any]:
    payload: Any = getattr(event, "payload", None)
    return {
        "event_id": str(event.event_id),
        "event_type": getattr(event, "event_type", ""),
        "version": event.record_version,
        "status": str(payload.status),
        "at": event.occurred_at,
        "reasons": [r.model_dump(mode="json") for r in payload.reasons],
    }


def _supersedes(event: RecordEventBase, status: str, version: int, rank: int) -> bool:
    """Whether ``event`` moves a status held at (``status``, ``version``, ``rank``).

    The status moves only forward: a newer version, or a later stage of the same one.
    A reviewer's resolution replaces the suspicion it resolves, and a redriven export
    that succeeded replaces the failure of the same version.
    """
    payload: Any = getattr(event, "payload", None)
    rank_of_event = STAGE_RANK[getattr(event, "event_type", "")]
    if event.record_version != version:
        return event.record_version > version
    if rank_of_event != rank:
        return rank_of_event > rank
    if resolves_suspicion(event):
        return status == RecordStatus.DUPLICATE_SUSPECTED.value
    return _replaces_failure(str(payload.status), status, rank)


def _replaces_failure(new_status: str, status: str, rank: int) -> bool:
    """A redriven export that succeeded, over the failure of the same version."""
    return (
        rank == STAGE_RANK["record.exported"]
        and new_status == RecordStatus.EXPORTED.value
        and status == RecordStatus.EXPORT_FAILED.value
    )


def _status_fields(event: RecordEventBase, replaces_failure: bool) -> dict[str, Any]:
    """The fields an event sets when it moves the status."""
    payload: Any = getattr(event, "payload", None)
    rank = STAGE_RANK[getattr(event, "event_type", "")]
    status = str(payload.status)
    reasons = [r.model_dump(mode="json") for r in payload.reasons]
    fields: dict[str, Any] = {
        "status": status,
        "status_version": event.record_version,
        "status_rank": rank,
    }
    if rank == 1:
        warnings = [r.model_dump(mode="json") for r in getattr(payload, "warnings", [])]
        fields |= {"phase": payload.phase, "reasons": reasons, "warnings": warnings}
    elif rank >= 2:
        fields["phase"] = payload.phase
        if reasons or status != RecordStatus.EXPORTED.value or replaces_failure:
            fields["reasons"] = reasons
    if getattr(payload, "national_id", None):
        fields["national_id"] = payload.national_id
    return fields


def _fold(doc: dict[str, Any], events: Sequence[RecordEventBase]) -> UpdateOne | None:
    """The compare-and-set update applying ``events`` to ``doc``; None if nothing to do."""
    seen = {h["event_id"] for h in doc.get("history", [])}
    status, version, rank = doc["status"], doc["status_version"], doc["status_rank"]
    pushed: list[dict[str, Any]] = []
    fields: dict[str, Any] = {}
    for event in events:
        entry = _history_entry(event)
        if entry["event_id"] not in seen:
            seen.add(entry["event_id"])
            pushed.append(entry)
        if _supersedes(event, status, version, rank):
            payload: Any = getattr(event, "payload", None)
            replaces = _replaces_failure(str(payload.status), status, rank)
            fields |= _status_fields(event, replaces)
            status, version, rank = (
                fields["status"],
                fields["status_version"],
                fields["status_rank"],
            )
    if not pushed and not fields:
        return None
    update: dict[str, Any] = {}
    if pushed:
        update["$push"] = {"history": {"$each": pushed}}
    if fields:
        update["$set"] = fields | {"updated_at": utcnow()}
    return UpdateOne(
        {
            "_id": doc["_id"],
            "status": doc["status"],
            "status_version": doc["status_version"],
            "status_rank": doc["status_rank"],
            "history.event_id": {"$nin": [e["event_id"] for e in pushed]},
        },
        update,
    )


class MongoAuditLog:
    """The audit trail: inserts only (no update or delete path exists in the code)."""

    def __init__(self, db: Db) -> None:
        self._c = db["audit"]

    async def append(self, entries: Sequence[AuditEntry]) -> None:
        """Insert the entries.

        Raises:
            RetryableError: the store did not answer.
        """
        if not entries:
            return
        try:
            await self._c.insert_many([dict(e.__dict__) for e in entries], ordered=False)
        except PyMongoError as exc:
            raise RetryableError(f"intake store: audit trail: {exc!r}") from exc

    async def query(
        self, *, actor: str | None, action: str | None, since: datetime | None, limit: int
    ) -> list[AuditEntry]:
        """Newest first, filtered."""
        query: dict[str, Any] = {}
        if actor:
            query["actor"] = actor
        if action:
            query["action"] = action
        if since:
            query["at"] = {"$gte": since}
        cursor = self._c.find(query, {"_id": 0}).sort("at", DESCENDING).limit(limit)
        return [AuditEntry(**d) async for d in cursor]


class MongoImportJobs:
    """Import job documents; a store that does not answer raises :class:`RetryableError`."""

    def __init__(self, db: Db) -> None:
        self._c = db["import_jobs"]

    async def create(self, job_id: str, owner: str, unit_code: str, started_at: datetime) -> None:
        """Register a job (a resumed job keeps its counts)."""
        await self._update(
            job_id,
            {
                "$setOnInsert": {
                    "owner": owner,
                    "unit_code": unit_code,
                    "started_at": started_at,
                    "lines_committed": 0,
                    "submitted": 0,
                    "repeated": 0,
                    "error_count": 0,
                    "errors": [],
                },
                "$set": {"status": "running", "updated_at": started_at},
            },
            upsert=True,
        )

    async def get(self, job_id: str) -> dict[str, Any] | None:
        """The job document."""
        try:
            return await self._c.find_one({"_id": job_id})
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc

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
        """Add a committed chunk (errors kept up to 1,000 per job)."""
        await self._update(
            job_id,
            {
                "$inc": {
                    "lines_committed": lines,
                    "submitted": submitted,
                    "repeated": repeated,
                    "error_count": error_count,
                },
                "$push": {"errors": {"$each": list(errors), "$slice": 1000}},
                "$set": {"updated_at": utcnow()},
            },
        )

    async def finish(self, job_id: str, status: str, at: datetime) -> None:
        """Mark the job done."""
        await self._update(job_id, {"$set": {"status": status, "finished_at": at}})

    async def _update(self, job_id: str, update: dict[str, Any], *, upsert: bool = False) -> None:
        try:
            await self._c.update_one({"_id": job_id}, update, upsert=upsert)
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc
