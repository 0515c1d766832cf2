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
from hotich_contracts.records import Record
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


@dataclass(frozen=True)
class Submitted:
    """The answer to a submission."""

    record_id: str
    version: int
    repeated: bool


def _body_hash(record: Record) -> str:
    return hashlib.sha256(record.model_dump_json().encode()).hexdigest()


async def submit_record(
    store: RecordStore,
    publisher: Publisher,
    principal: Principal,
    record: Record,
    *,
    idempotency_key: str | None,
    correlation_id: str,
) -> Submitted:
    """Store the record with its event, publish it, and return once Kafka acknowledged.

    The store write comes first with ``published = false`` (the outbox); if publishing
    fails the record is removed again and the caller is told to retry, so a client never
    sees a record that is stored but never published. A crash between the two is caught
    by :func:`relay_unpublished`.

    Raises:
        NotAllowed: the role may not enter records.
        IdempotencyConflict: the key was used with another body.
        RetryableError: Kafka or the store is unavailable (answer 503).
    """
    if principal.role not in WRITE_ROLES:
        raise NotAllowed("role may not enter records")
    record_id = str(uuid.uuid4())
    scope_key = f"{principal.username}:{idempotency_key}" if idempotency_key else None
    if scope_key is not None:
        earlier = await store.remember_key(scope_key, _body_hash(record), record_id)
        if earlier is not None:
            return Submitted(earlier, 1, repeated=True)
    event = RecordEntered(
        actor=principal.username,
        correlation_id=correlation_id,
        record_id=record_id,
        record_version=1,
        unit_code=principal.unit_code,
        payload=RecordEnteredPayload(record=record, idempotency_key=idempotency_key),
    )
    view = RecordView(
        record_id=record_id,
        version=1,
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
    try:
        await store.insert_pending(view, event.model_dump_json())
    except RetryableError:
        if scope_key is not None:
            await store.forget_key(scope_key)
        raise
    try:
        await publisher.publish(topics.RECORD_ENTERED, [event])
    except RetryableError:
        await store.discard_pending(record_id)
        if scope_key is not None:
            await store.forget_key(scope_key)
        raise
    await store.mark_published(record_id)
    return Submitted(record_id, 1, repeated=False)


async def relay_unpublished(store: RecordStore, publisher: Publisher, older_than: timedelta) -> int:
    """Publish events of records stored but never acknowledged (the outbox relay)."""
    pending = await store.unpublished(utcnow() - older_than, limit=500)
    for record_id, event_json in pending:
        event = RecordEntered.model_validate_json(event_json)
        await publisher.publish(topics.RECORD_ENTERED, [event])
        await store.mark_published(record_id)
    if pending:
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
