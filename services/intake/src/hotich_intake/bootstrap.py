"""Composition root of the intake service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import RecordDeduplicated, RecordExported, RecordValidated
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
from hotich_intake.service_layer.records import apply_outcomes, relay_unpublished
from hotich_runtime.app import Runtime
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
    deps = IntakeDeps(
        settings=settings,
        accounts=MongoAccountStore(runtime.db),
        records=MongoRecordStore(runtime.db),
        audit=MongoAuditLog(runtime.db),
        jobs=MongoImportJobs(runtime.db),
        publisher=runtime.publisher,
        registry=default_registry(),
        limiter=TokenBucket(rate=settings.rate_per_s, burst=settings.rate_burst),
    )
    runtime.state["deps"] = deps
    runtime.state["relay"] = asyncio.create_task(_relay_forever(deps))
    handle = partial(apply_outcomes, deps.records)
    return [
        BatchSubscription(topic=topic, group_id=settings.group_id, model=model, handle=handle)
        for topic, model in (
            (topics.RECORD_VALIDATED, RecordValidated),
            (topics.RECORD_DEDUPLICATED, RecordDeduplicated),
            (topics.RECORD_EXPORTED, RecordExported),
        )
    ]


async def teardown(runtime: Runtime) -> None:
    """Stop the outbox relay."""
    task: asyncio.Task[None] = runtime.state["relay"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
