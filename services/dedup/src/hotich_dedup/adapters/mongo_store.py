"""MongoDB (motor) adapter of the dedup store: the only module here that calls motor."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo.errors import BulkWriteError, PyMongoError

from hotich_runtime.errors import RetryableError


class MongoExactKeyIndex:
    """Natural keys as ``_id`` of the ``exact_keys`` collection: the unique index is free."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._keys = db["exact_keys"]

    async def claim(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Insert every claim unordered; losers read the owner back."""
        if not claims:
            return {}
        docs = [{"_id": key, "record_id": record_id} for key, record_id in claims]
        try:
            try:
                await self._keys.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                    raise
            keys = list({key for key, _ in claims})
            owners = {
                doc["_id"]: doc["record_id"]
                async for doc in self._keys.find({"_id": {"$in": keys}})
            }
        except PyMongoError as exc:
            raise RetryableError(f"dedup store: {exc!r}") from exc
        return owners
