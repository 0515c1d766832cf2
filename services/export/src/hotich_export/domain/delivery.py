"""Deliveries: what export knows about each accepted record version, and what to do next.

A delivery is one record version on its way to the national database (CSDL hộ tịch
điện tử toàn quốc), keyed by its idempotency key ``<record_id>:v<version>``. It is
``pending`` while waiting for a (re)try, then ``exported`` (with the national id: a
receipt of the ledger), ``failed`` (refused for good, with the national reason) or
``superseded`` (a newer version of the record was exported before it arrived).

Ordering per record is decided here, from the record's deliveries alone:

* a version waits while an older version of the same record is pending;
* the first version to reach the national database is created; every later one is
  sent as an update of the national record, under the national id the older one got;
* a version that was never exported, when a newer one already was, is superseded:
  sending it would overwrite newer data with older.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class DeliveryState(StrEnum):
    """Where a record version stands in export."""

    PENDING = "pending"
    EXPORTED = "exported"
    FAILED = "failed"
    SUPERSEDED = "superseded"


class Operation(StrEnum):
    """The national database call a delivery uses."""

    CREATE = "create"
    UPDATE = "update"


def idempotency_key(record_id: str, version: int) -> str:
    """Return the key the national database deduplicates on: one per record version."""
    return f"{record_id}:v{version}"


@dataclass(frozen=True)
class Delivery:
    """One record version on its way to the national database, and what became of it."""

    key: str
    record_id: str
    version: int
    unit_code: str
    state: DeliveryState
    event_json: str | None = None
    """The ``RecordDeduplicated`` that asked for it (None when loaded without it)."""
    attempts: int = 0
    due_at: datetime | None = None
    """Pending only: when the next try may start (also the end of a claim's lease)."""
    national_id: str | None = None
    operation: Operation | None = None
    http_status: int | None = None
    response: dict[str, Any] | None = None
    """The national database's reply to the call that exported it."""
    exported_at: datetime | None = None
    reasons: tuple[dict[str, Any], ...] = ()
    """Failed only: the reasons (``Reason`` as JSON) given to the clerk."""
    last_error: str | None = None
    redrives: int = 0
    """How many times an operator redrove it (each redrive's outcome is a new event)."""
    previous_national_ids: tuple[str, ...] = field(default=())

    @property
    def ever_exported(self) -> bool:
        """True once the national database held it (a redriven receipt keeps its id)."""
        return self.national_id is not None


@dataclass(frozen=True)
class Wait:
    """An older version of the record is pending: try again after it."""

    until: datetime | None


@dataclass(frozen=True)
class Supersede:
    """A newer version was exported already: do not send this one."""

    by_version: int


@dataclass(frozen=True)
class Create:
    """No older version reached the national database: create the record."""


@dataclass(frozen=True)
class Update:
    """An older version is held as ``national_id``: send this one as its update."""

    national_id: str


Step = Wait | Supersede | Create | Update


def next_step(history: Iterable[Delivery], version: int, *, resend: bool = False) -> Step:
    """Decide how to deliver ``version`` given the other deliveries of the same record.

    Args:
        history: The record's other deliveries (the one being decided may be among them;
            it is ignored).
        version: The version to deliver.
        resend: It was exported before and an operator redrove it: never superseded.
    """
    others = [d for d in history if d.version != version]
    older_pending = [d for d in others if d.version < version and d.state is DeliveryState.PENDING]
    if older_pending:
        dues = [d.due_at for d in older_pending if d.due_at is not None]
        return Wait(max(dues) if dues else None)
    if not resend:
        newer = [d.version for d in others if d.version > version and d.ever_exported]
        if newer:
            return Supersede(max(newer))
    held = [
        d
        for d in others
        if d.version < version and d.state is DeliveryState.EXPORTED and d.national_id
    ]
    if held:
        latest = max(held, key=lambda d: d.version)
        assert latest.national_id is not None
        return Update(latest.national_id)
    return Create()


def pending_successors(history: Sequence[Delivery], version: int) -> list[Delivery]:
    """The record's pending deliveries newer than ``version`` (they wait for it)."""
    return [d for d in history if d.version > version and d.state is DeliveryState.PENDING]
