"""Composition root of the export service: settings -> clients -> adapters -> handlers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hotich_contracts.events import RecordDeduplicated
from hotich_export.adapters.mongo_deliveries import MongoDeliveryStore
from hotich_export.adapters.national_http import HttpNationalDatabase
from hotich_export.config import ExportSettings
from hotich_export.domain.breaker import CircuitBreaker
from hotich_export.domain.retry import RetryPolicy
from hotich_export.service_layer.handlers import Exporter, RetryLoop
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription


def build_exporter(runtime: Runtime, settings: ExportSettings) -> Exporter:
    """The exporter of one instance, with its national client, store and breaker."""
    national = HttpNationalDatabase(
        settings.national_url,
        settings.national_api_key,
        settings.national_timeout_s,
        max_connections=settings.concurrency,
    )
    runtime.state["national"] = national
    return Exporter(
        national=national,
        store=MongoDeliveryStore(runtime.db),
        publisher=runtime.publisher,
        breaker=CircuitBreaker(
            window=max(settings.breaker_window, settings.breaker_min_calls),
            min_calls=settings.breaker_min_calls,
            failure_ratio=settings.breaker_failure_ratio,
            open_s=settings.breaker_open_s,
            max_open_s=max(settings.breaker_max_open_s, settings.breaker_open_s),
        ),
        retry=RetryPolicy(
            initial_s=settings.backoff_initial_s,
            max_s=settings.backoff_max_s,
            inline_attempts=settings.inline_attempts,
            inline_budget_s=settings.inline_budget_s,
        ),
        concurrency=settings.concurrency,
        lease_s=settings.claim_lease_s,
        page=settings.retry_page,
        pause_s=settings.pause_s,
        exported_topic=settings.exported_topic,
    )


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the exporter and its retry loop; subscribe to accepted records."""
    settings = runtime.settings
    assert isinstance(settings, ExportSettings)
    exporter = build_exporter(runtime, settings)
    assert isinstance(exporter.store, MongoDeliveryStore)
    await exporter.store.ensure_indexes()
    runtime.state["exporter"] = exporter
    runtime.state["retry_loop"] = RetryLoop(exporter, idle_s=settings.retry_idle_s)
    return [
        BatchSubscription(
            topic=settings.source_topic,
            group_id=settings.group_id,
            model=RecordDeduplicated,
            handle=exporter.export_batch,
        )
    ]


async def started(runtime: Runtime) -> None:
    """Start the scheduled retries once the broker runs (they publish outcomes)."""
    loop: RetryLoop = runtime.state["retry_loop"]
    loop.start()


async def teardown(runtime: Runtime) -> None:
    """Stop the scheduled retries, then close the national client's connections."""
    loop: RetryLoop | None = runtime.state.get("retry_loop")
    if loop is not None:
        await loop.stop()
    national: HttpNationalDatabase | None = runtime.state.get("national")
    if national is not None:
        await national.aclose()
