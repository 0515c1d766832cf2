"""Group commit of concurrent batches, and the progress snapshots published."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

from hotich_contracts import topics
from hotich_contracts.events import ProgressReported
from hotich_contracts.units import default_registry
from hotich_reporting.adapters.memory import MemoryProjection, MemoryPublished, MemorySurvey
from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.service_layer.projector import Projector
from hotich_reporting.service_layer.snapshots import ProgressPublisher
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher


def _views(record_id: str, unit: str = "25489") -> list[EventView]:
    common = {
        "record_id": record_id,
        "version": 1,
        "unit_code": unit,
        "occurred_at": "2020-05-01T00:00:00.000000+00:00",
    }
    return [
        EventView(
            event_id=f"{record_id}e", event_type="record.entered", status="received", **common
        ),  # type: ignore[arg-type]
        EventView(
            event_id=f"{record_id}v",
            event_type="record.validated",
            status="valid",
            phase="1",
            **common,
        ),  # type: ignore[arg-type]
        EventView(
            event_id=f"{record_id}d",
            event_type="record.deduplicated",
            status="accepted",
            phase="1",
            **common,
        ),  # type: ignore[arg-type]
    ]


class SlowStore(MemoryProjection):
    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.rounds: list[int] = []
        self.fail = False

    async def apply(self, views: Sequence[EventView]) -> int:
        self.rounds.append(len(views))
        await self.gate.wait()
        if self.fail:
            raise RetryableError("store down")
        return await super().apply(views)


async def test_batches_waiting_meanwhile_are_applied_together() -> None:
    store = SlowStore()
    projector = Projector(store)
    first = asyncio.create_task(projector.apply(_views("a")))
    await asyncio.sleep(0)  # the first round starts and waits on the store
    others = [asyncio.create_task(projector.apply(_views(r))) for r in "bcd"]
    await asyncio.sleep(0)
    store.gate.set()
    await asyncio.gather(first, *others)
    assert store.rounds == [3, 9]  # one round for "a", one for the three that waited
    assert projector.stats.rounds == 2
    assert projector.stats.events == 12
    assert len(store.states) == 4


async def test_a_failed_round_fails_every_batch_in_it() -> None:
    store = SlowStore()
    store.fail = True
    store.gate.set()
    projector = Projector(store)
    results = await asyncio.gather(
        projector.apply(_views("a")), projector.apply(_views("b")), return_exceptions=True
    )
    assert all(isinstance(r, RetryableError) for r in results)
    store.fail = False
    await projector.apply(_views("a"))
    assert len(store.states) == 1


async def test_snapshots_are_published_when_changed_with_stable_ids() -> None:
    projection = MemoryProjection()
    await projection.apply(_views("a") + _views("b", "25486"))
    publisher = FakePublisher()
    progress = ProgressPublisher(
        projection=projection,
        survey=MemorySurvey(),
        registry=default_registry(),
        publisher=publisher,
        published=MemoryPublished(),
        owner="me",
        now=lambda: datetime(2020, 5, 2, tzinfo=UTC),
    )
    assert await progress.publish_changed() > 0
    events = [
        e for e in publisher.events(topics.REPORT_PROGRESS) if isinstance(e, ProgressReported)
    ]
    by_key = {f"{e.payload.phase}:{e.payload.unit_code}": e for e in events}
    assert by_key["1:705"].payload.counts.accepted == 2
    assert by_key["1:25489"].payload.counts.accepted == 1
    assert by_key["all:72"].payload.counts.entered == 2
    assert await progress.publish_changed() == 0  # nothing changed
    await projection.apply(_views("c"))
    assert await progress.publish_changed() == 6  # 1 and all, for 25489, 705, 72
    again = ProgressPublisher(
        **{**progress.__dict__, "published": MemoryPublished(), "publisher": FakePublisher()}
    )
    await again.publish_changed()
    ids = {e.event_id for e in again.publisher.events(topics.REPORT_PROGRESS)}  # type: ignore[attr-defined]
    assert {e.event_id for e in publisher.events(topics.REPORT_PROGRESS)[-6:]} <= ids


async def test_only_the_lease_holder_publishes() -> None:
    published = MemoryPublished()
    assert await published.acquire_lease("a", 10)
    assert not await published.acquire_lease("b", 10)
