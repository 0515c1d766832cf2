"""Record use cases: submit, read, list, and the status view fed by outcome events."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hotich_contracts import topics
from hotich_contracts.envelope import RecordEventBase, utcnow
from hotich_contracts.events import (
    RecordEntered,
    RecordEnteredPayload,
    RecordStatus,
)
from hotich_contracts.records import Record, natural_key
from hotich_contracts.records.common import Source
from hotich_contracts.units import UnitRegistry
from hotich_intake.domain.model import RecordView
from hotich_intake.service_layer.ports import NewRecord, RecordStore
from hotich_runtime.auth import Principal, Role
from hotich_runtime.ports import Publisher

log = logging.getLogger(__name__)

WRITE_ROLES = frozenset({Role.CLERK, Role.MIGRATION_OPERATOR})
PROVINCE_WIDE = frozenset({Role.DEPARTMENT_OFFICER, Role.ADMIN})


class NotAllowed(Exception):
    """The caller's role or unit may not do this."""


class NotFound(Exception):
    """No such record within the caller's scope."""


class VersionConflict(Exception):
    """Another correction of the same record landed first."""


@dataclass(frozen=True)
class Submission:
    """One record to enter, with the client's idempotency key if it sent one."""

    record: Record
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ItemResult:
    """What became of one submitted record.

    ``outcome``: ``created`` (new, durably in Kafka), ``repeated`` (the same submission
    was received before: same record id), ``conflict`` (the key or the register
    coordinates were used before with another body), ``forbidden`` (the role may not
    enter this source), ``too_large`` (its JSON is over :data:`MAX_RECORD_JSON_BYTES`;
    nothing stored).
    """

    index: int
    outcome: str
    record_id: str | None
    version: int | None = None
    message_vi: str | None = None
    message_en: str | None = None


MAX_RECORD_JSON_BYTES = 256 * 1024
"""A record whose JSON is larger is refused (a register entry is 1-2 KB). Its event must
fit in one Kafka message (1 MiB by default, envelope included): a larger one would be
refused by Kafka on every attempt, its outbox entry never closed."""

TOO_LARGE = (
    f"Hồ sơ quá lớn (tối đa {MAX_RECORD_JSON_BYTES // 1024} KB khi ghi dạng JSON).",
    f"Record too large (at most {MAX_RECORD_JSON_BYTES // 1024} KB as JSON).",
)


class RecordTooLarge(Exception):
    """The record's JSON is over :data:`MAX_RECORD_JSON_BYTES`."""


def _fingerprint(record: Record) -> tuple[str, int]:
    """The record's :func:`body_hash` and the size of its JSON, from one serialization."""
    data = record.model_dump_json().encode()
    return hashlib.sha256(data).hexdigest(), len(data)


def body_hash(record: Record) -> str:
    """Fingerprint of a record's content, to tell a retry from a different submission."""
    return _fingerprint(record)[0]


def scope_key(principal: Principal, submission: Submission) -> str:
    """The key a submission is deduplicated on at intake.

    With an ``Idempotency-Key``: the account and the key. Without one: the entering unit
    and the register coordinates (authority, book, entry number, type), so a client that
    retries a POST after a timeout cannot create a second record.
    """
    if submission.idempotency_key:
        return f"key:{principal.username}:{submission.idempotency_key}"
    return f"nat:{principal.unit_code}:{natural_key(submission.record)}"


RECORD_ID_NAMESPACE = uuid.UUID("5b0f7d9e-4a39-5c1e-9d0b-6f1e2a7c8d41")
"""Namespace of the record ids derived from scope keys (never change it)."""


def record_id_for(key: str) -> str:
    """The record id of a scope key: a name-based UUID (version 5).

    Deriving the id from the key makes the store's unique record id the claim of the
    key: a retried or concurrent submission of the same key computes the same id and
    finds it taken, with no second unique index to maintain on every insert.
    """
    return str(uuid.uuid5(RECORD_ID_NAMESPACE, key))


def _allowed_source(principal: Principal, record: Record) -> bool:
    if principal.role == Role.CLERK:
        return record.source == Source.MANUAL
    return principal.role == Role.MIGRATION_OPERATOR and record.source == Source.MIGRATION


def _entered(
    principal: Principal,
    record_id: str,
    version: int,
    record: Record,
    idempotency_key: str | None,
    correlation_id: str,
) -> RecordEntered:
    return RecordEntered(
        actor=principal.username,
        correlation_id=correlation_id,
        record_id=record_id,
        record_version=version,
        unit_code=principal.unit_code,
        payload=RecordEnteredPayload(record=record, idempotency_key=idempotency_key),
    )


def _view(principal: Principal, record_id: str, version: int, record: Record) -> RecordView:
    return RecordView(
        record_id=record_id,
        version=version,
        unit_code=principal.unit_code,
        entered_by=principal.username,
        record_type=str(record.record_type),
        status=RecordStatus.RECEIVED.value,
        phase=None,
        reasons=[],
        warnings=[],
        national_id=None,
        record=record.model_dump(mode="json"),
    )


@dataclass(frozen=True)
class Entry:
    """One submission with who sent it: concurrent single POSTs are entered together."""

    principal: Principal
    submission: Submission
    correlation_id: str


async def submit_records(
    store: RecordStore,
    publisher: Publisher,
    principal: Principal,
    submissions: Sequence[Submission],
    *,
    correlation_id: str,
) -> list[ItemResult]:
    """Enter one caller's records (a batch); see :func:`submit_entries`.

    Raises:
        NotAllowed: the role may not enter records at all.
        RetryableError: Kafka or the store is unavailable.
    """
    if principal.role not in WRITE_ROLES:
        raise NotAllowed("role may not enter records")
    return await submit_entries(
        store, publisher, [Entry(principal, s, correlation_id) for s in submissions]
    )


async def submit_entries(
    store: RecordStore,
    publisher: Publisher,
    entries: Sequence[Entry],
) -> list[ItemResult]:
    """Enter records; return once every new one is acknowledged by Kafka (``acks=all``).

    An outbox entry naming the new records is written first, then the records, each
    claiming its key atomically (a unique index); then the events are published and the
    outbox entry closed. If Kafka does not acknowledge, :class:`RetryableError` is raised
    (answer 503) and the entry stays open: the relay publishes the events once Kafka is
    back, and resending the same submission publishes them at once. Either way the record
    id and the event id stay the same, so nothing is doubled, even when Kafka took the
    first attempt and only its acknowledgement was lost.

    The entries may come from several callers (a group commit of concurrent POSTs):
    each is checked against its own principal, and one outbox entry covers them all.

    Raises:
        RetryableError: Kafka or the store is unavailable.
    """
    results: dict[int, ItemResult] = {}
    candidates: list[tuple[int, NewRecord]] = []
    for index, entry in enumerate(entries):
        principal, submission = entry.principal, entry.submission
        if principal.role not in WRITE_ROLES or not _allowed_source(principal, submission.record):
            results[index] = ItemResult(
                index,
                "forbidden",
                None,
                message_vi="Vai trò này không được nhập hồ sơ có nguồn này (manual/migration).",
                message_en="This role may not enter records of this source (manual/migration).",
            )
            continue
        digest, size = _fingerprint(submission.record)
        if size > MAX_RECORD_JSON_BYTES:
            results[index] = ItemResult(
                index, "too_large", None, message_vi=TOO_LARGE[0], message_en=TOO_LARGE[1]
            )
            continue
        key = scope_key(principal, submission)
        record_id = record_id_for(key)
        event = _entered(
            principal,
            record_id,
            1,
            submission.record,
            submission.idempotency_key,
            entry.correlation_id,
        )
        candidates.append(
            (
                index,
                NewRecord(
                    view=_view(principal, record_id, 1, submission.record),
                    scope_key=key,
                    body_hash=digest,
                    event=event,
                ),
            )
        )
    outbox_id = uuid.uuid4().hex
    await store.open_outbox(outbox_id, [c.view.record_id for _, c in candidates])
    # If the insert fails part way, some records may be stored: the entry stays open, and
    # the relay (or a resend) publishes exactly those it owns; one owning none is closed
    # by the relay with nothing to send.
    owners = await store.insert_records([c for _, c in candidates], outbox_id)
    events: list[RecordEntered] = []
    repeated: list[str] = []
    created = {
        owners[c.scope_key].record_id
        for _, c in candidates
        if owners[c.scope_key].event_id == str(c.event.event_id)
    }
    for index, candidate in candidates:
        owner = owners[candidate.scope_key]
        if owner.event_id == str(candidate.event.event_id):
            results[index] = ItemResult(index, "created", owner.record_id, 1)
            events.append(candidate.event)
        elif owner.body_hash == candidate.body_hash:
            results[index] = ItemResult(index, "repeated", owner.record_id)
            if owner.record_id not in created:  # not a repeat within this very submission
                repeated.append(owner.record_id)
        else:
            results[index] = ItemResult(
                index,
                "conflict",
                owner.record_id,
                message_vi="Đã nhập với nội dung khác (cùng Idempotency-Key hoặc cùng quyển số, "
                "số đăng ký, loại việc): dùng PUT để sửa bản ghi đã có.",
                message_en="Already entered with a different content (same Idempotency-Key or "
                "same book, entry number and type): use PUT to correct the existing record.",
            )
    # Repeats of submissions still in the outbox (their first attempt got a 503) publish
    # their events now, and close the entries whose writers are done (same record ids,
    # same event ids; see ports.settle_waiting). The records created here are owned by
    # this call's entry, which is left out: none of them is among the waiting.
    waiting_outboxes, waiting = (
        await store.pending_events(repeated, besides=outbox_id) if repeated else ([], [])
    )
    await publisher.publish(topics.RECORD_ENTERED, [*events, *waiting])
    await store.close_outbox([outbox_id, *waiting_outboxes])
    return [results[i] for i in range(len(entries))]


async def correct_record(
    store: RecordStore,
    publisher: Publisher,
    principal: Principal,
    record_id: str,
    record: Record,
    *,
    correlation_id: str,
) -> ItemResult:
    """Enter a corrected version of one of the caller's unit's records; it is re-validated.

    Raises:
        NotAllowed: the role may not correct records.
        RecordTooLarge: the record's JSON is over :data:`MAX_RECORD_JSON_BYTES`.
        NotFound: no such record in the caller's unit.
        VersionConflict: another correction landed first (retry on the new version).
        RetryableError: Kafka or the store is unavailable; the correction waits in the
            outbox (resend the same body, or let the relay publish it).
    """
    if principal.role not in WRITE_ROLES or not _allowed_source(principal, record):
        raise NotAllowed("role may not correct records of this source")
    if _fingerprint(record)[1] > MAX_RECORD_JSON_BYTES:
        raise RecordTooLarge(record_id)
    current = await store.get(record_id)
    if current is None or current.unit_code != principal.unit_code:
        raise NotFound(record_id)
    waiting_outboxes, waiting = await store.pending_events([record_id])
    if waiting and current.record == record.model_dump(mode="json"):
        # A resend of a correction whose first attempt got a 503: publish it now.
        await publisher.publish(topics.RECORD_ENTERED, waiting)
        await store.close_outbox(waiting_outboxes)
        return ItemResult(0, "repeated", record_id, current.version)
    version = current.version + 1
    event = _entered(principal, record_id, version, record, None, correlation_id)
    outbox_id = uuid.uuid4().hex
    await store.open_outbox(outbox_id, [record_id])
    if not await store.stage_version(
        _view(principal, record_id, version, record), event, current.version, outbox_id
    ):
        await store.close_outbox([outbox_id])
        raise VersionConflict(record_id)
    await publisher.publish(topics.RECORD_ENTERED, [event])
    await store.close_outbox([outbox_id])
    return ItemResult(0, "created", record_id, version)


async def relay_unpublished(store: RecordStore, publisher: Publisher, older_than: timedelta) -> int:
    """Publish the events of outbox entries Kafka never acknowledged (the outbox relay)."""
    entries = await store.unpublished(utcnow() - older_than, limit=50)
    for outbox_id, events in entries:
        await publisher.publish(topics.RECORD_ENTERED, events)
        await store.close_outbox([outbox_id])
    if entries:
        log.info(
            "relayed unpublished records",
            extra={"entries": len(entries), "records": sum(len(e) for _, e in entries)},
        )
    return sum(len(events) for _, events in entries)


def visible_units(principal: Principal, registry: UnitRegistry) -> list[str] | None:
    """Unit codes the principal may read; None means the whole province."""
    if principal.role in PROVINCE_WIDE:
        return None
    if principal.role == Role.DISTRICT_OFFICER:
        return [principal.unit_code, *(u.code for u in registry.descendants(principal.unit_code))]
    return [principal.unit_code]


async def get_record(
    store: RecordStore, registry: UnitRegistry, principal: Principal, record_id: str
) -> RecordView | None:
    """Return the record if it exists and the principal may see it (else None: no probing)."""
    view = await store.get(record_id)
    if view is None:
        return None
    units = visible_units(principal, registry)
    return view if units is None or view.unit_code in units else None


async def list_records(
    store: RecordStore,
    registry: UnitRegistry,
    principal: Principal,
    *,
    filters: dict[str, Any],
    limit: int,
    after: str | None,
) -> list[RecordView]:
    """Records within the principal's scope."""
    return await store.list(
        unit_codes=visible_units(principal, registry), filters=filters, limit=limit, after=after
    )


async def apply_outcomes(store: RecordStore, events: Sequence[RecordEventBase]) -> None:
    """Update the status view from validation, dedup and export outcomes."""
    await store.apply(events)
