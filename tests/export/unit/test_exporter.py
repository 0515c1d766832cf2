"""The exporter on fakes: exactly once, ordering per record, retries, breaker, parking."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

import pytest

from hotich_contracts.events import RecordExported, RecordStatus
from hotich_contracts.reasons import ReasonCode
from hotich_export.adapters.memory import InMemoryDeliveryStore, InMemoryNational
from hotich_export.domain.breaker import BreakerState, CircuitBreaker, CircuitOpen
from hotich_export.domain.delivery import Delivery, DeliveryState, idempotency_key
from hotich_export.domain.retry import RetryPolicy
from hotich_export.service_layer import ops
from hotich_export.service_layer.handlers import Exporter
from hotich_export.service_layer.ports import (
    NationalReceipt,
    NationalThrottled,
    NationalUnavailable,
)
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import FakePublisher
from tests.export.helpers import Clock, MonotonicClock, accepted

TOPIC = "exported"


@dataclass
class World:
    national: InMemoryNational
    store: InMemoryDeliveryStore
    publisher: FakePublisher
    clock: Clock
    ticks: MonotonicClock
    exporter: Exporter

    def outcomes(self) -> list[RecordExported]:
        return [e for e in self.publisher.events(TOPIC) if isinstance(e, RecordExported)]

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)
        self.ticks.now += seconds

    async def drain(self, rounds: int = 50) -> None:
        """Run scheduled retries, moving time on, until nothing is pending."""
        for _ in range(rounds):
            summary = await self.store.summary()
            if not summary.by_state.get("pending"):
                return
            self.advance(1.0)
            await self.exporter.retry_due()
        raise AssertionError(f"still pending: {(await self.store.summary()).by_state}")


@pytest.fixture
def world() -> World:
    national, store, publisher = InMemoryNational(), InMemoryDeliveryStore(), FakePublisher()
    clock, ticks = Clock(), MonotonicClock()
    exporter = Exporter(
        national=national,
        store=store,
        publisher=publisher,
        breaker=CircuitBreaker(window=10, min_calls=5, open_s=2, max_open_s=8, clock=ticks),
        retry=RetryPolicy(initial_s=0.001, max_s=0.01, inline_attempts=2, inline_budget_s=1),
        concurrency=8,
        lease_s=30,
        page=100,
        exported_topic=TOPIC,
        clock=clock,
        pause_s=0.05,
    )
    return World(national, store, publisher, clock, ticks, exporter)


async def test_accepted_record_is_exported_once_even_when_redelivered(world: World) -> None:
    event = accepted()
    await world.exporter.export_batch([event])
    await world.exporter.export_batch([event])
    first, second = world.outcomes()
    assert world.national.calls == [("create", idempotency_key(event.record_id, 1))]
    assert first.event_id == second.event_id
    assert first.payload.status == RecordStatus.EXPORTED
    assert first.payload.national_id == "VN-000001"
    receipt = world.store.deliveries[idempotency_key(event.record_id, 1)]
    assert receipt.state is DeliveryState.EXPORTED
    assert receipt.national_id == "VN-000001"
    assert receipt.http_status == 201
    assert receipt.response == {"national_id": "VN-000001"}
    assert receipt.exported_at == world.clock.now


async def test_the_outcome_carries_the_entry_time_of_the_record(world: World) -> None:
    entered_at = world.clock.now - timedelta(hours=3)
    event = accepted().model_copy(update={"entered_at": entered_at})
    await world.exporter.export_batch([event])
    (outcome,) = world.outcomes()
    assert outcome.entered_at == entered_at


async def test_only_accepted_records_are_exported(world: World) -> None:
    await world.exporter.export_batch(
        [accepted(status=RecordStatus.REJECTED), accepted(status=RecordStatus.DUPLICATE_SUSPECTED)]
    )
    assert world.national.calls == []
    assert world.outcomes() == []


async def test_transient_errors_are_retried_in_line_honouring_retry_after(world: World) -> None:
    world.national.fail_next = [
        NationalThrottled("429", retry_after=0.02),
        NationalUnavailable("503", status=503),
    ]
    world.exporter.retry = RetryPolicy(initial_s=0.001, inline_attempts=3, inline_budget_s=1)
    world.exporter.breaker = CircuitBreaker()  # real time: the 429 holds calls for 20 ms
    [outcome] = await world.exporter.export_batch([accepted()])
    assert outcome.payload.status == RecordStatus.EXPORTED
    assert outcome.payload.attempts == 3


async def test_a_lost_response_is_retried_and_held_once(world: World) -> None:
    world.national.lose_next = 1
    [outcome] = await world.exporter.export_batch([accepted()])
    assert outcome.payload.status == RecordStatus.EXPORTED
    assert len(world.national.records) == 1
    assert world.store.deliveries[next(iter(world.store.deliveries))].http_status == 409


async def test_national_rejection_ends_as_export_failed_with_the_reason(world: World) -> None:
    world.national.reject = lambda record: "missing or empty fields: page"
    event = accepted()
    [outcome] = await world.exporter.export_batch([event])
    assert outcome.payload.status == RecordStatus.EXPORT_FAILED
    assert outcome.payload.national_id is None
    [reason] = outcome.payload.reasons
    assert reason.code == ReasonCode.NATIONAL_REJECTED
    assert "page" in reason.message_vi
    assert "page" in reason.message_en
    failed = world.store.deliveries[idempotency_key(event.record_id, 1)]
    assert failed.state is DeliveryState.FAILED
    assert failed.event_json is not None  # kept for a redrive
    [again] = await world.exporter.export_batch([event])
    assert again.event_id == outcome.event_id
    assert len(world.national.calls) == 1


async def test_a_newer_version_updates_the_record_under_the_older_ones_national_id(
    world: World,
) -> None:
    v1, v2 = accepted("r1", 1), accepted("r1", 2)
    v3 = accepted("r1", 3)
    outcomes = await world.exporter.export_batch([v2, v1])
    outcomes += await world.exporter.export_batch([v3])
    assert world.national.calls == [("create", "r1:v1"), ("update", "r1:v2"), ("update", "r1:v3")]
    assert {o.payload.national_id for o in outcomes} == {"VN-000001"}
    assert world.national.records["VN-000001"].keys == ["r1:v1", "r1:v2", "r1:v3"]


async def test_a_version_waits_for_a_parked_older_version(world: World) -> None:
    world.national.fail_next = [NationalUnavailable("503", status=503)] * 2
    assert await world.exporter.export_batch([accepted("r1", 1)]) == []
    assert world.store.deliveries["r1:v1"].state is DeliveryState.PENDING
    assert await world.exporter.export_batch([accepted("r1", 2)]) == []
    assert world.national.calls == []  # v2 did not overtake
    await world.drain()
    assert world.national.calls == [("create", "r1:v1"), ("update", "r1:v2")]
    assert [(o.record_version, o.payload.status) for o in world.outcomes()] == [
        (1, RecordStatus.EXPORTED),
        (2, RecordStatus.EXPORTED),
    ]


async def test_a_late_older_version_is_superseded(world: World) -> None:
    await world.exporter.export_batch([accepted("r1", 2)])
    assert await world.exporter.export_batch([accepted("r1", 1)]) == []
    assert world.store.deliveries["r1:v1"].state is DeliveryState.SUPERSEDED
    assert world.national.calls == [("create", "r1:v2")]


async def test_an_outage_opens_the_breaker_and_pauses_consumption(world: World) -> None:
    world.national.down = True
    events = [accepted() for _ in range(60)]
    with pytest.raises(CircuitOpen):
        await world.exporter.export_batch(events)  # not committed: Kafka keeps the backlog
    assert world.exporter.breaker.state is BreakerState.OPEN
    assert len(world.national.calls) == 0
    summary = await world.store.summary()
    assert summary.by_state.get("pending", 0) <= world.exporter.concurrency  # not the backlog
    world.advance(1)
    with pytest.raises(CircuitOpen):
        await world.exporter.export_batch(events)  # still open: given back at once
    world.national.down = False
    for _ in range(5):  # Kafka hands the batch over again until it goes through
        world.advance(2)
        try:
            await world.exporter.export_batch(events)
            break
        except CircuitOpen:
            continue
    assert world.exporter.breaker.state is BreakerState.CLOSED
    await world.drain()
    assert len(world.national.records) == 60
    exported = {(o.record_id, o.payload.status) for o in world.outcomes()}
    assert exported == {(e.record_id, RecordStatus.EXPORTED) for e in events}


async def test_calls_stop_while_the_breaker_is_open(world: World) -> None:
    world.national.down = True
    attempts = 0
    original = world.national._enter

    async def counting(operation: str, key: str) -> None:
        nonlocal attempts
        attempts += 1
        await original(operation, key)

    world.national._enter = counting  # type: ignore[method-assign]
    with pytest.raises(CircuitOpen):
        await world.exporter.export_batch([accepted() for _ in range(200)])
    assert attempts <= 5 + world.exporter.concurrency  # opened after 5; in-flight finish


async def test_a_retry_after_hold_is_waited_out_not_given_back(world: World) -> None:
    world.exporter.breaker = CircuitBreaker()  # real time
    world.exporter.retry = RetryPolicy(initial_s=0.001, inline_attempts=2)
    world.national.fail_next = [NationalThrottled("429", retry_after=0.05)] * 8
    outcomes = await world.exporter.export_batch([accepted() for _ in range(20)])
    assert {o.payload.status for o in outcomes} == {RecordStatus.EXPORTED}
    assert len(outcomes) == 20


async def test_calls_in_flight_are_bounded(world: World) -> None:
    world.national.delay_s = 0.005
    await world.exporter.export_batch([accepted() for _ in range(64)])
    assert world.national.max_in_flight == world.exporter.concurrency == 8
    assert len(world.national.records) == 64


async def test_parked_records_back_off_longer_each_time(world: World) -> None:
    world.exporter.retry = RetryPolicy(initial_s=1, max_s=100, inline_attempts=1)
    world.exporter.breaker = CircuitBreaker(window=100, min_calls=100, clock=world.ticks)
    world.national.fail_next = [NationalUnavailable("500", status=500)] * 5
    await world.exporter.export_batch([accepted("r1")])
    gaps = []
    for _ in range(4):
        parked = world.store.deliveries["r1:v1"]
        assert parked.due_at is not None
        gaps.append((parked.due_at - world.clock.now).total_seconds())
        world.clock.now = parked.due_at
        await world.exporter.retry_due()
    assert world.store.deliveries["r1:v1"].attempts == 5
    assert gaps[0] < gaps[-1]
    assert 4 <= gaps[-1] <= 16  # 4th try: 8 s with equal jitter


async def test_a_claim_whose_claimer_died_is_taken_again_after_its_lease(world: World) -> None:
    world.national.fail_next = [NationalUnavailable("503")] * 2
    await world.exporter.export_batch([accepted("r1")])
    world.advance(1)
    [claimed] = await world.store.claim_due(world.clock.now, 10, lease_s=30)  # then "dies"
    assert claimed.key == "r1:v1"
    assert await world.exporter.retry_due() == 0
    world.advance(31)
    assert await world.exporter.retry_due() == 1
    assert world.store.deliveries["r1:v1"].state is DeliveryState.EXPORTED


async def test_redrive_of_failed_records_exports_them_with_a_new_outcome(world: World) -> None:
    world.national.reject = lambda record: "refused"
    event = accepted("r1")
    [failed] = await world.exporter.export_batch([event])
    world.national.reject = lambda record: None  # the national rule changed
    redriven = await ops.redrive(world.store, failed=True, now=world.clock.now)
    assert [d.key for d in redriven.deliveries] == ["r1:v1"]
    assert await world.exporter.retry_due() == 1
    exported = world.outcomes()[-1]
    assert exported.payload.status == RecordStatus.EXPORTED
    assert exported.event_id != failed.event_id
    assert exported.record_version == failed.record_version


async def test_redrive_and_reconcile_repair_a_record_the_national_side_lost(world: World) -> None:
    events = [accepted("r1", 1), accepted("r1", 2), accepted("r2", 1)]
    await world.exporter.export_batch(events)
    assert (await ops.reconcile(world.store, world.national)).clean
    world.national.forget("VN-000001")
    report = await ops.reconcile(world.store, world.national)
    assert not report.clean
    assert report.units[0].missing == ["r1:v1", "r1:v2"]
    assert report.totals()["ledger_versions"] == 3
    assert report.totals()["national_versions"] == 1
    redriven = await ops.redrive(world.store, record_ids=["r1", "nobody"], now=world.clock.now)
    assert redriven.unknown_records == ["nobody"]
    await world.drain()
    assert (await ops.reconcile(world.store, world.national)).clean
    v2 = world.store.deliveries["r1:v2"]
    assert v2.national_id == "VN-000003"
    assert v2.previous_national_ids == ("VN-000001",)
    assert world.national.records["VN-000003"].keys == ["r1:v1", "r1:v2"]


async def test_reconcile_reports_extra_and_mismatched(world: World) -> None:
    await world.exporter.export_batch([accepted("r1"), accepted("r2")])
    await world.national.create(
        idempotency_key="stray:v1", unit_code="25459", record_id="stray", version=1, record={}
    )
    held = world.store.deliveries["r2:v1"]
    world.store.deliveries["r2:v1"] = held.__class__(**{**held.__dict__, "national_id": "VN-9"})
    report = (await ops.reconcile(world.store, world.national)).as_dict()
    assert report["clean"] is False
    [unit] = report["units"]  # type: ignore[index]
    assert unit["extra"] == {"stray:v1": "unknown"}
    assert unit["mismatched"] == [
        {"key": "r2:v1", "ledger_national_id": "VN-9", "national_id": "VN-000002"}
    ]


async def test_redrive_needs_something_to_redrive(world: World) -> None:
    with pytest.raises(ValueError, match="name records"):
        await ops.redrive(world.store)


class _GatedNational(InMemoryNational):
    """Calls for ``slow`` records wait until ``gate`` is set."""

    def __init__(self, slow: set[str]) -> None:
        super().__init__()
        self.slow = slow
        self.gate = asyncio.Event()

    async def create(self, **kwargs: Any) -> NationalReceipt:
        if kwargs["record_id"] in self.slow:
            await self.gate.wait()
        return await super().create(**kwargs)

    async def update(self, **kwargs: Any) -> NationalReceipt:
        if kwargs["record_id"] in self.slow:
            await self.gate.wait()
        return await super().update(**kwargs)


class _FailingStore(InMemoryDeliveryStore):
    """Fails the ``fail_add``-th write of receipts (1-based), once."""

    def __init__(self, fail_add: int) -> None:
        super().__init__()
        self.adds = 0
        self.fail_add = fail_add

    async def add(self, deliveries: Sequence[Delivery]) -> None:
        self.adds += 1
        if self.adds == self.fail_add:
            raise RetryableError("store down")
        await super().add(deliveries)


def _exporter(world: World, **changes: Any) -> Exporter:
    return replace(world.exporter, **changes)


async def test_receipts_of_the_first_half_are_written_while_the_last_calls_are_in_flight(
    world: World,
) -> None:
    fast = [accepted() for _ in range(12)]
    slow = [accepted() for _ in range(8)]
    multi = [accepted("multi", v) for v in (1, 2, 3)]
    national = _GatedNational({e.record_id for e in slow} | {"multi"})
    exporter = _exporter(world, national=national)
    batch = asyncio.create_task(exporter.export_batch([*multi, *fast, *slow]))
    for _ in range(100):
        await asyncio.sleep(0)
        if len(world.store.deliveries) >= 12:
            break
    # 23 versions, chunk = max(concurrency 8, 23 // 4) = 8: once 8 settled, those
    # settled so far (fast ones) are stored and their outcomes published, while the slow
    # calls are in flight; the batch is not over (not committed).
    stored = {d.record_id for d in world.store.deliveries.values()}
    assert 8 <= len(stored) <= 12
    assert stored <= {e.record_id for e in fast}
    assert {o.record_id for o in world.outcomes()} == stored
    assert not batch.done()
    national.gate.set()
    outcomes = await batch
    assert len(world.store.deliveries) == 23
    assert len(outcomes) == 23
    assert world.outcomes() == outcomes
    assert all(d.state is DeliveryState.EXPORTED for d in world.store.deliveries.values())
    # a record's versions still go in order, and their outcomes are published in order
    assert [k for op, k in national.calls if k.startswith("multi:")] == [
        "multi:v1",
        "multi:v2",
        "multi:v3",
    ]
    assert [o.record_version for o in outcomes if o.record_id == "multi"] == [1, 2, 3]


@pytest.mark.parametrize("fail_add", [1, 2])
async def test_a_batch_whose_receipts_were_not_all_stored_fails_and_is_done_once_when_read_again(
    world: World, fail_add: int
) -> None:
    store = _FailingStore(fail_add)
    exporter = _exporter(world, store=store)
    events = [accepted() for _ in range(40)]  # chunks of 10: a failed write, others after it
    with pytest.raises(RetryableError):
        await exporter.export_batch(events)  # the runtime does not commit it
    assert len(store.deliveries) < 40
    outcomes = await exporter.export_batch(events)  # read again
    assert len(outcomes) == 40
    assert len(store.deliveries) == 40
    assert len(world.national.records) == 40  # held once each
    creates = [k for op, k in world.national.calls if op == "create"]
    assert sorted(set(creates)) == sorted(idempotency_key(e.record_id, 1) for e in events)
    assert {o.event_id for o in outcomes} == {o.event_id for o in world.outcomes()}
