"""MongoDB (motor) adapter of the dedup store: the only module here that calls motor.

Collections of the service's own database:

``register_keys``
    ``_id`` = register key, ``record_id``: the unique ``_id`` makes the exact-duplicate
    claim atomic.
``records``
    ``_id`` = record id: the latest version processed, its register key, its match
    profile, and ``blocking_keys`` (multikey index; emptied when the record stops being
    a candidate), so a candidate lookup reads only the profiles sharing a key.
``decisions``
    ``_id`` = ``<record_id>:v<version, 10 digits>``: the decision, its candidates, the
    review and the outbox flag ``published``.
``distinct_pairs``
    ``_id`` = ``<id>|<id>``: pairs a reviewer marked distinct, with each side's
    fingerprint at the time.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from motor.motor_asyncio import AsyncIOMotorDatabase
from pymongo import ASCENDING, DESCENDING, ReplaceOne, ReturnDocument, UpdateMany, UpdateOne
from pymongo.errors import BulkWriteError, PyMongoError

from hotich_contracts.events import DuplicateReview, RecordStatus
from hotich_contracts.reasons import Reason
from hotich_contracts.records import RECORD_ADAPTER
from hotich_dedup.domain.matching import Match
from hotich_dedup.domain.model import Decision, RecordState, ReviewState
from hotich_dedup.domain.profile import BLOCKING_KEYS_VERSION, MatchProfile, rekeyed
from hotich_runtime.errors import RetryableError

DUPLICATE_KEY = 11000
REKEY_BATCH = 1000
"""Profiles re-keyed per bulk write (see :meth:`MongoDedupStore.rekey`)."""

log = logging.getLogger(__name__)


def decision_id(record_id: str, version: int) -> str:
    """``_id`` of a decision: sorts by record, then by version."""
    return f"{record_id}:v{version:010d}"


@asynccontextmanager
async def _store_errors() -> AsyncIterator[None]:
    try:
        yield
    except PyMongoError as exc:
        raise RetryableError(f"dedup store: {exc!r}") from exc


IN_CHUNK = 20
"""Values per ``$in`` query. Larger lists are split and the queries run concurrently:
SecantusDB answers one ``$in`` of 2,000 keys in 5 s and 80 chunks of 25 in 0.15 s
(measured here); MongoDB is indifferent to it. SecantusDB checks every document an
index lookup finds against each value of the list, each against every element of the
document's array (blocking keys: 5.5 a record), so the list's length multiplies the
cost of every document found, while each query has its own overhead. With each
profile's keys kept in one query (:func:`pack_groups`), the store's CPU per record
looked up in waves of 250 (``bench/dedup_lookups.py``, SecantusDB standalone) was, in lists of
10 / 20 / 40: 0.85-0.94 / 0.76 / 0.85 ms among 246,000 stored profiles and 1.24-1.51 /
1.30 / 1.75 ms among 1.13 million (the whole backlog's); validation + dedup on 40,000
items made 659 / 741 / 793 records/s. The ``_id`` lookups use the same size: they are
point lookups, 0.07-0.10 ms of the store's CPU per id in lists of 10 to 100 (0.19 at
250)."""


async def _find_in(
    collection: Any, field: str, values: Sequence[Any], projection: dict[str, int] | None = None
) -> list[dict[str, Any]]:
    """Documents whose ``field`` is (or, for an array, holds) one of ``values``."""
    unique = list(dict.fromkeys(values))
    chunks = [unique[i : i + IN_CHUNK] for i in range(0, len(unique), IN_CHUNK)]
    return await _find_chunks(collection, field, chunks, projection)


async def _find_chunks(
    collection: Any,
    field: str,
    chunks: Sequence[Sequence[Any]],
    projection: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Documents matching ``field`` ``$in`` each chunk, the queries run concurrently.

    A document found by several chunks comes once per chunk.
    """
    pages = await asyncio.gather(
        *(
            collection.find({field: {"$in": chunk}}, projection).to_list(length=None)
            for chunk in chunks
        )
    )
    return [doc for page in pages for doc in page]


def pack_groups(groups: Sequence[Sequence[str]], size: int) -> list[list[str]]:
    """Pack the groups' keys into lists of at most ``size``, keeping each group whole.

    A key already placed is not repeated; a group is split only when its new keys do
    not fit in one list of their own.
    """
    chunks: list[list[str]] = []
    current: list[str] = []
    seen: set[str] = set()
    for group in groups:
        new = [k for k in dict.fromkeys(group) if k not in seen]
        if not new:
            continue
        seen.update(new)
        if current and len(current) + len(new) > size:
            chunks.append(current)
            current = []
        for key in new:
            if len(current) == size:
                chunks.append(current)
                current = []
            current.append(key)
    if current:
        chunks.append(current)
    return chunks


def _only_duplicates(exc: BulkWriteError) -> None:
    """Re-raise a bulk write error unless every error is a duplicate key."""
    if any(err.get("code") != DUPLICATE_KEY for err in exc.details.get("writeErrors", [])):
        raise exc


def _match_doc(match: Match) -> dict[str, Any]:
    return {
        "record_id": match.record_id,
        "version": match.version,
        "unit_code": match.unit_code,
        "fingerprint": match.fingerprint,
        "score": match.score,
        "points": match.points,
        "matched_fields": list(match.matched_fields),
    }


def _match(doc: dict[str, Any]) -> Match:
    return Match(
        record_id=doc["record_id"],
        version=int(doc["version"]),
        unit_code=doc["unit_code"],
        fingerprint=doc["fingerprint"],
        score=float(doc["score"]),
        points=float(doc["points"]),
        matched_fields=tuple(doc["matched_fields"]),
    )


def _decision_doc(decision: Decision) -> dict[str, Any]:
    return {
        "_id": decision_id(decision.record_id, decision.version),
        "record_id": decision.record_id,
        "version": decision.version,
        "cause_event_id": str(decision.cause_event_id),
        "status": decision.status.value,
        "phase": decision.phase,
        "unit_code": decision.unit_code,
        "record_type": decision.record_type,
        "correlation_id": decision.correlation_id,
        "decided_at": decision.decided_at,
        "fingerprint": decision.fingerprint,
        "candidates": [_match_doc(m) for m in decision.candidates],
        "linked": [list(pair) for pair in decision.linked],
        "linking": bool(decision.linked),
        "reasons": [r.model_dump(mode="json") for r in decision.reasons],
        "record": None
        if decision.record is None
        else RECORD_ADAPTER.dump_python(decision.record, mode="json"),
        "review_state": None if decision.review_state is None else decision.review_state.value,
        "review": None if decision.review is None else decision.review.model_dump(mode="json"),
        "published": decision.published,
        "units": list(decision.units),
        "entered_at": decision.entered_at,
    }


def _decision(doc: dict[str, Any]) -> Decision:
    return Decision(
        record_id=doc["record_id"],
        version=int(doc["version"]),
        cause_event_id=uuid.UUID(doc["cause_event_id"]),
        status=RecordStatus(doc["status"]),
        phase=doc.get("phase"),
        unit_code=doc["unit_code"],
        record_type=doc["record_type"],
        correlation_id=doc["correlation_id"],
        decided_at=doc["decided_at"],
        fingerprint=doc.get("fingerprint"),
        candidates=tuple(_match(m) for m in doc.get("candidates") or []),
        linked=tuple((a, b) for a, b in doc.get("linked") or []),
        reasons=tuple(Reason.model_validate(r) for r in doc.get("reasons") or []),
        record=None if doc.get("record") is None else RECORD_ADAPTER.validate_python(doc["record"]),
        review_state=None if doc.get("review_state") is None else ReviewState(doc["review_state"]),
        review=None if doc.get("review") is None else DuplicateReview.model_validate(doc["review"]),
        published=bool(doc.get("published", True)),
        entered_at=doc.get("entered_at"),
    )


def _state_doc(state: RecordState) -> dict[str, Any]:
    live = state.active and state.profile is not None
    return {
        "version": state.version,
        "register_key": state.register_key,
        "active": state.active,
        "profile": None if state.profile is None else state.profile.to_doc(),
        "blocking_keys": list(state.profile.blocking_keys) if live and state.profile else [],
        "keyings": [],
        "keying_of": None,
        "keys_version": BLOCKING_KEYS_VERSION,
    }


def _save_ops(state: RecordState) -> list[UpdateOne]:
    """The updates saving a state over a stored record, in one unordered bulk write.

    An older version is replaced, keyings included (the second update may then apply
    too, and changes nothing). The same version saved again (a wave repeated after a
    crash, or replayed) keeps the keyings other records added since: its profile is the
    same, and they still key its register entry again.
    """
    doc = _state_doc(state)
    same: dict[str, Any] = {
        "$set": {k: v for k, v in doc.items() if k not in ("blocking_keys", "keyings", "keying_of")}
    }
    if doc["blocking_keys"]:
        same["$addToSet"] = {"blocking_keys": {"$each": doc["blocking_keys"]}}
    else:  # no longer a candidate: nothing to key again either
        same["$set"] |= {"blocking_keys": [], "keyings": []}
    return [
        UpdateOne({"_id": state.record_id, "version": {"$lt": state.version}}, {"$set": doc}),
        UpdateOne({"_id": state.record_id, "version": state.version}, same),
    ]


def _held_keys(profile: dict[str, Any], keyings: Sequence[dict[str, Any]]) -> list[str]:
    """A record's blocking keys: its profile's and its other keyings' (stored forms)."""
    every = [*profile["blocking_keys"], *(key for k in keyings for key in k["blocking_keys"])]
    return list(dict.fromkeys(every))


def _rekey_op(doc: dict[str, Any]) -> UpdateOne:
    """The update giving a stored record the keys of the current scheme."""
    where = {
        "_id": doc["_id"],
        "version": doc["version"],
        "active": doc.get("active"),
        "keys_version": {"$ne": BLOCKING_KEYS_VERSION},
    }
    if not doc.get("profile"):
        return UpdateOne(where, {"$set": {"keys_version": BLOCKING_KEYS_VERSION}})
    keys = list(rekeyed(MatchProfile.from_doc(doc["profile"])).blocking_keys)
    keyings = [rekeyed(MatchProfile.from_doc(k)).to_doc() for k in doc.get("keyings") or []]
    every = _held_keys({"blocking_keys": keys}, keyings)
    return UpdateOne(
        where,
        {
            "$set": {
                "profile.blocking_keys": keys,
                "keyings": keyings,
                "blocking_keys": every if doc.get("active") else [],
                "keys_version": BLOCKING_KEYS_VERSION,
            }
        },
    )


def _state(doc: dict[str, Any]) -> RecordState:
    profile = doc.get("profile")
    return RecordState(
        record_id=doc["_id"],
        version=int(doc["version"]),
        register_key=doc["register_key"],
        profile=None if profile is None else MatchProfile.from_doc(profile),
        active=bool(doc["active"]),
        keying_of=doc.get("keying_of"),
    )


class MongoDedupStore:
    """The :class:`~hotich_dedup.service_layer.ports.DedupStore` contract on MongoDB."""

    def __init__(self, db: AsyncIOMotorDatabase[dict[str, Any]]) -> None:
        self._keys = db["register_keys"]
        self._records = db["records"]
        self._decisions = db["decisions"]
        self._distinct = db["distinct_pairs"]
        self._meta = db["meta"]

    async def ensure_indexes(self) -> None:
        """Create the secondary indexes (idempotent)."""
        async with _store_errors():
            await self._records.create_index([("blocking_keys", ASCENDING)])
            await self._decisions.create_index([("record_id", ASCENDING), ("version", DESCENDING)])
            await self._decisions.create_index(
                [("status", ASCENDING), ("review_state", ASCENDING), ("units", ASCENDING)]
            )
            await self._decisions.create_index([("published", ASCENDING)])
            # Only the few naming a pair: no entry for the others (every decision's insert).
            await self._decisions.create_index(
                [("linking", ASCENDING)],
                name="linking_true",
                partialFilterExpression={"linking": True},
            )

    async def rekey(self) -> int:
        """Give every stored profile the blocking keys of the current scheme; return how many.

        A profile is found only by the keys it was stored with, so when the scheme
        changes (:data:`~hotich_dedup.domain.profile.BLOCKING_KEYS_VERSION`) the profiles
        already held are re-keyed from their own fields before the service consumes. A
        ``meta`` document records a finished pass, so a start on an up-to-date store
        reads one document. Safe to repeat and to run from several instances at once:
        each update applies only to the version and activity it read, and only if that
        document is still on another scheme (a newer version saved meanwhile already has
        the current keys; a record deactivated meanwhile keeps no keys).
        """
        async with _store_errors():
            done = await self._meta.find_one({"_id": "blocking_keys"})
            if done is not None and done.get("version") == BLOCKING_KEYS_VERSION:
                return 0
            stale = self._records.find(
                {"keys_version": {"$ne": BLOCKING_KEYS_VERSION}},
                {"version": 1, "active": 1, "profile": 1, "keyings": 1},
            )
            count = 0
            ops: list[UpdateOne] = []
            async for doc in stale:
                ops.append(_rekey_op(doc))
                if len(ops) == REKEY_BATCH:
                    count += await self._write_rekeys(ops)
                    ops = []
            if ops:
                count += await self._write_rekeys(ops)
            await self._meta.update_one(
                {"_id": "blocking_keys"},
                {
                    "$set": {
                        "version": BLOCKING_KEYS_VERSION,
                        "rekeyed": count,
                        "at": dt.datetime.now(dt.UTC),
                    }
                },
                upsert=True,
            )
        return count

    async def _write_rekeys(self, ops: list[UpdateOne]) -> int:
        result = await self._records.bulk_write(ops, ordered=False)
        log.info(
            "dedup: profiles re-keyed",
            extra={"count": result.modified_count, "keys_version": BLOCKING_KEYS_VERSION},
        )
        return int(result.modified_count)

    async def decisions(
        self, keys: Sequence[tuple[str, int]]
    ) -> Mapping[tuple[str, int], Decision]:
        """Decisions kept for the pairs."""
        if not keys:
            return {}
        ids = [decision_id(r, v) for r, v in keys]
        async with _store_errors():
            docs = await _find_in(self._decisions, "_id", ids)
        found = (_decision(d) for d in docs)
        return {(d.record_id, d.version): d for d in found}

    async def states(self, record_ids: Sequence[str]) -> Mapping[str, RecordState]:
        """Latest states."""
        if not record_ids:
            return {}
        async with _store_errors():
            docs = await _find_in(self._records, "_id", record_ids)
        return {d["_id"]: _state(d) for d in docs}

    async def release_keys(self, releases: Sequence[tuple[str, str]]) -> None:
        """Delete owned claims."""
        if not releases:
            return
        async with _store_errors():
            for key, record_id in releases:
                await self._keys.delete_one({"_id": key, "record_id": record_id})

    async def claim_keys(self, claims: Sequence[tuple[str, str]]) -> Mapping[str, str]:
        """Insert every claim unordered; only the keys already taken read the owner back.

        An inserted claim is owned by its record (the unique ``_id`` says so); a key
        refused as a duplicate is read (its owner may be that same record: a repeat).
        """
        if not claims:
            return {}
        docs = [{"_id": key, "record_id": record_id} for key, record_id in claims]
        refused: set[int] = set()
        async with _store_errors():
            try:
                await self._keys.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                _only_duplicates(exc)
                refused = {int(err["index"]) for err in exc.details.get("writeErrors", [])}
            taken = await self.key_owners([claims[i][0] for i in sorted(refused)])
        owners = {key: record_id for i, (key, record_id) in enumerate(claims) if i not in refused}
        return {**owners, **taken}

    async def key_owners(self, keys: Sequence[str]) -> Mapping[str, str]:
        """Owners of the keys."""
        if not keys:
            return {}
        async with _store_errors():
            return {doc["_id"]: doc["record_id"] for doc in await _find_in(self._keys, "_id", keys)}

    async def save_states(self, states: Sequence[RecordState]) -> None:
        """Insert new records; update the others unless a newer version is stored.

        Most records are new: one unordered insert stores them, and only the ones that
        exist already (their ``_id`` collides) are updated, on condition of the version.
        """
        if not states:
            return
        by_id = {s.record_id: s for s in states}
        async with _store_errors():
            try:
                await self._records.insert_many(
                    [{"_id": s.record_id, **_state_doc(s)} for s in by_id.values()],
                    ordered=False,
                )
                return
            except BulkWriteError as exc:
                _only_duplicates(exc)
                existing = [by_id[e["op"]["_id"]] for e in exc.details.get("writeErrors", [])]
            ops = [op for s in existing for op in _save_ops(s)]
            if ops:
                await self._records.bulk_write(ops, ordered=False)

    async def add_keyings(self, keyings: Sequence[MatchProfile]) -> None:
        """Add each to its record's ``keyings``, and its keys to the record's.

        Only where the record is active at that version and holds no keying from that
        record yet, so a repeat adds nothing (even over a keying stored by an older
        release, whose document has fewer fields).
        """
        if not keyings:
            return
        ops = [
            UpdateOne(
                {
                    "_id": k.record_id,
                    "version": k.version,
                    "active": True,
                    "keyings.keying": {"$ne": k.keying},
                },
                {
                    "$push": {"keyings": k.to_doc()},
                    "$addToSet": {"blocking_keys": {"$each": list(k.blocking_keys)}},
                },
            )
            for k in keyings
        ]
        # The record each came from says where its keying is (dropped at its new version).
        ops += [
            UpdateOne({"_id": k.keying, "active": False}, {"$set": {"keying_of": k.record_id}})
            for k in keyings
            if k.keying is not None
        ]
        async with _store_errors():
            await self._records.bulk_write(ops, ordered=False)

    async def drop_keyings(self, keyings: Sequence[tuple[str, str]]) -> None:
        """Pull each keying from its record, then the keys only it gave the record.

        The keys go only where the record's keyings are still those read after the pull
        (a compare-and-set on the array): a keying added meanwhile leaves them, and a
        key left behind only finds the record, to be compared with what it holds.
        """
        if not keyings:
            return
        ops = [
            UpdateOne({"_id": record_id}, {"$pull": {"keyings": {"keying": keying}}})
            for record_id, keying in keyings
        ]
        async with _store_errors():
            await self._records.bulk_write(ops, ordered=False)
            docs = await _find_in(
                self._records,
                "_id",
                [record_id for record_id, _ in keyings],
                {"version": 1, "active": 1, "blocking_keys": 1, "profile": 1, "keyings": 1},
            )
            fixes = [
                UpdateOne(
                    {
                        "_id": d["_id"],
                        "version": d["version"],
                        "active": True,  # deactivated meanwhile: no keys at all
                        "keyings": d.get("keyings") or [],
                    },
                    {"$set": {"blocking_keys": keys}},
                )
                for d in docs
                if d.get("active")
                and d.get("profile")
                and set(keys := _held_keys(d["profile"], d.get("keyings") or []))
                != set(d.get("blocking_keys") or [])
            ]
            if fixes:
                await self._records.bulk_write(fixes, ordered=False)

    async def candidates(self, key_groups: Sequence[Sequence[str]]) -> Sequence[MatchProfile]:
        """Active profiles sharing a key (multikey index on ``blocking_keys``).

        The keys go in queries of up to :data:`IN_CHUNK`, each profile's keys together
        (:func:`pack_groups`): a document comes back once per query that finds it, and
        every profile of the wave is found by each of its own keys (it was saved first).
        Keys sorted across the wave spread a profile's 5 to 8 keys over as many queries,
        so most documents a lookup returned were the wave's own profiles, several times.
        """
        found: dict[str, list[MatchProfile]] = {}

        async def lookup(chunk: Sequence[str]) -> None:
            # Whole documents: SecantusDB deep-copies every document it projects, and a
            # state is little more than its profile (15% less of the store's CPU
            # measured without the projection, the same on this side). Each chunk's
            # documents become profiles as they come (once per record), so a wave
            # holds its profiles, not every raw document of every chunk.
            docs = await self._records.find({"blocking_keys": {"$in": chunk}}).to_list(None)
            for doc in docs:
                if doc["_id"] not in found and doc.get("profile"):
                    found[doc["_id"]] = [
                        MatchProfile.from_doc(doc["profile"]),
                        *(MatchProfile.from_doc(k) for k in doc.get("keyings") or ()),
                    ]

        async with _store_errors():
            await asyncio.gather(*(lookup(c) for c in pack_groups(key_groups, IN_CHUNK)))
        return [profile for profiles in found.values() for profile in profiles]

    async def distinct_pairs(self, pair_ids: Sequence[str]) -> Mapping[str, Mapping[str, str]]:
        """Pairs marked distinct, with their fingerprints."""
        if not pair_ids:
            return {}
        async with _store_errors():
            return {
                d["_id"]: {p["record_id"]: p["fingerprint"] for p in d["fingerprints"]}
                for d in await _find_in(self._distinct, "_id", pair_ids)
            }

    async def record_decisions(self, decisions: Sequence[Decision]) -> None:
        """Insert unordered; a decision already kept wins."""
        if not decisions:
            return
        async with _store_errors():
            try:
                await self._decisions.insert_many(
                    [_decision_doc(d) for d in decisions], ordered=False
                )
            except BulkWriteError as exc:
                _only_duplicates(exc)

    async def supersede(self, record_versions: Sequence[tuple[str, int]]) -> None:
        """Close the open reviews of older versions."""
        ops = [
            UpdateMany(
                {
                    "record_id": record_id,
                    "version": {"$lt": version},
                    "$or": [
                        {"review_state": ReviewState.OPEN.value},
                        # a rejection naming a pair, not checked yet: listed while its
                        # record is unchanged
                        {
                            "linking": True,
                            "status": RecordStatus.REJECTED.value,
                            "review_state": None,
                        },
                    ],
                },
                {"$set": {"review_state": ReviewState.SUPERSEDED.value}},
            )
            for record_id, version in record_versions
            if version > 1
        ]
        if not ops:
            return
        async with _store_errors():
            await self._decisions.bulk_write(ops, ordered=False)

    async def latest_decision(self, record_id: str) -> Decision | None:
        """Newest version's decision."""
        async with _store_errors():
            doc = await self._decisions.find_one(
                {"record_id": record_id}, sort=[("version", DESCENDING)]
            )
        return None if doc is None else _decision(doc)

    async def list_suspects(
        self,
        *,
        units: Sequence[str] | None,
        state: ReviewState | None,
        limit: int,
        after: str | None,
        linked: bool = False,
    ) -> Sequence[Decision]:
        """Suspects in id order (with ``linked``, re-keyings naming a pair too)."""
        if linked:
            return await self._list_linking(units=units, state=state, limit=limit, after=after)
        query: dict[str, Any] = {"status": RecordStatus.DUPLICATE_SUSPECTED.value}
        if state is not None:
            query["review_state"] = state.value
        if units is not None:
            query["units"] = {"$in": list(units)}
        if after is not None:
            query["_id"] = {"$gt": after}
        async with _store_errors():
            cursor = self._decisions.find(query).sort("_id", ASCENDING).limit(limit)
            return [_decision(d) async for d in cursor]

    async def _list_linking(
        self,
        *,
        units: Sequence[str] | None,
        state: ReviewState | None,
        limit: int,
        after: str | None,
    ) -> Sequence[Decision]:
        """Decisions naming a pair, read by the ``linking`` index alone, filtered here.

        They are few (12 in the whole backlog, read in stream order: dedup_quality.py),
        and a query on more fields, or an ``$or`` of the two kinds, had SecantusDB scan
        every decision (3.4-6 s per 100,000 decisions, measured; MongoDB would have used
        an index either way).
        """
        wanted = None if units is None else frozenset(units)
        found = []
        async with _store_errors():
            async for doc in self._decisions.find({"linking": True}):
                decision = _decision(doc)
                if not decision.listed(state=state, units=wanted, linked=True):
                    continue
                if after is not None and doc["_id"] <= after:
                    continue
                found.append((doc["_id"], decision))
        return [decision for _, decision in sorted(found, key=lambda f: f[0])[:limit]]

    async def claim_review(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Open -> resolved in one atomic update."""
        return await self._claim(
            {"_id": decision_id(record_id, version), "review_state": ReviewState.OPEN.value},
            review,
        )

    async def claim_pair_check(
        self, record_id: str, version: int, review: DuplicateReview
    ) -> Decision | None:
        """Unchecked rejection naming a pair -> resolved, in one atomic update."""
        return await self._claim(
            {
                "_id": decision_id(record_id, version),
                "status": RecordStatus.REJECTED.value,
                "linking": True,
                "review_state": None,
            },
            review,
        )

    async def _claim(self, where: dict[str, Any], review: DuplicateReview) -> Decision | None:
        """The decision ``where`` finds -> resolved by ``review``, unpublished; or None."""
        async with _store_errors():
            doc = await self._decisions.find_one_and_update(
                where,
                {
                    "$set": {
                        "review_state": ReviewState.RESOLVED.value,
                        "review": review.model_dump(mode="json"),
                        "published": False,
                    }
                },
                return_document=ReturnDocument.AFTER,
            )
        return None if doc is None else _decision(doc)

    async def add_distinct_pairs(self, pairs: Sequence[tuple[str, Mapping[str, str]]]) -> None:
        """Upsert the pairs."""
        if not pairs:
            return
        ops = [
            ReplaceOne(
                {"_id": pair},
                {"fingerprints": [{"record_id": r, "fingerprint": f} for r, f in prints.items()]},
                upsert=True,
            )
            for pair, prints in pairs
        ]
        async with _store_errors():
            try:
                await self._distinct.bulk_write(ops, ordered=False)
            except BulkWriteError as exc:
                _only_duplicates(exc)

    async def deactivate(self, record_id: str, version: int) -> None:
        """Empty the blocking keys of that version."""
        async with _store_errors():
            await self._records.update_one(
                {"_id": record_id, "version": version},
                {"$set": {"active": False, "blocking_keys": [], "keyings": []}},
            )

    async def mark_published(self, record_id: str, version: int) -> None:
        """Outbox done."""
        async with _store_errors():
            await self._decisions.update_one(
                {"_id": decision_id(record_id, version)}, {"$set": {"published": True}}
            )

    async def unpublished_reviews(self, limit: int) -> Sequence[Decision]:
        """Resolved, not yet published."""
        async with _store_errors():
            cursor = self._decisions.find({"published": False}).limit(limit)
            return [_decision(d) async for d in cursor]
