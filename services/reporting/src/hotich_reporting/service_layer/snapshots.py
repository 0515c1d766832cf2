"""Progress snapshots on ``hotich.report.progress.v1`` for systems that subscribe to them.

Every few seconds the publisher rolls the counters up the unit tree for each phase
(1, 2, 3, migration) and for ``all``, and publishes a :class:`ProgressReported` for
every (phase, unit) whose counts changed since it last published them, keyed
``<phase>:<unit>``. The topic is compacted, so a subscriber reading it from the start
gets the latest snapshot of every key. A snapshot's event id is derived from its key
and counts, so publishing the same snapshot twice (after a crash before it was
remembered) gives the same id. One instance publishes at a time (a lease in the store).
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from hotich_contracts import topics
from hotich_contracts.envelope import EVENT_NAMESPACE
from hotich_contracts.events import ProgressCounts, ProgressReported, ProgressReportedPayload
from hotich_contracts.units import UnitRegistry
from hotich_reporting.domain.lifecycle import timestamp
from hotich_reporting.domain.metrics import CellCounts, roll_up
from hotich_reporting.service_layer.ports import ProjectionStore, PublishedStore, SurveyStore
from hotich_runtime.ports import Publisher

log = logging.getLogger(__name__)

__all__ = ["SNAPSHOT_PHASES", "ProgressPublisher", "snapshot_counts"]

SNAPSHOT_PHASES: Final = ("1", "2", "3", "migration", "all")
"""Phases published (``all`` sums every bucket, out-of-scope and pending included)."""


def snapshot_counts(counts: dict[str, int]) -> ProgressCounts:
    """The contract's counts from a unit's rolled-up counters."""
    return ProgressCounts(
        entered=counts.get("entered", 0),
        valid=counts.get("valid", 0),
        rejected=counts.get("rejected", 0),
        accepted=counts.get("accepted", 0),
        duplicate_suspected=counts.get("duplicate_suspected", 0),
        exported=counts.get("exported", 0),
        export_failed=counts.get("export_failed", 0),
        surveyed=counts.get("surveyed", 0),
        received=counts.get("s_received", 0),
        not_enterable=counts.get("not_enterable", 0),
        duplicate_confirmed=counts.get("duplicate_confirmed", 0),
        late=counts.get("late", 0),
        rejected_by_reason={
            k[2:]: v for k, v in sorted(counts.items()) if k.startswith("r_") and v
        },
    )


@dataclass
class ProgressPublisher:
    """Publishes changed progress snapshots (see the module docstring)."""

    projection: ProjectionStore
    survey: SurveyStore
    registry: UnitRegistry
    publisher: Publisher
    published: PublishedStore
    owner: str
    now: Callable[[], datetime]
    lease_seconds: float = 30.0
    topic: str = topics.REPORT_PROGRESS

    async def snapshots(self) -> dict[str, ProgressCounts]:
        """Key ``<phase>:<unit>`` -> counts, for every unit with any count."""
        cells: list[CellCounts] = await self.projection.cells()
        cells += await self.survey.cells()
        found: dict[str, ProgressCounts] = {}
        for phase in SNAPSHOT_PHASES:
            chosen = cells if phase == "all" else [c for c in cells if c.phase == phase]
            for unit, counts in roll_up(chosen, self.registry).items():
                found[f"{phase}:{unit}"] = snapshot_counts(dict(counts))
        return found

    async def publish_changed(self) -> int:
        """Publish the snapshots that changed; return how many (0 without the lease)."""
        if not await self.published.acquire_lease(self.owner, self.lease_seconds):
            return 0
        last = await self.published.fingerprints()
        as_of = timestamp(self.now())
        events: list[ProgressReported] = []
        fingerprints: dict[str, str] = {}
        for key, counts in sorted((await self.snapshots()).items()):
            text = json.dumps(counts.model_dump(mode="json"), sort_keys=True)
            fingerprint = hashlib.sha256(text.encode()).hexdigest()
            if last.get(key) == fingerprint:
                continue
            phase, unit = key.split(":", 1)
            events.append(
                ProgressReported(
                    event_id=uuid.uuid5(EVENT_NAMESPACE, f"progress:{key}:{fingerprint}"),
                    actor="service:reporting",
                    correlation_id=f"progress:{key}",
                    payload=ProgressReportedPayload(
                        phase=phase, unit_code=unit, counts=counts, as_of=as_of
                    ),
                )
            )
            fingerprints[key] = fingerprint
        if events:
            await self.publisher.publish(self.topic, events)
            await self.published.remember(fingerprints)
            log.info("published progress snapshots", extra={"count": len(events)})
        return len(events)
