"""MongoDB (motor) delivery store and receipts ledger: the only module here that calls motor.

One collection, ``deliveries``, keyed by idempotency key. The happy path writes one
document per record version (already ``exported``: a receipt); parked and failed
versions keep the event that asked for them, so a scheduled retry or a redrive needs
nothing but this store.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from hotich_export.domain.delivery import Delivery, DeliveryState, Operation
from hotich_export.service_layer.ports import StoreSummary
from hotich_runtime.errors import RetryableError

DUPLICATE_KEY = 11000
_CHUNK = 1000
_NO_EVENT = {"event": 0}


def _doc(d: Delivery) -> dict[str, Any]:
    return {
        "_id": d.key,
        "record_id": d.record_id,
        "version": d.version,
        "unit_code": d.unit_code,
        "state": d.state.value,
        "event": d.event_json,
        "attempts": d.attempts,
        "due_at": d.due_at,
        "national_id": d.national_id,
        "operation": d.operation.value if d.operation else None,
        "http_status": d.http_status,
        "response": d.response,
        "exported_at": d.exported_at,
        "reasons": list(d.reasons),
        "last_error": d.last_error,
        "redrives": d.redrives,
        "previous_national_ids": list(d.previous_national_ids),
    }


def _delivery(doc: dict[str, Any]) -> Delivery:
    operation = doc.get("operation")
    return Delivery(
        key=doc["_id"],
        record_id=doc["record_id"],
        version=doc["version"],
        unit_code=doc["unit_code"],
        state=DeliveryState(doc["state"]),
        event_json=doc.get("event"),
        attempts=doc.get("attempts", 0),
        due_at=doc.get("due_at"),
        national_id=doc.get("national_id"),
        operation=Operation(operation) if operation else None,
        http_status=doc.get("http_status"),
        response=doc.get("response"),
        exported_at=doc.get("exported_at"),
        reasons=tuple(doc.get("reasons") or ()),
        last_error=doc.get("last_error"),
        redrives=doc.get("redrives", 0),
        previous_national_ids=tuple(doc.get("previous_national_ids") or ()),
    )


def _unavailable(exc: PyMongoError) -> RetryableError:
    return RetryableError(f"export store: {exc!r}")


class MongoDeliveryStore:
    """Deliveries in export's own database."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._deliveries = db["deliveries"]

    async def ensure_indexes(self) -> None:
        """Create the indexes the queries use (idempotent)."""
        try:
            await self._deliveries.create_index([("record_id", ASCENDING), ("version", ASCENDING)])
            await self._deliveries.create_index([("state", ASCENDING), ("due_at", ASCENDING)])
            await self._deliveries.create_index([("unit_code", ASCENDING), ("state", ASCENDING)])
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def of_records(self, record_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        """Every delivery of these records (without their events), by record id."""
        found: dict[str, list[Delivery]] = {}
        if not record_ids:
            return found
        try:
            cursor = self._deliveries.find({"record_id": {"$in": list(record_ids)}}, _NO_EVENT)
            async for doc in cursor:
                found.setdefault(doc["record_id"], []).append(_delivery(doc))
        except PyMongoError as exc:
            raise _unavailable(exc) from exc
        return found

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        """Insert new deliveries; a key already stored is left as it is."""
        if not deliveries:
            return
        try:
            await self._deliveries.insert_many([_doc(d) for d in deliveries], ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != DUPLICATE_KEY for e in errors) or not errors:
                raise _unavailable(exc) from exc
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[Delivery]:
        """Lease up to ``limit`` due pending deliveries, earliest due first."""
        due = {"state": DeliveryState.PENDING.value, "due_at": {"$lte": now}}
        lease = {"due_at": now + timedelta(seconds=lease_s)}
        try:
            for _ in range(3):  # claimers racing for the same ids: the losers look again
                ids = [
                    doc["_id"]
                    async for doc in self._deliveries.find(due, {"_id": 1})
                    .sort("due_at", ASCENDING)
                    .limit(limit)
                ]
                if not ids:
                    return []
                token = uuid.uuid4().hex
                await self._deliveries.update_many(
                    {"_id": {"$in": ids}, **due}, {"$set": {**lease, "claim": token}}
                )
                claimed = [
                    _delivery(doc)
                    async for doc in self._deliveries.find({"_id": {"$in": ids}, "claim": token})
                ]
                if claimed:
                    break
        except PyMongoError as exc:
            raise _unavailable(exc) from exc
        return sorted(claimed, key=lambda d: (d.record_id, d.version))

    async def settle(self, deliveries: Sequence[Delivery]) -> None:
        """Write the new state of claimed deliveries that are still pending."""
        if not deliveries:
            return
        ops = []
        for d in deliveries:
            fields = _doc(d)
            del fields["_id"], fields["event"]
            ops.append(
                UpdateOne(
                    {"_id": d.key, "state": DeliveryState.PENDING.value},
                    {"$set": fields, "$unset": {"claim": ""}},
                )
            )
        try:
            await self._deliveries.bulk_write(ops, ordered=False)
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def hurry(self, record_id: str, after_version: int, due_at: datetime) -> None:
        """Make newer pending deliveries of the record due by ``due_at``."""
        try:
            await self._deliveries.update_many(
                {
                    "record_id": record_id,
                    "version": {"$gt": after_version},
                    "state": DeliveryState.PENDING.value,
                    "due_at": {"$gt": due_at},
                },
                {"$set": {"due_at": due_at}},
            )
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def redrive(
        self, *, record_ids: Sequence[str] | None, failed: bool, now: datetime
    ) -> list[Delivery]:
        """Make failed and/or the given records' deliveries pending, due now."""
        clauses: list[dict[str, Any]] = []
        if failed:
            clauses.append({"state": DeliveryState.FAILED.value})
        if record_ids:
            clauses.append({"record_id": {"$in": list(record_ids)}})
        if not clauses:
            return []
        query = clauses[0] if len(clauses) == 1 else {"$or": clauses}
        redriven: list[Delivery] = []
        try:
            found = [_delivery(doc) async for doc in self._deliveries.find(query, _NO_EVENT)]
            for start in range(0, len(found), _CHUNK):
                chunk = found[start : start + _CHUNK]
                await self._deliveries.bulk_write(
                    [
                        UpdateOne(
                            {"_id": d.key, "state": d.state.value, "redrives": d.redrives},
                            {
                                "$set": {
                                    "state": DeliveryState.PENDING.value,
                                    "due_at": now,
                                    "attempts": 0,
                                },
                                "$inc": {"redrives": 1},
                                "$unset": {"claim": ""},
                            },
                        )
                        for d in chunk
                    ],
                    ordered=False,
                )
                redriven += chunk
        except PyMongoError as exc:
            raise _unavailable(exc) from exc
        return sorted(redriven, key=lambda d: d.key)

    async def summary(self) -> StoreSummary:
        """Counts by state, and the earliest due time of a pending delivery."""
        try:
            by_state = {
                doc["_id"]: doc["n"]
                async for doc in self._deliveries.aggregate(
                    [{"$group": {"_id": "$state", "n": {"$sum": 1}}}]
                )
            }
            first = await self._deliveries.find_one(
                {"state": DeliveryState.PENDING.value}, {"due_at": 1}, sort=[("due_at", ASCENDING)]
            )
        except PyMongoError as exc:
            raise _unavailable(exc) from exc
        return StoreSummary(by_state, first["due_at"] if first else None)

    async def units(self) -> list[str]:
        """Every unit code with a delivery."""
        try:
            return sorted(await self._deliveries.distinct("unit_code"))
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def receipts(self, unit_code: str) -> AsyncIterator[Delivery]:
        """The exported deliveries of one unit (the ledger), streamed."""
        query = {"unit_code": unit_code, "state": DeliveryState.EXPORTED.value}
        try:
            async for doc in self._deliveries.find(query, _NO_EVENT).sort("_id", ASCENDING):
                yield _delivery(doc)
        except PyMongoError as exc:
            raise _unavailable(exc) from exc

    async def undelivered_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Of ``keys``, those stored in another state than exported."""
        found: dict[str, str] = {}
        try:
            for start in range(0, len(keys), _CHUNK):
                cursor = self._deliveries.find(
                    {
                        "_id": {"$in": list(keys[start : start + _CHUNK])},
                        "state": {"$ne": DeliveryState.EXPORTED.value},
                    },
                    {"state": 1},
                )
                async for doc in cursor:
                    found[doc["_id"]] = doc["state"]
        except PyMongoError as exc:
            raise _unavailable(exc) from exc
        return found
