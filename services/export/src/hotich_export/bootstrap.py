"""Composition root of the export service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import RecordDeduplicated
from hotich_export.adapters.mongo_ledger import MongoReceiptLedger
from hotich_export.adapters.national_http import HttpNationalDatabase
from hotich_export.config import ExportSettings
from hotich_export.service_layer.handlers import Exporter
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the national client and the ledger; subscribe to deduplicated records."""
    settings = runtime.settings
    assert isinstance(settings, ExportSettings)
    national = HttpNationalDatabase(
        settings.national_url, settings.national_api_key, settings.national_timeout_s
    )
    runtime.state["national"] = national
    exporter = Exporter(
        national=national,
        ledger=MongoReceiptLedger(runtime.db),
        publisher=runtime.publisher,
        concurrency=settings.concurrency,
        retry_for_seconds=settings.retry_for_seconds,
    )
    return [
        BatchSubscription(
            topic=topics.RECORD_DEDUPLICATED,
            group_id=settings.group_id,
            model=RecordDeduplicated,
            handle=exporter.export_batch,
        )
    ]


async def teardown(runtime: Runtime) -> None:
    """Close the national client's connections."""
    national: HttpNationalDatabase = runtime.state["national"]
    await national.aclose()
