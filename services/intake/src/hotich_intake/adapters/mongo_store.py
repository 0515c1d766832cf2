"""MongoDB (motor) adapter of intake's own store: the only module here that calls motor."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import DuplicateKeyError, PyMongoError

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_contracts.events import STAGE_RANK
from hotich_intake.domain.model import Account, RecordView
from hotich_intake.service_layer.ports import AccountAlreadyExists, IdempotencyConflict
from hotich_runtime.auth import Role
from hotich_runtime.errors import RetryableError

Db = AsyncIOMotorDatabase[dict[str, Any]]


async def ensure_indexes(db: Db) -> None:
    """Create the indexes intake's queries need (idempotent)."""
    await db["records"].create_index([("unit_code", ASCENDING), ("_id", ASCENDING)])
    await db["records"].create_index([("published", ASCENDING), ("created_at", ASCENDING)])


class MongoAccountStore:
    """Accounts keyed by username."""

    def __init__(self, db: Db) -> None:
        self._c = db["accounts"]

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

    async def set_locked(self, username: str, locked: bool, at: datetime) -> bool:
        """Lock or unlock the account."""
        result = await self._c.update_one(
            {"_id": username}, {"$set": {"locked": locked, "locked_at": at if locked else None}}
        )
        return result.matched_count == 1

    async def list(self) -> list[Account]:
        """Every account, by username."""
        return [self._account(d) async for d in self._c.find().sort("_id", ASCENDING)]


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
        history=doc.get("history", []),
        created_at=doc.get("created_at"),
        updated_at=doc.get("updated_at"),
    )


class MongoRecordStore:
    """Records (latest version + history) with their outbox flag, and idempotency keys."""

    def __init__(self, db: Db) -> None:
        self._records = db["records"]
        self._keys = db["idempotency_keys"]

    async def remember_key(self, scope_key: str, body_hash: str, record_id: str) -> str | None:
        """Claim the key; return the earlier record id for a repeat."""
        try:
            await self._keys.insert_one(
                {
                    "_id": scope_key,
                    "body_hash": body_hash,
                    "record_id": record_id,
                    "created_at": utcnow(),
                }
            )
            return None
        except DuplicateKeyError:
            doc = await self._keys.find_one({"_id": scope_key})
            if doc is None:  # released between our insert and read: treat as new
                return None
            if doc["body_hash"] != body_hash:
                raise IdempotencyConflict(scope_key) from None
            return str(doc["record_id"])

    async def forget_key(self, scope_key: str) -> None:
        """Release the key."""
        await self._keys.delete_one({"_id": scope_key})

    async def insert_pending(self, view: RecordView, event_json: str) -> None:
        """Store the record and its event; ``published`` false until Kafka acks."""
        now = utcnow()
        try:
            await self._records.insert_one(
                {
                    "_id": view.record_id,
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
                    "published": False,
                    "outbox_event": event_json,
                }
            )
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc

    async def mark_published(self, record_id: str) -> None:
        """Clear the outbox entry."""
        await self._records.update_one(
            {"_id": record_id}, {"$set": {"published": True}, "$unset": {"outbox_event": ""}}
        )

    async def discard_pending(self, record_id: str) -> None:
        """Delete a record that never reached Kafka."""
        await self._records.delete_one({"_id": record_id, "published": False})

    async def unpublished(self, older_than: datetime, limit: int) -> list[tuple[str, str]]:
        """Records stored but not acknowledged by Kafka (a crash between the two)."""
        cursor = self._records.find(
            {"published": False, "created_at": {"$lt": older_than}}, {"outbox_event": 1}
        ).limit(limit)
        return [(d["_id"], d["outbox_event"]) async for d in cursor]

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
        """Push each event to its record's history once; set status only if not stale."""
        ops: list[UpdateOne] = []
        for event in events:
            payload: Any = getattr(event, "payload", None)
            rank = STAGE_RANK[getattr(event, "event_type", "")]
            status = str(payload.status)
            reasons = [r.model_dump(mode="json") for r in payload.reasons]
            warnings = [r.model_dump(mode="json") for r in getattr(payload, "warnings", [])]
            entry = {
                "event_id": str(event.event_id),
                "event_type": getattr(event, "event_type", ""),
                "version": event.record_version,
                "status": status,
                "at": event.occurred_at,
                "reasons": reasons,
            }
            ops.append(
                UpdateOne(
                    {"_id": event.record_id, "history.event_id": {"$ne": entry["event_id"]}},
                    {"$push": {"history": entry}},
                )
            )
            fields: dict[str, Any] = {
                "status": status,
                "status_version": event.record_version,
                "status_rank": rank,
                "updated_at": utcnow(),
            }
            if rank == 1:
                fields |= {"phase": payload.phase, "reasons": reasons, "warnings": warnings}
            elif rank >= 2:
                fields["phase"] = payload.phase
                if reasons or status != "exported":
                    fields["reasons"] = reasons
            if getattr(payload, "national_id", None):
                fields["national_id"] = payload.national_id
            ops.append(
                UpdateOne(
                    {
                        "_id": event.record_id,
                        "$or": [
                            {"status_version": {"$lt": event.record_version}},
                            {"status_version": event.record_version, "status_rank": {"$lt": rank}},
                        ],
                    },
                    {"$set": fields},
                )
            )
        if not ops:
            return
        try:
            await self._records.bulk_write(ops, ordered=True)
        except PyMongoError as exc:
            raise RetryableError(f"intake store: {exc!r}") from exc
