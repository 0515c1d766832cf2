"""MongoDB (motor) stores of reporting's own inputs.

The survey, acceptance lots and the progress publisher's bookkeeping. Unlike the
projection these are not rebuilt from events: they are what officers entered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from motor.motor_asyncio import AsyncIOMotorClient, AsyncIOMotorDatabase
from pymongo import ReplaceOne, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from hotich_reporting.adapters.codec import book_from_doc, book_to_doc, lot_from_doc, lot_to_doc
from hotich_reporting.domain.acceptance import Lot
from hotich_reporting.domain.metrics import CellCounts
from hotich_reporting.domain.survey import SurveyBook, surveyed_cells
from hotich_reporting.service_layer.ports import ConflictError
from hotich_runtime.errors import RetryableError
from hotich_runtime.mongo import in_transaction

__all__ = ["MongoAcceptance", "MongoPublished", "MongoSurvey"]


class MongoSurvey:
    """``survey_books`` (one document per book) and ``survey_cells`` (surveyed counts).

    The survey changes only when one is imported, so its counters are kept in memory,
    labelled with the import number in the ``meta`` document.
    """

    def __init__(
        self,
        client: AsyncIOMotorClient[dict[str, Any]],
        db: AsyncIOMotorDatabase[dict[str, Any]],
    ) -> None:
        self._client = client
        self._books = db["survey_books"]
        self._cells = db["survey_cells"]
        self._meta = db["meta"]
        self._cache: list[CellCounts] | None = None
        self._cache_import = -1

    async def import_books(self, books: Sequence[SurveyBook], *, replace: bool) -> int:
        """Store books and recompute the surveyed counters, in one transaction.

        Raises:
            RetryableError: the store failed.
        """

        async def write(session: Any) -> None:
            if replace:
                await self._books.delete_many({}, session=session)
            for start in range(0, len(books), 2000):
                await self._books.bulk_write(
                    [
                        ReplaceOne({"_id": b.key}, book_to_doc(b), upsert=True)
                        for b in books[start : start + 2000]
                    ],
                    ordered=False,
                    session=session,
                )
            every = [book_from_doc(d) async for d in self._books.find({}, session=session)]
            await self._cells.delete_many({}, session=session)
            cells = [
                {"_id": f"{b}|{u}|{t}", "p": b, "u": u, "t": t, "n": n}
                for (b, u, t), n in sorted(surveyed_cells(every).items())
            ]
            if cells:
                await self._cells.insert_many(cells, session=session)
            await self._meta.update_one(
                {"_id": "survey"}, {"$inc": {"imports": 1}}, upsert=True, session=session
            )

        try:
            # The survey is written at imports only: an index costs nothing at run time.
            await self._books.create_index("unit")
            await in_transaction(self._client, write)
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc
        self._cache = None
        return len(books)

    async def books(self, unit_code: str | None = None) -> list[SurveyBook]:
        """Books entered by a unit, or all, by key."""
        query = {"unit": unit_code} if unit_code is not None else {}
        found = [book_from_doc(d) async for d in self._books.find(query)]
        return sorted(found, key=lambda b: b.key)

    async def book(self, book_key: str) -> SurveyBook | None:
        """One book."""
        doc = await self._books.find_one({"_id": book_key})
        return book_from_doc(doc) if doc is not None else None

    async def version(self) -> int:
        """How many imports happened."""
        meta = await self._meta.find_one({"_id": "survey"})
        return int(meta["imports"]) if meta is not None else 0

    async def cells(self) -> list[CellCounts]:
        """``surveyed`` per (bucket, unit, type), from memory while no import happened."""
        number = await self.version()
        if self._cache is None or self._cache_import != number:
            self._cache = [
                CellCounts(d["p"], d["u"], d["t"], {"surveyed": int(d["n"])})
                async for d in self._cells.find({})
            ]
            self._cache_import = number
        return list(self._cache)


class MongoAcceptance:
    """``acceptance_lots``: one document per lot, replaced whole with a revision check."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._lots = db["acceptance_lots"]

    async def get(self, lot_id: str) -> Lot | None:
        """One lot."""
        doc = await self._lots.find_one({"_id": lot_id})
        return lot_from_doc(doc) if doc is not None else None

    async def put(self, lot: Lot, expected_revision: int | None) -> None:
        """Store the lot with revision + 1 if the stored one has ``expected_revision``.

        Raises:
            ConflictError: it changed meanwhile, or a new lot exists already.
            RetryableError: the store failed.
        """
        doc = lot_to_doc(lot)
        doc["rev"] = (expected_revision or 0) + 1
        try:
            if expected_revision is None:
                await self._lots.insert_one(doc)
                return
            result = await self._lots.replace_one({"_id": lot.id, "rev": expected_revision}, doc)
        except DuplicateKeyError as exc:
            raise ConflictError(lot.id) from exc
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc
        if result.matched_count != 1:
            raise ConflictError(lot.id)

    async def list(self, phase: str | None = None) -> list[Lot]:
        """Every lot (of a phase), by id."""
        query = {"phase": phase} if phase is not None else {}
        return [lot_from_doc(d) async for d in self._lots.find(query).sort("_id", 1)]


class MongoPublished:
    """``progress_published`` (key -> fingerprint) and the ``leases`` document."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._published = db["progress_published"]
        self._leases = db["leases"]

    async def fingerprints(self) -> dict[str, str]:
        """Key -> fingerprint of the last snapshot published."""
        return {d["_id"]: d["f"] async for d in self._published.find({})}

    async def remember(self, fingerprints: Mapping[str, str]) -> None:
        """Record what was just published."""
        if fingerprints:
            await self._published.bulk_write(
                [
                    ReplaceOne({"_id": k}, {"_id": k, "f": f}, upsert=True)
                    for k, f in sorted(fingerprints.items())
                ],
                ordered=False,
            )

    async def acquire_lease(self, owner: str, seconds: float) -> bool:
        """Take the lease if free or expired, or renew it if ours."""
        now = datetime.now(UTC)
        try:
            doc = await self._leases.find_one_and_update(
                {
                    "_id": "progress-publisher",
                    "$or": [{"owner": owner}, {"until": {"$lt": now}}],
                },
                {"$set": {"owner": owner, "until": now + timedelta(seconds=seconds)}},
                upsert=True,
                return_document=ReturnDocument.AFTER,
            )
        except DuplicateKeyError:
            return False  # another owner holds an unexpired lease
        return doc is not None and doc.get("owner") == owner
