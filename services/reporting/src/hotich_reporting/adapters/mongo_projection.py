"""MongoDB (motor) projection of reporting: per-record states and pre-aggregated counters.

Collections (all in reporting's own database):

* ``records``: one small document per record, its folded state (the only place the
  per-record truth lives);
* ``cells``: counters per (phase bucket, unit, record type), ``_id`` =
  ``<bucket>|<unit>|<type>``: a few thousand documents whatever the number of records,
  so reports read them instead of aggregating records (a ``$group`` over 200,000
  records takes ~3 s on SecantusDB). They are also kept in memory, labelled with the
  ``meta`` document's round number: a query reads one small document to know the copy
  is current, and this process patches its copy with the deltas of its own rounds;
* ``books``: one document per register book (``_id`` = the book key): its counters and
  the entries accounted for (entry key -> the records accounting for it);
  ``unit_books`` lists each unit's book keys;
* ``members``: the accepted records of each acceptance lot (phase, unit), spread over
  64 documents per lot (``<phase>|<unit>|<nn>``, by a hash of the record id).

Every read is by ``_id`` (one, or a list with ``$in``): SecantusDB serves ``_id``
ranges and secondary indexes slowly (a range is a collection scan; an index makes
every write ~3.7 times slower). Entries and lot members live in a few documents each,
not one document per entry or member: a round writes each touched book and lot part
once, and a rebuild writes ~1.4 million documents for 1.37 million records instead of
~4 million.

Every batch of events is applied in one transaction. The prior states of its records
come from an in-process cache (:mod:`.state_cache`: the states this instance last
committed or read, with each document's revision ``n``), else from the store in small
``$in`` reads; the domain computes the new states and the counter deltas; states,
counters, books, lot members and the round number are written together, so a crash
leaves everything as it was and a repeat of the batch changes nothing (its events are
folded in already: no write at all). A record already stored is replaced only at the
revision it was read at (``{_id, n}``): a state another instance changed meanwhile (a
second writer, a partition that moved away and back while this cache held the record)
matches nothing, and the batch is applied again from fresh reads; a concurrent
transaction writing the same document is refused by the store (``WriteConflict``) and
retried the same way. So the cache is never trusted over the store.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import zlib
from collections import Counter
from collections.abc import AsyncIterable, AsyncIterator, Collection, Iterable, Mapping, Sequence
from typing import Any

from motor.motor_asyncio import (
    AsyncIOMotorClient,
    AsyncIOMotorClientSession,
    AsyncIOMotorDatabase,
)
from pymongo import InsertOne, ReplaceOne, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from hotich_reporting.adapters.codec import state_from_doc, state_to_doc
from hotich_reporting.adapters.state_cache import Cached, StateCache
from hotich_reporting.domain.lifecycle import (
    Changes,
    EventView,
    RecordState,
    Totals,
    apply_slot_ops,
    plan_changes,
    slot_id,
)
from hotich_reporting.domain.metrics import CellCounts
from hotich_reporting.service_layer.ports import BookCounts, ConflictError, ProjectionDump
from hotich_runtime.errors import RetryableError
from hotich_runtime.mongo import in_transaction

log = logging.getLogger(__name__)

__all__ = ["COLLECTIONS", "MongoProjection"]

COLLECTIONS = ("records", "cells", "books", "unit_books", "members", "meta")
"""The projection's collections (what a rebuild recreates)."""

_CONFLICT_SECONDS = 60.0
"""How long a batch is applied again while it conflicts with other writers."""
_CHUNK = 2000
_WRITE_CHUNK = 2500
"""Record states written per request (all in the batch's one transaction)."""
_RECORDS_PER_TRANSACTION = 5_000
"""Most records in one transaction (see :meth:`MongoProjection.apply`)."""
_READ_CHUNK = 50
_LOAD_BATCH = 5000
_READ_CONCURRENCY = 4
DEFAULT_CACHED_STATES = 5_000
"""Record states kept in memory by default (see :mod:`.state_cache`)."""
_META = "projection"
_MEMBER_PARTS = 64
"""Documents each acceptance lot's members are spread over."""


def _counts(doc: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in (doc.get("m") or {}).items() if v}


def _field(key: str) -> str:
    # A key (book key, entry key, record id) as a field name: no dots, no dollar.
    return key.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def _unfield(name: str) -> str:
    return name.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def _next_revision(known: Cached | None) -> int:
    return 1 if known is None or known.revision is None else known.revision + 1


async def _add_up(states: Sequence[RecordState], into: Totals, step: int = 2000) -> None:
    """Add ``states`` to ``into``, yielding to the event loop every ``step`` states."""
    for start in range(0, len(states), step):
        for state in states[start : start + step]:
            into.add(state)
        await asyncio.sleep(0)


def _member_part(phase: str, unit: str, record_id: str) -> str:
    part = zlib.crc32(record_id.encode()) % _MEMBER_PARTS
    return f"{phase}|{unit}|{part:02d}"


class MongoProjection:
    """The projection in MongoDB; see the module docstring for its documents."""

    def __init__(
        self,
        client: AsyncIOMotorClient[dict[str, Any]],
        db: AsyncIOMotorDatabase[dict[str, Any]],
        *,
        cached_states: int = DEFAULT_CACHED_STATES,
    ) -> None:
        self._client = client
        self._states = StateCache(cached_states)
        self._db = db
        self._records = db["records"]
        self._cells = db["cells"]
        self._books = db["books"]
        self._unit_books = db["unit_books"]
        self._members = db["members"]
        self._meta = db["meta"]
        self._cache: dict[str, CellCounts] | None = None
        self._cache_round = -1
        self._cache_lock = asyncio.Lock()

    # -- writes -------------------------------------------------------------------

    async def apply(self, views: Sequence[EventView]) -> int:
        """Fold events into the projection; return records changed.

        A batch of at most :data:`_RECORDS_PER_TRANSACTION` records is one transaction;
        a larger one is applied in parts of that many records, one transaction each
        (every part a whole record's events). Each record's prior and new state are in
        memory while its part is written, ~2.5 KB a record: a batch of 30,000 events can
        be 30,000 records when they are dedup's and export's events of records entered
        long before (reporting's peak rose by 64 MB end to end as intake finished and
        its batches turned to those), against ~7,500 records when a record's events come
        together. Parts of 10,000 still let it rise by 64 MB in the next whole-backlog run
        (its batches then held up to ~10,000 such records); one batch of 11,245 such
        records peaked at 27.7 MB of allocations in parts of 10,000, 16.0 in parts of
        5,000, 12.2 in parts of 2,500. A crash between parts leaves the earlier ones applied; the whole batch
        is then delivered again and folds nothing twice (see
        :func:`~hotich_reporting.domain.lifecycle.merge`).

        Raises:
            RetryableError: the store failed or kept conflicting; the batch is retried.
        """
        if not views:
            return 0
        ids = list(dict.fromkeys(v.record_id for v in views))
        if len(ids) <= _RECORDS_PER_TRANSACTION:
            return await self._apply(views, ids)
        # One pass over the events: each goes to its record's part, in batch order.
        part_of = {rid: n // _RECORDS_PER_TRANSACTION for n, rid in enumerate(ids)}
        parts: list[list[EventView]] = [[] for _ in range(0, len(ids), _RECORDS_PER_TRANSACTION)]
        for view in views:
            parts[part_of[view.record_id]].append(view)
        changed = 0
        for n, part in enumerate(parts):
            start = n * _RECORDS_PER_TRANSACTION
            changed += await self._apply(part, ids[start : start + _RECORDS_PER_TRANSACTION])
        return changed

    async def _apply(self, views: Sequence[EventView], ids: Sequence[str]) -> int:
        """Fold the events of the records ``ids`` in one transaction.

        The prior states come from the state cache, else from the store (outside the
        transaction, in small ``$in`` reads); every write of a known record is
        conditional on the revision it was read at, so a state someone else changed
        meanwhile refuses the batch, which is then applied again from fresh reads.
        """
        # A record whose first version is entered in this batch is new unless this is a
        # redelivery: it is not looked for in the store (most records of a batch, and a
        # read each otherwise). If it was there after all, its insert fails, the whole
        # transaction with it, and the batch is applied again from reads. (Only the first
        # attempt: inside a transaction an insert racing another writer's may fail as a
        # write conflict rather than a duplicate key, so every retry reads.)
        fresh = {v.record_id for v in views if v.version == 1 and v.rank == 0}
        deadline = time.monotonic() + _CONFLICT_SECONDS
        attempt = 0
        while True:
            attempt += 1
            try:
                before = await self._prior(ids, fresh if attempt == 1 else frozenset())
            except PyMongoError as exc:
                raise RetryableError(f"reporting store: {exc!r}") from exc
            changes = plan_changes({i: c.state for i, c in before.items()}, views)
            if not changes.states:
                return 0  # every event is folded in already: nothing to write
            outcome: dict[str, Any] = {}
            try:
                async with (
                    await self._client.start_session() as session,
                    session.start_transaction(),
                ):
                    await self._write(session, before, changes, outcome)
            except ConflictError:
                retry = True
            except BulkWriteError as exc:
                # A record taken for new was stored (a redelivery, or another instance
                # inserted it first): the next attempt reads it.
                retry = any(e.get("code") == 11000 for e in exc.details.get("writeErrors", []))
                if not retry:
                    self._states.forget(ids)
                    raise RetryableError(f"reporting store: {exc!r}") from exc
            except PyMongoError as exc:
                # A write conflict or an abort, or a commit of unknown outcome: read the
                # states again (a committed batch then changes nothing) and write again.
                retry = exc.has_error_label("TransientTransactionError") or exc.has_error_label(
                    "UnknownTransactionCommitResult"
                )
                if not retry:
                    self._states.forget(ids)
                    raise RetryableError(f"reporting store: {exc!r}") from exc
            except BaseException:
                self._states.forget(ids)  # committed or not: the store will tell next time
                raise
            else:
                retry = False
            if retry:
                self._states.forget(ids)
                if time.monotonic() > deadline:
                    raise RetryableError(
                        "reporting projection: records kept changing under this batch"
                    )
                log.info("projection write conflict, applying again", extra={"attempt": attempt})
                await asyncio.sleep(random.uniform(0, min(0.5, 0.01 * 2**attempt)))
                continue
            for record_id, (_, new) in changes.states.items():
                known = before.get(record_id)
                self._states.put(record_id, Cached(_next_revision(known), new))
            self._patch_cache(outcome)
            return len(changes.states)

    async def _prior(self, ids: Sequence[str], new: Collection[str]) -> dict[str, Cached]:
        """The current states of records (cached, else read), with their revisions.

        Records in ``new`` that are not cached are taken to have no state (not read).
        """
        found: dict[str, Cached] = {}
        missing: list[str] = []
        for record_id in ids:
            entry = self._states.get(record_id)
            if entry is not None:
                found[record_id] = entry
            elif record_id not in new:
                missing.append(record_id)
        for doc in await self._find_by_ids(self._records, missing):
            entry = Cached(doc.get("n"), state_from_doc(doc))
            found[doc["_id"]] = entry
            self._states.put(doc["_id"], entry)
        return found

    @staticmethod
    async def _find_by_ids(
        collection: Any,
        ids: Sequence[str],
        projection: dict[str, int] | None = None,
        session: AsyncIOMotorClientSession | None = None,
    ) -> list[dict[str, Any]]:
        """Documents by ``_id``, in small ``$in`` reads (concurrent outside a session).

        SecantusDB serves an ``_id`` ``$in`` as point lookups, but its cost grows faster
        than the list: 2,000 ids take ~1 ms each, 50 ids ~0.06 ms each.
        """
        chunks = [ids[i : i + _READ_CHUNK] for i in range(0, len(ids), _READ_CHUNK)]

        async def read(chunk: Sequence[str]) -> list[dict[str, Any]]:
            cursor = collection.find(
                {"_id": {"$in": list(chunk)}}, projection, session=session
            ).batch_size(len(chunk) + 1)
            return [doc async for doc in cursor]

        found: list[dict[str, Any]] = []
        if session is not None:  # one session: one operation at a time
            for chunk in chunks:
                found.extend(await read(chunk))
            return found
        for start in range(0, len(chunks), _READ_CONCURRENCY):
            for docs in await asyncio.gather(
                *(read(c) for c in chunks[start : start + _READ_CONCURRENCY])
            ):
                found.extend(docs)
        return found

    def _patch_cache(self, outcome: dict[str, Any]) -> None:
        """Bring the in-memory cells up to the round just committed, if they were current."""
        number = outcome.get("round")
        if number is None or self._cache is None:
            return
        if self._cache_round != number - 1:
            self._cache = None  # someone else wrote meanwhile: reload on the next read
            return
        cells: dict[str, Counter[str]] = {}
        for (bucket, unit, rtype, metric), delta in outcome["cells"].items():
            cells.setdefault(f"{bucket}|{unit}|{rtype}", Counter())[metric] += delta
        for cid, deltas in cells.items():
            known = self._cache.get(cid)
            counts = Counter(known.counts if known is not None else {})
            counts.update(deltas)
            bucket, unit, rtype = cid.split("|")
            self._cache[cid] = CellCounts(
                bucket, unit, rtype, {k: v for k, v in counts.items() if v}
            )
        self._cache_round = number

    async def _write(
        self,
        session: AsyncIOMotorClientSession,
        before: Mapping[str, Cached],
        changes: Changes,
        outcome: dict[str, Any],
    ) -> None:
        """Write what a batch changes (the transaction's body; may run more than once)."""
        outcome.clear()
        # Register entries: read the touched books' entries, move records in and out.
        books = sorted({b for b, _, _, _ in changes.slots})
        entries: dict[str, dict[str, Any]] = {
            doc["_id"]: doc.get("e") or {}
            for doc in await self._find_by_ids(self._books, books, {"e": 1}, session)
        }
        current: dict[str, frozenset[str]] = {}
        for book, entry, _, _ in changes.slots:
            held = entries.get(book, {}).get(_field(entry))
            if held:
                current[slot_id(book, entry)] = frozenset(held)
        touched, covered = apply_slot_ops(current, changes.slots)
        book_deltas = Counter(changes.books)
        book_deltas.update(covered)

        # The states go in slices: a batch's documents and their encoded message, built
        # all at once, were ~15 MB of reporting's peak at 30,000-event batches.
        states = list(changes.states.items())
        for start in range(0, len(states), _WRITE_CHUNK):
            record_ops: list[InsertOne[dict[str, Any]] | ReplaceOne[dict[str, Any]]] = []
            replaced = 0
            for record_id, (_, new) in states[start : start + _WRITE_CHUNK]:
                known = before.get(record_id)
                doc = state_to_doc(new)
                doc["n"] = _next_revision(known)
                if known is None:
                    record_ops.append(InsertOne(doc))
                else:
                    record_ops.append(ReplaceOne({"_id": record_id, "n": known.revision}, doc))
                    replaced += 1
            result = await self._records.bulk_write(record_ops, ordered=False, session=session)
            if result.matched_count != replaced:
                raise ConflictError("a record changed since it was read")

        cell_incs: dict[str, dict[str, int]] = {}
        for (bucket, unit, rtype, metric), delta in changes.cells.items():
            cell_incs.setdefault(f"{bucket}|{unit}|{rtype}", {})[f"m.{metric}"] = delta
        if cell_incs:
            await self._cells.bulk_write(
                [
                    UpdateOne(
                        {"_id": cid},
                        {
                            "$inc": incs,
                            "$setOnInsert": dict(zip(("p", "u", "t"), cid.split("|"), strict=True)),
                        },
                        upsert=True,
                    )
                    for cid, incs in sorted(cell_incs.items())
                ],
                ordered=False,
                session=session,
            )
        await self._write_books(session, book_deltas, touched)
        await self._write_members(session, changes.members)
        meta = await self._meta.find_one_and_update(
            {"_id": _META},
            {"$inc": {"round": 1}},
            upsert=True,
            return_document=True,
            session=session,
        )
        outcome.update(
            changed=len(changes.states), cells=dict(changes.cells), round=int(meta["round"])
        )

    async def _write_members(
        self, session: AsyncIOMotorClientSession, moves: Sequence[tuple[str, str, str, bool]]
    ) -> None:
        """Add records to and remove them from their lots' parts."""
        updates: dict[str, dict[str, Any]] = {}
        for phase, unit, record_id, add in moves:
            update = updates.setdefault(_member_part(phase, unit, record_id), {})
            if add:
                update.setdefault("$set", {})[f"r.{_field(record_id)}"] = True
            else:
                update.setdefault("$unset", {})[f"r.{_field(record_id)}"] = ""
        if updates:
            await self._members.bulk_write(
                [
                    UpdateOne({"_id": part}, update, upsert=True)
                    for part, update in sorted(updates.items())
                ],
                ordered=False,
                session=session,
            )

    async def _write_books(
        self,
        session: AsyncIOMotorClientSession,
        deltas: Counter[tuple[str, str]],
        touched: dict[str, frozenset[str]],
    ) -> None:
        """Book counters and entries, and the directory entry of new books."""
        updates: dict[str, dict[str, Any]] = {}
        for (book, metric), delta in deltas.items():
            if delta:
                updates.setdefault(book, {}).setdefault("$inc", {})[f"m.{metric}"] = delta
        for sid, records in touched.items():
            book, entry = sid.rsplit("|", 1)
            update = updates.setdefault(book, {})
            if records:
                update.setdefault("$set", {})[f"e.{_field(entry)}"] = sorted(records)
            else:
                update.setdefault("$unset", {})[f"e.{_field(entry)}"] = ""
        if not updates:
            return
        keys = sorted(updates)
        result = await self._books.bulk_write(
            [
                UpdateOne(
                    {"_id": book},
                    {**updates[book], "$setOnInsert": {"u": book.split("|")[0]}},
                    upsert=True,
                )
                for book in keys
            ],
            ordered=True,
            session=session,
        )
        created: dict[str, dict[str, bool]] = {}
        for index in result.upserted_ids or {}:
            book = keys[index]
            created.setdefault(book.split("|")[0], {})[f"k.{_field(book)}"] = True
        if created:
            await self._unit_books.bulk_write(
                [
                    UpdateOne({"_id": unit}, {"$set": fields}, upsert=True)
                    for unit, fields in sorted(created.items())
                ],
                ordered=False,
                session=session,
            )

    async def load(self, states: Iterable[RecordState]) -> int:
        """Write states and their counters into an empty projection (a rebuild).

        Raises:
            RetryableError: the store failed.
        """

        async def one() -> AsyncIterator[Sequence[RecordState]]:
            yield list(states)

        return await self.load_groups(one())

    async def load_groups(self, groups: AsyncIterable[Sequence[RecordState]]) -> int:
        """Write groups of states, then the counters they add up to, into an empty projection.

        Each group is inserted as it comes (the caller reads the next one meanwhile),
        its counters added up while its records are stored.

        Raises:
            RetryableError: the store failed.
            ValueError: a record came in two groups (its ``_id`` was taken).
        """
        result = Totals()
        loaded = 0
        async for group in groups:
            materialized = sorted(group, key=lambda s: s.record_id)
            # The counters are added up while the records are stored (this process is
            # idle while the store inserts a batch): the arithmetic overlaps the load.
            adding = asyncio.ensure_future(_add_up(materialized, result))
            try:
                await self._insert_all(self._records, (state_to_doc(s) for s in materialized))
                await adding
            except BulkWriteError as exc:
                if any(e.get("code") == 11000 for e in exc.details.get("writeErrors", [])):
                    raise ValueError(
                        "a record came in two groups of the replay (the lifecycle topics "
                        "are not all partitioned by record id the same way)"
                    ) from exc
                raise RetryableError(f"reporting store: {exc!r}") from exc
            except PyMongoError as exc:
                raise RetryableError(f"reporting store: {exc!r}") from exc
            finally:
                adding.cancel()
            loaded += len(materialized)
        entries: dict[str, dict[str, list[str]]] = {}
        for sid, records in result.slots.items():
            book, entry = sid.rsplit("|", 1)
            entries.setdefault(book, {})[_field(entry)] = sorted(records)
        parts: dict[str, dict[str, bool]] = {}
        for (phase, unit), ids in result.members.items():
            for record_id in ids:
                parts.setdefault(_member_part(phase, unit, record_id), {})[_field(record_id)] = True
        directory: dict[str, dict[str, bool]] = {}
        for book in result.books:
            directory.setdefault(book.split("|")[0], {})[_field(book)] = True
        try:
            await self._insert_all(
                self._cells,
                (
                    {"_id": "|".join(cell), "p": cell[0], "u": cell[1], "t": cell[2], "m": dict(m)}
                    for cell, m in sorted(result.cells.items())
                ),
            )
            await self._insert_all(
                self._books,
                (
                    {"_id": book, "u": book.split("|")[0], "m": dict(m), "e": entries.get(book, {})}
                    for book, m in sorted(result.books.items())
                ),
            )
            await self._insert_all(
                self._unit_books,
                ({"_id": unit, "k": keys} for unit, keys in sorted(directory.items())),
            )
            await self._insert_all(
                self._members, ({"_id": part, "r": r} for part, r in sorted(parts.items()))
            )
            await self._meta.insert_one({"_id": _META, "round": 1})
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc
        self._cache = None
        return loaded

    @staticmethod
    async def _insert_all(collection: Any, docs: Iterable[dict[str, Any]]) -> None:
        # One batch at a time: two in flight made SecantusDB slower (169.7 s instead of
        # ~140 s to load 1.36 million records).
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= _LOAD_BATCH:
                await collection.insert_many(batch, ordered=False)
                batch = []
        if batch:
            await collection.insert_many(batch, ordered=False)

    async def clear(self) -> None:
        """Drop every projection collection."""
        for name in COLLECTIONS:
            await self._db.drop_collection(name)
        self._cache = None
        self._states.clear()

    def forget_states(self) -> None:
        """Drop the cached record states (this instance's partitions were revoked)."""
        self._states.clear()

    @property
    def state_cache(self) -> StateCache:
        """The cache of record states (for metrics and tests)."""
        return self._states

    # -- reads --------------------------------------------------------------------

    async def _round(self) -> int:
        doc = await self._meta.find_one({"_id": _META})
        return int(doc["round"]) if doc is not None else 0

    async def version(self) -> int:
        """The number of the last round committed (by any instance)."""
        try:
            return await self._round()
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc

    async def _load_cells(self) -> None:
        """Read every cell and the round number from one snapshot (a read transaction)."""

        async def read(s: AsyncIOMotorClientSession) -> tuple[int, dict[str, CellCounts]]:
            doc = await self._meta.find_one({"_id": _META}, session=s)
            found: dict[str, CellCounts] = {}
            async for cell in self._cells.find({}, session=s):
                found[cell["_id"]] = CellCounts(cell["p"], cell["u"], cell["t"], _counts(cell))
            return (int(doc["round"]) if doc is not None else 0), found

        self._cache_round, self._cache = await in_transaction(self._client, read)

    async def cells(self, buckets: Collection[str] | None = None) -> list[CellCounts]:
        """Counters per (bucket, unit, type), zero counters left out (from memory when current)."""
        try:
            number = await self._round()
            if self._cache is None or self._cache_round != number:
                async with self._cache_lock:
                    if self._cache is None or self._cache_round != number:
                        await self._load_cells()
        except PyMongoError as exc:
            raise RetryableError(f"reporting store: {exc!r}") from exc
        assert self._cache is not None
        return [
            c for c in self._cache.values() if c.counts and (buckets is None or c.phase in buckets)
        ]

    async def books(self, unit_code: str) -> list[BookCounts]:
        """Counters of the books of a unit (listed in its directory), by key."""
        directory = await self._unit_books.find_one({"_id": unit_code})
        keys = sorted(_unfield(k) for k in (directory or {}).get("k", {}))
        found: list[BookCounts] = []
        for start in range(0, len(keys), _CHUNK):
            async for doc in self._books.find(
                {"_id": {"$in": keys[start : start + _CHUNK]}}, {"e": 0}
            ):
                if counts := _counts(doc):
                    found.append(BookCounts(doc["_id"], counts))
        return sorted(found, key=lambda b: b.book_key)

    async def entries(self, book_key: str) -> list[str]:
        """Entry keys of a book accounted for, sorted."""
        book = await self._books.find_one({"_id": book_key}, {"e": 1})
        held = (book or {}).get("e") or {}
        return sorted(_unfield(k) for k, records in held.items() if records)

    async def members(self, phase: str, unit_code: str) -> list[str]:
        """Record ids of the lot of a unit and phase, sorted."""
        parts = [f"{phase}|{unit_code}|{n:02d}" for n in range(_MEMBER_PARTS)]
        found: list[str] = []
        async for doc in self._members.find({"_id": {"$in": parts}}):
            found.extend(_unfield(k) for k in doc.get("r") or {})
        return sorted(found)

    async def record(self, record_id: str) -> RecordState | None:
        """The state of one record."""
        doc = await self._records.find_one({"_id": record_id})
        return state_from_doc(doc) if doc is not None else None

    async def dump(self) -> ProjectionDump:
        """Everything, zero counters left out (for comparing a rebuild with the live one)."""
        dump = ProjectionDump()
        async for doc in self._records.find({}):
            dump.records[doc["_id"]] = state_from_doc(doc)
        async for doc in self._cells.find({}):
            if counts := _counts(doc):
                dump.cells[doc["_id"]] = counts
        async for doc in self._books.find({}):
            if counts := _counts(doc):
                dump.books[doc["_id"]] = counts
            for entry, records in (doc.get("e") or {}).items():
                if records:
                    dump.slots[f"{doc['_id']}|{_unfield(entry)}"] = frozenset(records)
        async for doc in self._members.find({}):
            phase, unit, _ = doc["_id"].split("|")
            dump.members.update(f"{phase}|{unit}|{_unfield(r)}" for r in doc.get("r") or {})
        return dump
