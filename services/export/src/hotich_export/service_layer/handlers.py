"""Use cases of the export service: deliver accepted record versions, exactly once each.

Two paths share one circuit breaker and one bound on calls in flight:

* **In line** (:meth:`Exporter.export_batch`, the Kafka batch handler): each accepted
  version is sent at once, retried a few times within a short budget; if it still fails
  it is *parked* in the delivery store with a due time, and the batch goes on. The
  batch's offsets are committed once its receipts, failures and parked records are
  stored and its outcomes acknowledged by Kafka. While the circuit breaker is open the
  batch is not committed: consumption pauses and the backlog stays in Kafka, so neither
  memory nor the store fills up during a long outage.
* **Scheduled** (:meth:`Exporter.retry_due`, looped by :class:`RetryLoop`): parked
  records whose time has come are claimed with a lease (several instances can run),
  sent once each, and settled: exported, failed, or parked again with a longer backoff.

Every call carries ``Idempotency-Key = <record_id>:v<version>``; the national database
answers a repeat with the id it gave the first time, so a retry after a lost response
or a crash never makes a second copy. Outcome events have ids derived from the event
that caused them, so publishing one twice is harmless downstream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hotich_contracts import topics
from hotich_contracts.envelope import reaction_to, utcnow
from hotich_contracts.events import (
    RecordDeduplicated,
    RecordExported,
    RecordExportedPayload,
    RecordStatus,
)
from hotich_contracts.reasons import Reason, ReasonCode
from hotich_export import metrics
from hotich_export.domain.breaker import BreakerState, CircuitBreaker, CircuitOpen, Permit
from hotich_export.domain.delivery import (
    Create,
    Delivery,
    DeliveryState,
    Operation,
    Supersede,
    Update,
    Wait,
    idempotency_key,
    next_step,
    pending_successors,
)
from hotich_export.domain.retry import RetryPolicy
from hotich_export.service_layer.ports import (
    DeliveryStore,
    NationalDatabase,
    NationalReceipt,
    NationalRejected,
    NationalThrottled,
    NationalUnavailable,
)
from hotich_runtime.errors import RetryableError
from hotich_runtime.ports import Publisher

log = logging.getLogger(__name__)

STAGE = "exported"
WAIT_BEHIND = timedelta(milliseconds=50)
"""A version waiting for an older one is due this long after it."""

__all__ = ["STAGE", "Exporter", "RetryLoop", "idempotency_key", "national_reason"]


def national_reason(exc: NationalRejected) -> Reason:
    """The reason a clerk sees when the national database refused a record."""
    return Reason(
        code=ReasonCode.NATIONAL_REJECTED,
        message_vi=f"Cơ sở dữ liệu hộ tịch điện tử toàn quốc từ chối bản ghi: {exc.reason}",
        message_en=f"The national civil status database refused the record: {exc.reason}",
    )


def outcome_stage(redrives: int) -> str:
    """Stage name the outcome event id derives from: a redrive's outcome is a new event."""
    return STAGE if redrives == 0 else f"{STAGE}/redrive-{redrives}"


class _Tries:
    """Counts calls actually made (an open circuit refuses without a call)."""

    def __init__(self, start: int) -> None:
        self.n = start


class _Receipts:
    """A Kafka batch's settled deliveries, stored then their outcomes published, in chunks.

    Receipts are written (one ``insert_many`` per chunk) and their outcomes published
    while the batch's other calls are still in flight: whenever ``chunk`` settled
    deliveries wait and no chunk is being written, they go. The batch thus ends with at
    most about one chunk to write instead of the whole batch; with ``chunk`` a quarter
    of the batch that is at most about five inserts per batch (fewer statements per
    record than one insert per batch of 500 before, since batches are now of 1,000).
    One chunk at a time, in the order deliveries settled, so the outcomes of a record's
    versions are published in order. :meth:`close` writes the rest and returns every
    outcome; it raises the first failure of any chunk (the batch is then not committed;
    what was written is recognised when it is read again).
    """

    def __init__(
        self, store: DeliveryStore, publisher: Publisher, topic: str, *, chunk: int
    ) -> None:
        self._store = store
        self._publisher = publisher
        self._topic = topic
        self._chunk = max(1, chunk)
        self._deliveries: list[Delivery] = []
        self._outcomes: list[RecordExported] = []
        self._task: asyncio.Task[None] | None = None
        self.outcomes: list[RecordExported] = []
        """Every outcome of the batch, in the order they settled."""

    def add(self, delivery: Delivery | None, outcome: RecordExported | None) -> None:
        """One settled delivery (None: already stored) and its outcome (None: no event yet)."""
        if delivery is not None:
            self._deliveries.append(delivery)
        if outcome is not None:
            self._outcomes.append(outcome)
            self.outcomes.append(outcome)
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        # One chunk at a time; a failed chunk stays as the task: none more (close raises it).
        if len(self._deliveries) < self._chunk or self._task is not None:
            return
        self._task = asyncio.create_task(self._flush_then_more(), name="export-receipts")

    async def _flush_then_more(self) -> None:
        await self._flush()
        self._task = None
        self._maybe_flush()  # what settled meanwhile, if a chunk's worth

    async def _flush(self) -> None:
        deliveries, self._deliveries = self._deliveries, []
        outcomes, self._outcomes = self._outcomes, []
        await self._store.add(deliveries)
        await self._publisher.publish(self._topic, outcomes)

    async def close(self) -> list[RecordExported]:
        """Wait for the chunk being written, write the rest; return every outcome."""
        while self._task is not None:
            await self._task  # raises a chunk's failure; else it cleared or chained itself
        if self._deliveries or self._outcomes:
            await self._flush()
        return self.outcomes

    def cancel(self) -> None:
        """Stop a chunk still being written (the batch failed or was cancelled)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()


@dataclass
class Exporter:
    """Delivers accepted record versions to the national database, exactly once each."""

    national: NationalDatabase
    store: DeliveryStore
    publisher: Publisher
    breaker: CircuitBreaker
    retry: RetryPolicy = RetryPolicy()
    concurrency: int = 128
    lease_s: float = 60.0
    page: int = 256
    pause_s: float = 20.0
    """How long a batch waits for an open breaker before it is given back to Kafka."""
    exported_topic: str = topics.RECORD_EXPORTED
    clock: Callable[[], datetime] = utcnow

    def __post_init__(self) -> None:
        self._slots = asyncio.Semaphore(self.concurrency)

    # -- one call -------------------------------------------------------------------

    async def _call(
        self, event: RecordDeduplicated, step: Create | Update, tries: _Tries
    ) -> NationalReceipt:
        """One national call through the breaker, within the bound on calls in flight.

        A ``Retry-After`` hold concerns every call: it is waited out here. An open
        breaker raises :class:`CircuitOpen`, for the caller to wait or park.
        """
        while True:
            hold = self.breaker.hold_s()
            if hold > 0:
                await asyncio.sleep(hold)
                continue
            async with self._slots:
                permit = self.breaker.permit()
                if isinstance(permit, Permit):
                    return await self._permitted(event, step, tries, permit)
                if self.breaker.hold_s() <= 0:
                    raise CircuitOpen(permit)

    async def _permitted(
        self, event: RecordDeduplicated, step: Create | Update, tries: _Tries, permit: Permit
    ) -> NationalReceipt:
        tries.n += 1
        try:
            try:
                with metrics.NATIONAL_SECONDS.time():
                    receipt = await self._send(event, step)
            except NationalThrottled as exc:
                self.breaker.throttled(permit, exc.retry_after or self.retry.initial_s)
                metrics.NATIONAL_CALLS.labels("throttled").inc()
                raise
            except NationalUnavailable:
                self.breaker.failed(permit)
                metrics.NATIONAL_CALLS.labels("unavailable").inc()
                raise
            except NationalRejected:
                self.breaker.succeeded(permit)
                metrics.NATIONAL_CALLS.labels("rejected").inc()
                raise
            except BaseException:
                self.breaker.released(permit)
                raise
            self.breaker.succeeded(permit)
        finally:
            self._observe_breaker()
        metrics.NATIONAL_CALLS.labels("ok").inc()
        return receipt

    async def _send(self, event: RecordDeduplicated, step: Create | Update) -> NationalReceipt:
        key = idempotency_key(event.record_id, event.record_version)
        record = event.payload.record.model_dump_json().encode()  # serialized once, as sent
        if isinstance(step, Update):
            return await self.national.update(
                national_id=step.national_id,
                idempotency_key=key,
                unit_code=event.unit_code,
                record_id=event.record_id,
                version=event.record_version,
                record=record,
            )
        return await self.national.create(
            idempotency_key=key,
            unit_code=event.unit_code,
            record_id=event.record_id,
            version=event.record_version,
            record=record,
        )

    def _observe_breaker(self) -> None:
        metrics.BREAKER_OPEN.set(0 if self.breaker.state is BreakerState.CLOSED else 1)

    # -- one delivery ---------------------------------------------------------------

    def _new(self, event: RecordDeduplicated) -> Delivery:
        return Delivery(
            key=idempotency_key(event.record_id, event.record_version),
            record_id=event.record_id,
            version=event.record_version,
            unit_code=event.unit_code,
            state=DeliveryState.PENDING,
            event_json=event.model_dump_json(),
        )

    def _park(
        self, delivery: Delivery, due_at: datetime, outcome: str, error: str | None
    ) -> Delivery:
        metrics.DELIVERIES.labels(outcome).inc()
        return replace(delivery, state=DeliveryState.PENDING, due_at=due_at, last_error=error)

    async def _deliver(
        self,
        event: RecordDeduplicated,
        delivery: Delivery,
        history: Sequence[Delivery],
        *,
        inline_until: float | None = None,
    ) -> tuple[Delivery, RecordExported | None]:
        """Take ``delivery`` one step: exported, failed, superseded or parked again.

        In line (``inline_until``, a ``time.monotonic()`` deadline), transient errors are
        retried a few times and an open breaker is waited for until the deadline, after
        which :class:`CircuitOpen` propagates: the batch is given back to Kafka rather
        than parked. On the scheduled path one try is made, and an open breaker parks
        the delivery again.
        """
        now = self.clock()
        step = next_step(history, delivery.version, resend=delivery.ever_exported)
        if isinstance(step, Wait):
            return self._park(delivery, (step.until or now) + WAIT_BEHIND, "waiting", None), None
        if isinstance(step, Supersede):
            metrics.DELIVERIES.labels("superseded").inc()
            return (
                replace(
                    delivery,
                    state=DeliveryState.SUPERSEDED,
                    due_at=None,
                    last_error=f"version {step.by_version} was exported first",
                ),
                None,
            )
        tries = _Tries(delivery.attempts)
        try:
            if inline_until is not None:
                receipt = await self._inline(event, step, tries, inline_until)
            else:
                receipt = await self._call(event, step, tries)
        except NationalRejected as exc:
            metrics.DELIVERIES.labels("failed").inc()
            failed = replace(
                delivery,
                state=DeliveryState.FAILED,
                attempts=tries.n,
                due_at=None,
                http_status=exc.status,
                reasons=(national_reason(exc).model_dump(mode="json"),),
                last_error=exc.reason,
            )
            return failed, self._outcome(event, failed)
        except CircuitOpen:
            if inline_until is not None:
                raise  # the batch goes back to Kafka; nothing is parked
            delay = self.retry.delay_s(1, self.breaker.wait_s())
            return self._park(
                delivery, now + timedelta(seconds=delay), "parked", "circuit open"
            ), None
        except RetryableError as exc:
            retry_after = getattr(exc, "retry_after", None)
            delay = self.retry.delay_s(max(1, tries.n), retry_after)
            parked = self._park(
                replace(delivery, attempts=tries.n),
                now + timedelta(seconds=delay),
                "parked",
                str(exc)[:500],
            )
            return parked, None
        metrics.DELIVERIES.labels("exported").inc()
        previous = delivery.previous_national_ids
        if delivery.national_id and delivery.national_id != receipt.national_id:
            previous = (*previous, delivery.national_id)
        exported = replace(
            delivery,
            state=DeliveryState.EXPORTED,
            attempts=tries.n,
            due_at=None,
            national_id=receipt.national_id,
            operation=Operation.UPDATE if isinstance(step, Update) else Operation.CREATE,
            http_status=receipt.http_status,
            response=receipt.response,
            exported_at=self.clock(),
            reasons=(),
            last_error=None,
            previous_national_ids=previous,
        )
        return exported, self._outcome(event, exported)

    async def _inline(
        self, event: RecordDeduplicated, step: Create | Update, tries: _Tries, until: float
    ) -> NationalReceipt:
        while True:
            try:
                async for attempt in self.retry.inline():
                    with attempt:
                        return await self._call(event, step, tries)
            except CircuitOpen as exc:
                if time.monotonic() + exc.retry_after > until:
                    raise
                await asyncio.sleep(exc.retry_after)
        raise AssertionError("unreachable")  # pragma: no cover - mypy: the loop returns

    def _outcome(self, event: RecordDeduplicated, delivery: Delivery) -> RecordExported:
        exported = delivery.state is DeliveryState.EXPORTED
        return RecordExported(
            **reaction_to(event, stage=outcome_stage(delivery.redrives), actor="service:export"),
            payload=RecordExportedPayload(
                status=RecordStatus.EXPORTED if exported else RecordStatus.EXPORT_FAILED,
                phase=event.payload.phase,
                national_id=delivery.national_id if exported else None,
                attempts=max(1, delivery.attempts),
                reasons=[] if exported else [Reason.model_validate(r) for r in delivery.reasons],
            ),
        )

    # -- the Kafka path -------------------------------------------------------------

    async def export_batch(self, events: Sequence[RecordDeduplicated]) -> list[RecordExported]:
        """Deliver a batch's accepted versions in line; park what fails for a while.

        While the breaker is open the batch waits for it (``pause_s`` at most); if it
        stays open, what was settled is stored and published and :class:`CircuitOpen`
        propagates: the batch is not committed and Kafka keeps the backlog (consumption
        pauses; nothing piles up in memory or in the store). A store or Kafka failure
        propagates likewise. Read again, the versions already settled are recognised and
        the others sent again; the national database answers repeats with the ids it gave.

        Receipts are written, and their outcomes published, in chunks while the batch's
        other calls are in flight (see :class:`_Receipts`). The batch returns (and the
        runtime commits its offsets) only once every chunk is stored and published.

        Returns (and publishes) the outcomes known by the end of the batch.
        """
        until = time.monotonic() + self.pause_s
        chains: dict[str, dict[int, RecordDeduplicated]] = defaultdict(dict)
        for event in events:
            if event.payload.status == RecordStatus.ACCEPTED:
                chains[event.record_id].setdefault(event.record_version, event)
        if not chains:
            return []
        histories = await self.store.of_records(list(chains))
        receipts = _Receipts(
            self.store,
            self.publisher,
            self.exported_topic,
            chunk=max(self.concurrency, sum(map(len, chains.values())) // 4),
        )

        async def run_chain(record_id: str, versions: dict[int, RecordDeduplicated]) -> None:
            history = list(histories.get(record_id, []))
            for version in sorted(versions):
                event = versions[version]
                key = idempotency_key(record_id, version)
                known = next((d for d in history if d.key == key), None)
                if known is not None:
                    if known.state in (DeliveryState.EXPORTED, DeliveryState.FAILED):
                        receipts.add(None, self._outcome(event, known))
                    continue  # pending: the scheduled retry owns it
                delivery = self._new(event)
                if any(d.state is DeliveryState.PENDING for d in history):
                    # Behind (or racing) a parked version: let the store order them.
                    step = next_step(history, version)
                    due = step.until if isinstance(step, Wait) and step.until else self.clock()
                    settled = self._park(delivery, due + WAIT_BEHIND, "waiting", None)
                    result: RecordExported | None = None
                else:
                    settled, result = await self._deliver(
                        event, delivery, history, inline_until=until
                    )
                history.append(settled)
                receipts.add(settled, result)

        try:
            if self.breaker.state is BreakerState.OPEN:
                wait = self.breaker.wait_s()
                if time.monotonic() + wait > until:
                    raise CircuitOpen(wait)
                await asyncio.sleep(wait)
            errors = [
                e
                for e in await asyncio.gather(
                    *(run_chain(r, v) for r, v in chains.items()), return_exceptions=True
                )
                if e is not None
            ]
            outcomes = await receipts.close()
        finally:
            receipts.cancel()
        for error in errors:
            if isinstance(error, CircuitOpen):
                metrics.BATCHES_PAUSED.inc()
            raise error
        return outcomes

    # -- the scheduled path ---------------------------------------------------------

    async def retry_due(self) -> int:
        """Claim parked versions that are due and take each one step; return how many.

        While the breaker is open nothing is claimed; half-open, one (the probe).
        """
        state = self.breaker.state
        if state is BreakerState.OPEN:
            return 0
        limit = 1 if state is BreakerState.HALF_OPEN else self.page
        claimed = await self.store.claim_due(self.clock(), limit, self.lease_s)
        if not claimed:
            return 0
        histories = await self.store.of_records(sorted({d.record_id for d in claimed}))
        chains: dict[str, list[Delivery]] = defaultdict(list)
        for delivery in claimed:
            chains[delivery.record_id].append(delivery)
        settled: list[Delivery] = []
        outcomes: list[RecordExported] = []
        to_hurry: list[tuple[str, int]] = []

        async def run_chain(record_id: str, deliveries: list[Delivery]) -> None:
            history = {d.key: d for d in histories.get(record_id, [])}
            for delivery in sorted(deliveries, key=lambda d: d.version):
                if delivery.event_json is None:  # pragma: no cover - claims load events
                    raise RuntimeError(f"claimed {delivery.key} without its event")
                event = RecordDeduplicated.model_validate_json(delivery.event_json)
                others = [d for k, d in history.items() if k != delivery.key]
                done, result = await self._deliver(event, delivery, others)
                history[delivery.key] = done
                settled.append(done)
                if result is not None:
                    outcomes.append(result)
                if done.state is not DeliveryState.PENDING:
                    later = pending_successors(list(history.values()), done.version)
                    if any(d.key not in {c.key for c in deliveries} for d in later):
                        to_hurry.append((record_id, done.version))

        await asyncio.gather(*(run_chain(r, ds) for r, ds in chains.items()))
        # Publish before settling: a crash in between re-runs the delivery, the national
        # database answers 409 with the same id, and the outcome (same event id) again.
        await self.publisher.publish(self.exported_topic, outcomes)
        await self.store.settle(settled)
        for record_id, version in to_hurry:
            await self.store.hurry(record_id, version, self.clock())
        return len(claimed)


class RetryLoop:
    """Runs :meth:`Exporter.retry_due` until stopped.

    At once again while there is work, else after ``idle_s`` (or, while the breaker is
    open, when it would let a probe through).
    """

    def __init__(self, exporter: Exporter, *, idle_s: float = 1.0) -> None:
        self._exporter = exporter
        self._idle_s = idle_s
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the loop as a task of the running event loop."""
        self._task = asyncio.create_task(self._run(), name="export-retry-loop")

    async def stop(self, grace_s: float = 10.0) -> None:
        """Ask the loop to stop; cancel it if its round outlasts ``grace_s``.

        A cancelled round loses nothing: its claims are pending and are due again when
        their lease ends.
        """
        self._stop.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), grace_s)
        except TimeoutError:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while not self._stop.is_set():
            try:
                done = await self._exporter.retry_due()
            except RetryableError as exc:
                log.warning("scheduled retries failed; trying again", extra={"error": str(exc)})
                done = 0
            except Exception:
                log.exception("scheduled retries crashed; trying again")
                done = 0
            if done:
                continue
            pause = max(self._idle_s, 0.0)
            if self._exporter.breaker.state is BreakerState.OPEN:
                pause = min(max(self._exporter.breaker.wait_s(), 0.05), pause * 10)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), pause)
