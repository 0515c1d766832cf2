"""In-memory fakes of the export ports, for fast unit tests (same behaviour as the real ones).

:class:`InMemoryDeliveryStore` passes the delivery-store suite the MongoDB adapter
passes; :class:`InMemoryNational` keeps what it was sent like the sandbox does, and can
be told to fail.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from hotich_export.domain.delivery import Delivery, DeliveryState
from hotich_export.service_layer.ports import (
    NationalHolding,
    NationalReceipt,
    NationalRejected,
    NationalUnavailable,
    RecordJson,
    StoreSummary,
)


class InMemoryDeliveryStore:
    """Deliveries in a dict, keyed by idempotency key."""

    def __init__(self) -> None:
        self.deliveries: dict[str, Delivery] = {}

    async def of_records(self, record_ids: Sequence[str]) -> dict[str, list[Delivery]]:
        """Every delivery of these records (without their events), by record id."""
        wanted = set(record_ids)
        found: dict[str, list[Delivery]] = {}
        for d in self.deliveries.values():
            if d.record_id in wanted:
                found.setdefault(d.record_id, []).append(replace(d, event_json=None))
        return found

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        """Insert new deliveries; a key already stored is left as it is."""
        for d in deliveries:
            self.deliveries.setdefault(d.key, d)

    async def claim_due(self, now: datetime, limit: int, lease_s: float) -> list[Delivery]:
        """Lease up to ``limit`` due pending deliveries, earliest due first."""
        due = sorted(
            (
                d
                for d in self.deliveries.values()
                if d.state is DeliveryState.PENDING and d.due_at is not None and d.due_at <= now
            ),
            key=lambda d: (d.due_at or now, d.key),
        )[:limit]
        lease_end = now + timedelta(seconds=lease_s)
        for d in due:
            self.deliveries[d.key] = replace(d, due_at=lease_end)
        return [self.deliveries[d.key] for d in due]

    async def settle(self, deliveries: Sequence[Delivery]) -> None:
        """Write the new state of claimed deliveries that are still pending."""
        for d in deliveries:
            held = self.deliveries.get(d.key)
            if held is not None and held.state is DeliveryState.PENDING:
                self.deliveries[d.key] = replace(d, event_json=held.event_json)

    async def hurry(self, record_id: str, after_version: int, due_at: datetime) -> None:
        """Make newer pending deliveries of the record due by ``due_at``."""
        for key, d in list(self.deliveries.items()):
            if (
                d.record_id == record_id
                and d.version > after_version
                and d.state is DeliveryState.PENDING
                and (d.due_at is None or d.due_at > due_at)
            ):
                self.deliveries[key] = replace(d, due_at=due_at)

    async def redrive(
        self, *, record_ids: Sequence[str] | None, failed: bool, now: datetime
    ) -> list[Delivery]:
        """Make failed and/or the given records' deliveries pending, due now."""
        chosen = set(record_ids or ())
        redriven = []
        for key, d in sorted(self.deliveries.items()):
            if (failed and d.state is DeliveryState.FAILED) or d.record_id in chosen:
                again = replace(
                    d, state=DeliveryState.PENDING, due_at=now, attempts=0, redrives=d.redrives + 1
                )
                self.deliveries[key] = again
                redriven.append(replace(again, event_json=None))
        return redriven

    async def summary(self) -> StoreSummary:
        """Counts by state."""
        by_state: dict[str, int] = {}
        for d in self.deliveries.values():
            by_state[d.state.value] = by_state.get(d.state.value, 0) + 1
        dues = [
            d.due_at
            for d in self.deliveries.values()
            if d.state is DeliveryState.PENDING and d.due_at
        ]
        return StoreSummary(by_state, min(dues) if dues else None)

    async def units(self) -> list[str]:
        """Every unit code with a delivery."""
        return sorted({d.unit_code for d in self.deliveries.values()})

    async def receipts(self, unit_code: str) -> AsyncIterator[Delivery]:
        """The exported deliveries of one unit."""
        for d in sorted(self.deliveries.values(), key=lambda d: d.key):
            if d.unit_code == unit_code and d.state is DeliveryState.EXPORTED:
                yield replace(d, event_json=None)

    async def undelivered_keys(self, keys: Sequence[str]) -> dict[str, str]:
        """Of ``keys``, those stored in another state than exported."""
        return {
            k: d.state.value
            for k in keys
            if (d := self.deliveries.get(k)) is not None and d.state is not DeliveryState.EXPORTED
        }


def _as_dict(record: RecordJson) -> dict[str, Any]:
    loaded = json.loads(record) if isinstance(record, bytes) else record
    assert isinstance(loaded, dict)
    return loaded


@dataclass
class _Held:
    national_id: str
    unit_code: str
    record_id: str
    version: int
    record: dict[str, Any]
    keys: list[str] = field(default_factory=list)


class InMemoryNational:
    """A national database in memory, with switchable failures.

    ``fail_next`` raises the queued exceptions, one per call, before any effect;
    ``lose_next`` makes the next calls write, then raise (a lost response); ``reject``
    refuses records for which it returns a reason; ``delay_s`` adds latency.
    """

    def __init__(self) -> None:
        self.records: dict[str, _Held] = {}
        self.keys: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        """(operation, idempotency key) of every call that reached the database."""
        self.fail_next: list[Exception] = []
        self.lose_next = 0
        self.down = False
        self.reject: Callable[[dict[str, Any]], str | None] = lambda record: None
        self.delay_s = 0.0
        self._created = 0
        self.in_flight = 0
        self.max_in_flight = 0

    async def _enter(self, operation: str, key: str) -> None:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            else:
                await asyncio.sleep(0)
        finally:
            self.in_flight -= 1
        if self.down:
            raise NationalUnavailable("outage", status=503)
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.calls.append((operation, key))

    def _lost(self) -> None:
        if self.lose_next:
            self.lose_next -= 1
            raise NationalUnavailable("response lost", status=502)

    async def create(
        self,
        *,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """Create once per key; a repeat answers 409 with the same id."""
        await self._enter("create", idempotency_key)
        record = _as_dict(record)
        if idempotency_key in self.keys:
            return NationalReceipt(self.keys[idempotency_key], 409)
        if (reason := self.reject(record)) is not None:
            raise NationalRejected(reason)
        self._created += 1
        national_id = f"VN-{self._created:06d}"
        self.records[national_id] = _Held(
            national_id, unit_code, record_id, version, record, [idempotency_key]
        )
        self.keys[idempotency_key] = national_id
        self._lost()
        return NationalReceipt(national_id, 201, {"national_id": national_id})

    async def update(
        self,
        *,
        national_id: str,
        idempotency_key: str,
        unit_code: str,
        record_id: str,
        version: int,
        record: RecordJson,
    ) -> NationalReceipt:
        """Apply once per key; refuse an unknown id or an older version."""
        await self._enter("update", idempotency_key)
        record = _as_dict(record)
        if idempotency_key in self.keys:
            return NationalReceipt(self.keys[idempotency_key], 409)
        held = self.records.get(national_id)
        if held is None:
            raise NationalRejected(f"no national record {national_id}", status=404)
        if version <= held.version:
            return NationalReceipt(national_id, 409, {"code": "stale_version"})
        if (reason := self.reject(record)) is not None:
            raise NationalRejected(reason)
        held.version, held.record = version, record
        held.keys.append(idempotency_key)
        self.keys[idempotency_key] = national_id
        self._lost()
        return NationalReceipt(national_id, 200, {"national_id": national_id})

    async def holdings(self, unit_code: str) -> AsyncIterator[NationalHolding]:
        """Every record held for ``unit_code``."""
        if self.down:
            raise NationalUnavailable("outage", status=503)
        for held in self.records.values():
            if held.unit_code == unit_code:
                yield NationalHolding(held.national_id, held.record_id, tuple(held.keys))

    def forget(self, national_id: str) -> None:
        """Lose a record (as a national database restored from an old backup would)."""
        held = self.records.pop(national_id)
        for key in held.keys:
            self.keys.pop(key, None)
