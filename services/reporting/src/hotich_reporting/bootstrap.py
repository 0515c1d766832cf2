"""Composition root of the reporting service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hotich_contracts import topics
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordEntered,
    RecordExported,
    RecordValidated,
)
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_reporting.adapters.mongo_projection import MongoProjection
from hotich_reporting.config import ReportingSettings
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription


@dataclass
class ReportingDeps:
    """What the routes need."""

    settings: ReportingSettings
    projection: MongoProjection
    registry: UnitRegistry


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the projection and subscribe it to every lifecycle topic."""
    settings = runtime.settings
    assert isinstance(settings, ReportingSettings)
    projection = MongoProjection(runtime.db)
    runtime.state["deps"] = ReportingDeps(settings, projection, default_registry())
    return [
        BatchSubscription(
            topic=topic, group_id=settings.group_id, model=model, handle=projection.apply
        )
        for topic, model in (
            (topics.RECORD_ENTERED, RecordEntered),
            (topics.RECORD_VALIDATED, RecordValidated),
            (topics.RECORD_DEDUPLICATED, RecordDeduplicated),
            (topics.RECORD_EXPORTED, RecordExported),
        )
    ]
