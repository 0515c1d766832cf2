"""Composition root of the dedup service."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from hotich_contracts.events import RecordValidated
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_dedup.adapters.mongo_store import MongoDedupStore
from hotich_dedup.config import DedupSettings
from hotich_dedup.domain.scoring import DEFAULT_RULES
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_dedup.service_layer.ports import DedupStore
from hotich_dedup.service_layer.review import publish_pending
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription
from hotich_runtime.ports import Publisher

log = logging.getLogger(__name__)


@dataclass
class DedupDeps:
    """What the review routes need."""

    settings: DedupSettings
    store: DedupStore
    publisher: Publisher
    registry: UnitRegistry


async def _relay(deps: DedupDeps, *, first_delay: float = 1.0) -> None:
    """Complete interrupted resolutions now and then (an outbox relay).

    Resolutions stay marked unpublished in the store until Kafka acknowledged them, so
    a failed round loses nothing: it is logged and tried again next round.
    """
    delay = first_delay
    while True:
        await asyncio.sleep(delay)
        delay = deps.settings.review_relay_interval_s
        try:
            done = await publish_pending(
                deps.store, deps.publisher, topic=deps.settings.deduplicated_topic
            )
        except Exception as exc:  # noqa: BLE001 - the outbox keeps the work; retry next round
            log.warning("resolution relay failed, will retry", extra={"error": repr(exc)})
            continue
        if done:
            log.info("published pending resolutions", extra={"count": done})


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the store, start the relay and subscribe the handler to validated records."""
    settings = runtime.settings
    assert isinstance(settings, DedupSettings)
    store = MongoDedupStore(runtime.db)
    await store.ensure_indexes()
    rekeyed = await store.rekey()
    if rekeyed:
        log.info(
            "dedup: stored profiles moved to the current blocking keys", extra={"count": rekeyed}
        )
    deps = DedupDeps(settings, store, runtime.publisher, default_registry())
    runtime.state["deps"] = deps
    runtime.state["relay"] = asyncio.create_task(_relay(deps), name="dedup-review-relay")
    rules = dataclasses.replace(DEFAULT_RULES, threshold=settings.match_threshold)
    handle = partial(
        deduplicate,
        store=store,
        publisher=runtime.publisher,
        rules=rules,
        topic=settings.deduplicated_topic,
    )
    return [
        BatchSubscription(
            topic=settings.source_topic,
            group_id=settings.group_id,
            model=RecordValidated,
            handle=handle,
        )
    ]


async def teardown(runtime: Runtime) -> None:
    """Stop the relay."""
    task: asyncio.Task[None] | None = runtime.state.get("relay")
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
