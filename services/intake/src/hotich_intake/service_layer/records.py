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
from hotich_intake.service_layer.ports import RecordStore
from hotich_runtime.auth import Principal, Role
from hotich_runtime.errors import RetryableError
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
    enter this source).
    """

    index: int
    outcome: str
    record_id: str | None
    version: int | None = None
    message_vi: str | None = None
    message_en: str | None = None


def body_hash(record: Record) -> str:
    """Fingerprint of a record's content, to tell a retry from a different submission."""
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


def scope_key(principal: Principal, submission: Submission) -> str:
    """The key a submission is deduplicated on at intake.

    With an ``Idempotency-Key``: the account and the key. Without one: the entering unit
    and the register coordinates (authority, book, entry number, type), so a client that
    retries a POST after a timeout cannot create a second record.
    """
    if submission.idempotency_key:
        return f"key:{principal.username}:{submission.idempotency_key}"
    return f"nat:{principal.unit_code}:{natural_key(submission.record)}"


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


async def submit_records(
    store: RecordStore,
    publisher: Publisher,
    principal: Principal,
    submissions: Sequence[Submission],
    *,
    correlation_id: str,
) -> list[ItemResult]:
    """Enter records; return once every new one is acknowledged by Kafka (``acks=all``).

    Keys are claimed first (atomically, in the store), then the new records are stored
    with ``published = false`` (the outbox), published, and marked published. If Kafka
    does not acknowledge, :class:`RetryableError` is raised (answer 503) and the records
    stay in the outbox: the relay publishes them once Kafka is back, and resending the
    same submission publishes the stored event at once. Either way the record id and the
    event id stay the same, so nothing is doubled, even when Kafka took the first attempt
    and only its acknowledgement was lost.

    Raises:
        NotAllowed: the role may not enter records at all.
        RetryableError: Kafka or the store is unavailable.
    """
    if principal.role not in WRITE_ROLES:
        raise NotAllowed("role may not enter records")
    results: dict[int, ItemResult] = {}
    pending: list[tuple[int, Submission, str, str, str]] = []  # index, sub, key, hash, id
    for index, submission in enumerate(submissions):
        if not _allowed_source(principal, submission.record):
            results[index] = ItemResult(
                index,
                "forbidden",
                None,
                message_vi="Vai trò này không được nhập hồ sơ có nguồn này (manual/migration).",
                message_en="This role may not enter records of this source (manual/migration).",
            )
            continue
        pending.append(
            (
                index,
                submission,
                scope_key(principal, submission),
                body_hash(submission.record),
                str(uuid.uuid4()),
            )
        )
    owners = await store.claim_keys([(key, digest, rid) for _, _, key, digest, rid in pending])
    # A key whose record was never stored (a crash between the two writes) is completed
    # by this retry, under the record id the key already names.
    repeats = {
        owners[key].record_id
        for _, _, key, digest, rid in pending
        if owners[key].record_id != rid and owners[key].body_hash == digest
    }
    own_ids = {rid for _, _, _, _, rid in pending}
    repeats -= own_ids
    stored = await store.existing(sorted(repeats)) if repeats else set()
    fresh: list[tuple[int, Submission, str, str]] = []
    for index, submission, key, digest, record_id in pending:
        owner = owners[key]
        if owner.record_id == record_id:
            fresh.append((index, submission, key, record_id))
        elif owner.body_hash == digest and owner.record_id not in stored | own_ids:
            fresh.append((index, submission, key, owner.record_id))
        elif owner.body_hash == digest:
            results[index] = ItemResult(index, "repeated", owner.record_id)
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
    events = [
        _entered(principal, rid, 1, sub.record, sub.idempotency_key, correlation_id)
        for _, sub, _, rid in fresh
    ]
    staged = [
        (_view(principal, rid, 1, sub.record), event.model_dump_json())
        for (_, sub, _, rid), event in zip(fresh, events, strict=True)
    ]
    # Repeats of submissions still in the outbox (their first attempt got a 503) publish
    # the stored event now: same record id, same event id.
    waiting = await store.unpublished_events(
        [r.record_id for r in results.values() if r.outcome == "repeated" and r.record_id]
    )
    events += [RecordEntered.model_validate_json(event_json) for event_json in waiting.values()]
    try:
        await store.insert_pending(staged)
    except RetryableError:
        await store.forget_keys([key for _, _, key, _ in fresh])
        raise
    # From here on the records are in the outbox: if Kafka does not acknowledge, the
    # caller gets 503 and the relay (or a resend) publishes the same events later.
    await publisher.publish(topics.RECORD_ENTERED, events)
    await store.mark_published([*(rid for _, _, _, rid in fresh), *waiting])
    for index, _, _, record_id in fresh:
        results[index] = ItemResult(index, "created", record_id, 1)
    return [results[i] for i in range(len(submissions))]


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
        NotFound: no such record in the caller's unit.
        VersionConflict: another correction landed first (retry on the new version).
        RetryableError: Kafka or the store is unavailable; the correction waits in the
            outbox (resend the same body, or let the relay publish it).
    """
    if principal.role not in WRITE_ROLES or not _allowed_source(principal, record):
        raise NotAllowed("role may not correct records of this source")
    current = await store.get(record_id)
    if current is None or current.unit_code != principal.unit_code:
        raise NotFound(record_id)
    waiting = await store.unpublished_events([record_id])
    if waiting and current.record == record.model_dump(mode="json"):
        # A resend of a correction whose first attempt got a 503: publish it now.
        await publisher.publish(
            topics.RECORD_ENTERED, [RecordEntered.model_validate_json(waiting[record_id])]
        )
        await store.mark_published([record_id])
        return ItemResult(0, "repeated", record_id, current.version)
    version = current.version + 1
    event = _entered(principal, record_id, version, record, None, correlation_id)
    view = _view(principal, record_id, version, record)
    if not await store.stage_version(view, event.model_dump_json(), current.version):
        raise VersionConflict(record_id)
    # Staged in the outbox: a 503 from here leaves it there for the relay or a resend.
    await publisher.publish(topics.RECORD_ENTERED, [event])
    await store.mark_published([record_id])
    return ItemResult(0, "created", record_id, version)


async def relay_unpublished(store: RecordStore, publisher: Publisher, older_than: timedelta) -> int:
    """Publish events of records stored but never acknowledged (the outbox relay)."""
    pending = await store.unpublished(utcnow() - older_than, limit=500)
    if not pending:
        return 0
    events = [RecordEntered.model_validate_json(event_json) for _, event_json in pending]
    await publisher.publish(topics.RECORD_ENTERED, events)
    await store.mark_published([record_id for record_id, _ in pending])
    log.info("relayed unpublished records", extra={"count": len(pending)})
    return len(pending)


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
