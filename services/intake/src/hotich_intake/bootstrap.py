"""Composition root of the intake service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from hotich_contracts import topics
from hotich_contracts.envelope import RecordEventBase
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_intake.adapters.mongo_store import (
    MongoAccountStore,
    MongoAuditLog,
    MongoImportJobs,
    MongoRecordStore,
    ensure_indexes,
)
from hotich_intake.config import DEV_SECRET, IntakeSettings
from hotich_intake.domain.limits import TokenBucket
from hotich_intake.domain.model import Account, Outcome
from hotich_intake.service_layer.ports import AuditEntry
from hotich_intake.service_layer.records import (
    Entry,
    ItemResult,
    apply_outcomes,
    relay_unpublished,
    submit_entries,
)
from hotich_runtime.app import Runtime
from hotich_runtime.coalesce import Coalescer
from hotich_runtime.kafka import BatchSubscription, EventPublisher

log = logging.getLogger(__name__)


@dataclass
class IntakeDeps:
    """What the routes need, built once per process."""

    settings: IntakeSettings
    accounts: MongoAccountStore
    records: MongoRecordStore
    audit: MongoAuditLog
    jobs: MongoImportJobs
    publisher: EventPublisher
    registry: UnitRegistry
    limiter: TokenBucket
    entries: Coalescer[Entry, ItemResult]
    """Concurrent single POSTs, entered together (one outbox entry, one write, one send)."""
    account_lookups: Coalescer[str, Account | None]
    """Every request's account check (exists, not locked), one query per flush."""
    audit_entries: Coalescer[AuditEntry, None]
    """Audit entries of concurrent requests, one insert per flush."""


async def _relay_forever(deps: IntakeDeps) -> None:
    older = timedelta(seconds=deps.settings.outbox_relay_after_s)
    while True:
        await asyncio.sleep(min(deps.settings.outbox_relay_after_s, 10.0))
        try:
            await relay_unpublished(deps.records, deps.publisher, older)
        except Exception:
            log.exception("outbox relay failed; will try again")


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build stores, start the outbox relay, and subscribe the status view to outcomes."""
    settings = runtime.settings
    assert isinstance(settings, IntakeSettings)
    if settings.jwt_secret == DEV_SECRET:
        log.warning("HOTICH_JWT_SECRET is the development default: set a secret in production")
    await ensure_indexes(runtime.db)
    account_store = MongoAccountStore(runtime.db)
    record_store = MongoRecordStore(runtime.db)
    audit_log = MongoAuditLog(runtime.db)

    async def enter(entries: list[Entry]) -> list[ItemResult]:
        # The outbox entry is closed before the answer: closing it in the background
        # raced the relay under load (the same events published twice, same ids).
        return await submit_entries(record_store, runtime.publisher, entries)

    async def look_up(usernames: list[str]) -> list[Account | None]:
        found = await account_store.get_many(usernames)
        return [found.get(u) for u in usernames]

    async def write_audit(entries: list[AuditEntry]) -> list[None]:
        await audit_log.append(entries)
        return [None] * len(entries)

    deps = IntakeDeps(
        settings=settings,
        accounts=account_store,
        records=record_store,
        audit=audit_log,
        jobs=MongoImportJobs(runtime.db),
        publisher=runtime.publisher,
        registry=default_registry(),
        limiter=TokenBucket(rate=settings.rate_per_s, burst=settings.rate_burst),
        entries=Coalescer(
            enter,
            max_items=settings.max_batch,
            concurrency=settings.entry_flushes,
            name="intake_entries",
        ),
        account_lookups=Coalescer(look_up, max_items=1000, name="intake_accounts"),
        audit_entries=Coalescer(write_audit, max_items=1000, name="intake_audit"),
    )
    runtime.state["deps"] = deps
    runtime.state["relay"] = asyncio.create_task(_relay_forever(deps))

    async def apply_views(events: Sequence[RecordEventBase]) -> None:
        await apply_outcomes(record_store, events)

    return [status_view_subscription(settings, apply_views)]


def status_view_subscription(
    settings: IntakeSettings, handle: Callable[[Sequence[RecordEventBase]], Awaitable[None]]
) -> BatchSubscription[Any]:
    """The status view's subscription to the three outcome topics.

    One group member reads them in step by the time each record was entered (the
    pipelined consumer, aligned by the events' entered_at): a backlog's validated,
    deduplicated and exported events of one record come in one batch, however far apart
    the stages published them, and cost one read and one write of its view instead of
    three. (Aligned by publish time, a backlog of dedup read validated events of records
    entered now beside deduplicated ones of records entered an hour before: one write
    per event.) Decoded to the view's Outcome, not the contract's models.
    """
    return BatchSubscription(
        topic=topics.RECORD_VALIDATED,
        also=(topics.RECORD_DEDUPLICATED, topics.RECORD_EXPORTED),
        group_id=settings.group_id,
        model=Outcome,
        handle=handle,
        pipelined=True,
        align_ms=settings.consumer_align_ms or None,
        align_time=entered_ms,
        align_window_ms=settings.consumer_align_window_s * 1000,
        keep_values=False,  # the view raises no PermanentError
    )


def entered_ms(event: RecordEventBase) -> int | None:
    """When the event's record version was entered, in ms (the status view's read order).

    None for an event without an entry time: it does not move its partition's time.
    """
    entered = event.entered_time
    return None if entered is None else int(entered.timestamp() * 1000)


async def teardown(runtime: Runtime) -> None:
    """Finish what was submitted, then stop the outbox relay."""
    deps: IntakeDeps = runtime.state["deps"]
    for coalescer in (
        deps.entries,
        deps.account_lookups,
        deps.audit_entries,
    ):
        await coalescer.aclose()
    task: asyncio.Task[None] = runtime.state["relay"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
