"""Composition root of the dedup service."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import RecordValidated
from hotich_dedup.adapters.mongo_store import MongoExactKeyIndex
from hotich_dedup.config import DedupSettings
from hotich_dedup.service_layer.handlers import deduplicate
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the store adapter and subscribe the handler to validated records."""
    assert isinstance(runtime.settings, DedupSettings)
    keys = MongoExactKeyIndex(runtime.db)
    handle = partial(deduplicate, keys=keys, publisher=runtime.publisher)
    return [
        BatchSubscription(
            topic=topics.RECORD_VALIDATED,
            group_id=runtime.settings.group_id,
            model=RecordValidated,
            handle=handle,
        )
    ]
