"""MongoDB (motor) projection of reporting: the only module here that calls motor."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import UpdateOne
from pymongo.errors import PyMongoError

from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_contracts.events import STAGE_RANK
from hotich_reporting.domain.progress import Cell
from hotich_runtime.errors import RetryableError


class MongoProjection:
    """One document per record: its unit, type, phase and current status.

    Counts are aggregated from it on demand. Applying an event twice changes nothing
    (statuses only move forward per version), so redelivery is harmless.
    """

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._records = db["record_status"]

    async def apply(self, events: Sequence[RecordEventBase]) -> None:
        """Upsert the facts of each event, then its status when it is not stale."""
        ops: list[UpdateOne] = []
        for event in events:
            event_type = getattr(event, "event_type", "")
            rank = STAGE_RANK[event_type]
            payload: Any = getattr(event, "payload", None)
            facts: dict[str, Any] = {"unit_code": event.unit_code}
            record = getattr(payload, "record", None)
            if record is not None:
                facts["record_type"] = str(record.record_type)
            if rank >= 1 and payload.phase is not None:
                facts["phase"] = str(payload.phase)
            status = "received" if rank == 0 else str(payload.status)
            ops.append(UpdateOne({"_id": event.record_id}, {"$set": facts}, upsert=True))
            ops.append(
                UpdateOne(
                    {
                        "_id": event.record_id,
                        "$or": [
                            {"rank": {"$exists": False}},
                            {"version": {"$lt": event.record_version}},
                            {"version": event.record_version, "rank": {"$lt": rank}},
                        ],
                    },
                    {
                        "$set": {
                            "status": status,
                            "rank": rank,
                            "version": event.record_version,
                            "updated_at": utcnow(),
                        }
                    },
                )
            )
        if not ops:
            return
        try:
            await self._records.bulk_write(ops, ordered=True)
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc

    async def cells(self, phase: str | None = None) -> list[Cell]:
        """Counts grouped by unit, phase, type and status."""
        match: dict[str, Any] = {"status": {"$exists": True}}
        if phase is not None:
            match["phase"] = phase
        pipeline = [
            {"$match": match},
            {
                "$group": {
                    "_id": {
                        "u": "$unit_code",
                        "p": {"$ifNull": ["$phase", "unassigned"]},
                        "t": {"$ifNull": ["$record_type", "unknown"]},
                        "s": "$status",
                    },
                    "n": {"$sum": 1},
                }
            },
        ]
        return [
            Cell(d["_id"]["u"], d["_id"]["p"], d["_id"]["t"], d["_id"]["s"], d["n"])
            async for d in self._records.aggregate(pipeline)
        ]
