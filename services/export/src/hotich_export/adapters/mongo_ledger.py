"""MongoDB (motor) receipts ledger: the only module here that calls motor."""

from __future__ import annotations

from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import PyMongoError

from hotich_export.service_layer.ports import Receipt
from hotich_runtime.errors import RetryableError


class MongoReceiptLedger:
    """Receipts keyed by idempotency key (record id + version)."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._receipts = db["receipts"]

    async def get(self, idempotency_key: str) -> Receipt | None:
        """Return the receipt for ``idempotency_key``."""
        try:
            doc = await self._receipts.find_one({"_id": idempotency_key})
        except PyMongoError as exc:
            raise RetryableError(f"ledger: {exc!r}") from exc
        if doc is None:
            return None
        return Receipt(
            idempotency_key=doc["_id"],
            record_id=doc["record_id"],
            record_version=doc["record_version"],
            national_id=doc["national_id"],
            exported_at=doc["exported_at"],
            http_status=doc["http_status"],
        )

    async def put(self, receipt: Receipt) -> None:
        """Upsert the receipt; a repeat keeps the first."""
        try:
            await self._receipts.update_one(
                {"_id": receipt.idempotency_key},
                {
                    "$setOnInsert": {
                        "record_id": receipt.record_id,
                        "record_version": receipt.record_version,
                        "national_id": receipt.national_id,
                        "exported_at": receipt.exported_at,
                        "http_status": receipt.http_status,
                    }
                },
                upsert=True,
            )
        except PyMongoError as exc:
            raise RetryableError(f"ledger: {exc!r}") from exc
