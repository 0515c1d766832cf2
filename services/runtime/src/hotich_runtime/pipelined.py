"""A batch consumer that reads and decodes the next batch while the current one is handled.

FastStream's batch subscriber is sequential: fetch and decode a batch, hand it to the
handler, commit, fetch the next. For a consumer whose handler mostly waits on its
store (reporting's projection), the decoding of the next batch (pydantic, ~30 µs an
event) could run meanwhile. :class:`PipelinedConsumer` does that, and its batches
follow the load: while the handler is busy, whatever the fetch loop reads is added to
the *next* batch (up to ``max_records``, then the loop waits), and the handler takes
all of it at once when it is done. An idle handler gets a message as soon as it is read
(no timer); a busy one gets ever larger batches, so a handler that writes each record
once per batch writes it once for all its events that arrived meanwhile. The delivery
discipline is that of :func:`hotich_runtime.kafka.subscribe`:

* offsets are committed explicitly, per partition, right after the batch that reaches
  them has been handled, in the order the batches were read: never a read-ahead
  batch's offsets before it is handled;
* undecodable messages go to ``<topic>.dlq`` when their batch is handled, and the
  batch goes on; a :class:`~hotich_runtime.errors.PermanentError` is isolated by
  bisecting the batch; anything else is retried with backoff, and if it persists (or
  anything else goes wrong in either loop) the consumer drops what it read ahead,
  rewinds every partition to the next offset not yet handled and reads again: nothing
  is lost, and repeats are harmless to idempotent handlers;
* when the group takes partitions away, what was read ahead is dropped and the batch
  in hand gets :data:`REVOKE_GRACE_S` to finish and commit; past that it is cancelled
  uncommitted (the new owner handles it again from the committed offsets).

With ``align_ms`` the partitions that are behind are read in step by message timestamp
(as Kafka Streams picks the oldest head record among its input partitions): a partition
whose last message read is more than ``align_ms`` newer than that of the oldest partition
still behind is paused until the others catch up. ``align_time`` replaces the timestamp
with a time taken from the decoded event (intake's status view: when the record was
entered, which every stage's event carries, so that a backlog's validated, deduplicated
and exported events of one record are read together however far apart the stages
published them), bounded by ``align_window_ms`` before the timestamp (:func:`read_time`).
A consumer of several topics that describe the same records at successive stages (reporting) then reads a backlog in the
order it was written, so the events of one record come in the same or neighbouring
batches instead of the topic with the smallest messages running far ahead. When every
partition is caught up nothing is paused (a caught-up partition's time follows the
clock); the oldest partition behind is never paused, and one that returns nothing for
:data:`ALIGN_IDLE_S` holds nobody back, so reading always progresses.

Dropping read-ahead batches is safe because the fetch loop is the only place that moves
positions: a rewind is a request it carries out before its next fetch, and whatever it
read under an older *generation* (before a rewind or a rebalance) is discarded unread.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from pydantic import ValidationError

from hotich_runtime import metrics
from hotich_runtime.messages import Message, MessageRef

log = logging.getLogger(__name__)

E = TypeVar("E")

Decode = Callable[[bytes], E]
DeadLetter = Callable[[Message, BaseException], Awaitable[None]]
Deliver = Callable[[list[tuple[Message, E]]], Awaitable[None]]


REVOKE_GRACE_S = 30.0
"""How long a rebalance waits for the batch in hand before cancelling it."""
STOP_GRACE_S = 10.0
"""How long stopping waits for the loops to end once cancelled."""


ALIGN_IDLE_S = 5.0
"""Alignment: how long a partition behind that returns nothing holds the others back."""


@dataclass(slots=True)
class _Read:
    next: int
    """The offset after the last message read."""
    time: int
    """That message's alignment time (ms): its timestamp, or the time ``align_time`` gives
    its event; later once the partition is caught up."""
    at: float
    """When it was read (monotonic seconds)."""


def ahead(
    highwater: dict[TopicPartition, int | None],
    read: dict[TopicPartition, _Read],
    *,
    reset_at: float,
    now: float,
    clock_ms: int,
    slack_ms: int,
) -> set[TopicPartition]:
    """The assigned partitions (the keys of ``highwater``) to pause while the others catch up.

    A partition is behind unless the last message read from it reached its high
    watermark; its time is that of that message. One behind whose time is unknown
    (nothing read from it since ``reset_at``, the last assignment or rewind) goes first:
    every partition whose time is known waits until it is read. A partition that
    returned nothing for :data:`ALIGN_IDLE_S` (its leader away, say) holds nobody back,
    as Kafka Streams' ``max.task.idle.ms``. A caught-up partition's time moves with the
    clock (``clock_ms``, less the slack), so that its next message, when one comes, is not
    taken for an old one. Updates those times in ``read``.
    """
    behind: dict[TopicPartition, int | None] = {}
    holding: list[int | None] = []
    for tp, high in highwater.items():
        state = read.get(tp)
        if state is not None and isinstance(high, int) and state.next >= high:
            state.time = max(state.time, clock_ms - slack_ms)
            continue
        behind[tp] = None if state is None else state.time
        if now - (reset_at if state is None else state.at) <= ALIGN_IDLE_S:
            holding.append(behind[tp])
    if not holding:
        return set()
    frontier = -1 if None in holding else min(t for t in holding if t is not None)
    return {tp for tp, ts in behind.items() if ts is not None and ts > frontier + slack_ms}


ALIGN_WINDOW_MS = 3_600_000
"""Aligned by event time: how far before its message's timestamp an event's time counts."""


def read_time(
    last_timestamp: int,
    known: tuple[int, int] | None,
    *,
    by_event: bool,
    window_ms: int,
    previous: int | None,
) -> int:
    """A partition's alignment time after a fetch whose last message had ``last_timestamp``.

    ``known`` is (timestamp, event time) of the fetch's last message whose event
    ``align_time`` gave a time (None: no such message; one that did not decode has
    none). By timestamp (``by_event`` False): ``last_timestamp``. By event: that event
    time, but never more than ``window_ms`` before its message's timestamp, so that
    events of records entered long ago (a re-validation sweep) hold the other partitions
    back by at most the window; without one, the time the partition had (``previous``),
    else ``last_timestamp``.
    """
    if not by_event:
        return last_timestamp
    if known is not None:
        timestamp, given = known
        return max(given, timestamp - window_ms)
    return previous if previous is not None else last_timestamp


@dataclass
class _Batch(Generic[E]):
    generation: int
    pairs: list[tuple[Message, E]]
    undecodable: list[tuple[Message, ValidationError]]
    ends: dict[TopicPartition, int]
    """Per partition, the offset after the batch's last message (what to commit)."""

    @property
    def size(self) -> int:
        """Messages in the batch, decodable or not."""
        return len(self.pairs) + len(self.undecodable)


class PipelinedConsumer(Generic[E]):
    """One group member reading ``topics``, one batch ahead of its handler.

    ``decode`` turns a message value into an event (raising ``ValidationError`` for one
    that cannot be); ``deliver`` handles a batch of (message, event) pairs and raises
    only after its own retries (what :func:`hotich_runtime.kafka.subscribe` builds);
    ``dead_letter`` sets an undecodable message aside. With ``keep_values`` False, a
    message is kept as a :class:`~hotich_runtime.messages.MessageRef` once decoded (a
    batch then holds the events and where they came from, not the bytes nor aiokafka's
    record); see :attr:`~hotich_runtime.kafka.BatchSubscription.keep_values`.
    ``partition_fetch_bytes`` and ``fetch_max_bytes`` bound one fetch (per partition and
    in all), and so what the client holds before it is parsed.
    """

    def __init__(
        self,
        *,
        bootstrap: str,
        topics: Sequence[str],
        group_id: str,
        decode: Decode[E],
        deliver: Deliver[E],
        dead_letter: DeadLetter,
        max_records: int,
        session_timeout_ms: int,
        client_id: str,
        align_ms: int | None = None,
        align_time: Callable[[E], int | None] | None = None,
        align_window_ms: int = ALIGN_WINDOW_MS,
        keep_values: bool = True,
        partition_fetch_bytes: int = 1024 * 1024,
        fetch_max_bytes: int = 50 * 1024 * 1024,
    ) -> None:
        self._topics = list(topics)
        self._keep_values = keep_values
        self._group = group_id
        self._decode = decode
        self._deliver = deliver
        self._dead_letter = dead_letter
        self._max_records = max_records
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=group_id,
            client_id=client_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=session_timeout_ms,
            heartbeat_interval_ms=max(session_timeout_ms // 3, 300),
            max_poll_interval_ms=5 * 60 * 1000,
            max_partition_fetch_bytes=partition_fetch_bytes,
            fetch_max_bytes=fetch_max_bytes,
        )
        self._next: _Batch[E] | None = None
        """The batch being gathered for the handler (taken whole when it is free)."""
        self._gathered = asyncio.Event()
        """Set while ``_next`` holds something."""
        self._taken = asyncio.Event()
        """Set when the handler took ``_next`` (a full one waits for this)."""
        self._generation = 0
        self._rewind = False
        self._next_to_handle: dict[TopicPartition, int] = {}
        """Per partition, the offset after the last batch handled here (rewind target)."""
        self._align_ms = align_ms
        self._align_time = align_time
        self._align_window_ms = align_window_ms
        self._read: dict[TopicPartition, _Read] = {}
        """Per partition, where reading it stands (alignment)."""
        self._reset_at = time.monotonic()
        """When positions were last reset (assignment, rewind)."""
        self._current: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Join the group and start reading and handling."""
        self._consumer.subscribe(self._topics, listener=_Listener(self))
        await self._consumer.start()
        self._tasks = [
            asyncio.create_task(self._fetch_forever(), name=f"{self._group}-fetch"),
            asyncio.create_task(self._handle_forever(), name=f"{self._group}-handle"),
        ]
        for task in self._tasks:
            task.add_done_callback(self._loop_ended)

    @property
    def running(self) -> bool:
        """Both loops are alive (readiness)."""
        return bool(self._tasks) and not any(t.done() for t in self._tasks)

    def _loop_ended(self, task: asyncio.Task[None]) -> None:
        if self._stopping or task.cancelled():
            return
        log.error(
            "a consumer loop ended; the service no longer consumes",
            extra={"group": self._group, "task": task.get_name(), "error": repr(task.exception())},
        )

    async def stop(self) -> None:
        """Stop reading; a batch being handled is cancelled uncommitted (read again later)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_GRACE_S)
        self._tasks = []
        await self._consumer.stop()

    # -- the two loops --------------------------------------------------------------

    def _drop_read_ahead(self) -> None:
        """Forget what was read ahead; the fetch loop reads it again (rewinds first)."""
        self._generation += 1
        self._rewind = True
        self._read = {}
        self._reset_at = time.monotonic()
        self._next = None
        self._gathered.clear()
        self._taken.set()

    async def _reposition(self) -> None:
        """Every assigned partition back to its next offset not yet handled.

        That is the end of the last batch handled here, else (nothing handled since the
        partition was assigned) the group's committed offset, else the beginning.
        """
        consumer = self._consumer
        for tp in consumer.assignment():
            offset = self._next_to_handle.get(tp)
            if offset is None:
                offset = await consumer.committed(tp)
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)

    async def _fetch_forever(self) -> None:
        while True:
            try:
                await self._fetch_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - logged; what was read is read again
                log.exception("reading a batch failed; reading again", extra={"group": self._group})
                self._drop_read_ahead()
                await asyncio.sleep(1.0)

    async def _fetch_once(self) -> None:
        consumer = self._consumer
        if self._rewind:
            self._rewind = False
            try:
                await self._reposition()
            except BaseException:
                self._rewind = True
                raise
        if self._align_ms is not None:
            self._align(self._align_ms)
        gathered = self._next
        if gathered is not None and gathered.size >= self._max_records:
            # Full: wait for the handler to take it (or for a rewind to drop it).
            self._taken.clear()
            await self._taken.wait()
            return
        generation = self._generation
        room = self._max_records - (gathered.size if gathered is not None else 0)
        fetched = await consumer.getmany(timeout_ms=500, max_records=room)
        if not fetched:
            return
        if generation != self._generation or self._rewind:
            # Read across a rewind or a rebalance: the positions moved past these
            # messages, so go back (the flag is set) and read them again.
            self._rewind = True
            return
        # No await from here to the end of the merge: the handler cannot take the batch
        # half-built. (A rewind cannot happen in between either.)
        batch = self._next
        if batch is None:
            batch = _Batch(generation, [], [], {})
        for tp, records in fetched.items():
            if not records:
                continue
            batch.ends[tp] = records[-1].offset + 1
            known: tuple[int, int] | None = None
            for record in records:
                try:
                    event = self._decode(record.value or b"")
                except ValidationError as exc:
                    batch.undecodable.append((record, exc))  # its value goes to the DLQ
                    continue
                if self._align_time is not None:
                    given = self._align_time(event)
                    if given is not None:
                        known = (record.timestamp, given)
                if self._keep_values:
                    batch.pairs.append((record, event))
                else:
                    ref = MessageRef(record.topic, record.partition, record.offset, record.key)
                    batch.pairs.append((ref, event))
            previous = self._read.get(tp)
            stamp = read_time(
                records[-1].timestamp,
                known,
                by_event=self._align_time is not None,
                window_ms=self._align_window_ms,
                previous=None if previous is None else previous.time,
            )
            self._read[tp] = _Read(records[-1].offset + 1, stamp, time.monotonic())
        self._next = batch
        self._gathered.set()
        # Let a waiting handler take it and send its first store request before this
        # loop reads and decodes more, or the two would take turns instead of overlapping.
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    def _align(self, slack_ms: int) -> None:
        """Pause the partitions :func:`ahead` of the others; resume the rest."""
        consumer = self._consumer
        now = time.monotonic()
        waiting = ahead(
            {tp: consumer.highwater(tp) for tp in consumer.assignment()},
            self._read,
            reset_at=self._reset_at,
            now=now,
            clock_ms=int(time.time() * 1000),
            slack_ms=slack_ms,
        )
        paused = consumer.paused()
        if waiting - paused:
            consumer.pause(*(waiting - paused))
        if paused - waiting:
            consumer.resume(*(paused - waiting))

    async def _handle_forever(self) -> None:
        while True:
            await self._gathered.wait()
            batch, self._next = self._next, None
            self._gathered.clear()
            self._taken.set()
            if batch is None or batch.generation != self._generation:
                continue
            metrics.BATCH_EVENTS.labels(self._group).observe(batch.size)
            current = asyncio.create_task(self._handle(batch))
            self._current = current
            try:
                await asyncio.wait({current})
            except asyncio.CancelledError:
                current.cancel()
                await asyncio.wait({current}, timeout=STOP_GRACE_S)
                raise
            finally:
                self._current = None
            if current.cancelled():
                continue  # by a rebalance: its partitions are handled elsewhere now
            if current.exception() is not None:
                log.error(
                    "a batch could not be handled; reading it again",
                    extra={"group": self._group, "error": repr(current.exception())},
                )
                self._drop_read_ahead()
                await asyncio.sleep(1.0)

    async def _handle(self, batch: _Batch[E]) -> None:
        """Dead-letter, deliver and commit one batch (raises to have it read again)."""
        started = time.perf_counter()
        for record, exc in batch.undecodable:
            await self._dead_letter(record, exc)
        for topic, count in Counter(record.topic for record, _ in batch.pairs).items():
            metrics.EVENTS_CONSUMED.labels(topic, self._group).inc(count)
        if batch.pairs:
            await self._deliver(batch.pairs)
        try:
            await self._consumer.commit(
                {tp: OffsetAndMetadata(end, "") for tp, end in batch.ends.items()}
            )
        except CommitFailedError as exc:
            # The partitions moved to another member meanwhile: it reads from the last
            # committed offsets, so this batch is handled again there (harmless).
            log.warning("commit refused after a rebalance", extra={"error": repr(exc)})
            return
        except (IllegalStateError, KafkaError) as exc:
            # Handled but not committed: a later batch's commit covers it, or it is
            # handled again after a restart (harmless).
            log.warning("commit failed", extra={"error": repr(exc)})
        for tp, end in batch.ends.items():
            self._next_to_handle[tp] = end
        metrics.BATCH_SECONDS.labels(self._group).observe(time.perf_counter() - started)
        self._observe_lag(batch)

    def _observe_lag(self, batch: _Batch[E]) -> None:
        assigned = self._consumer.assignment()
        for tp, end in batch.ends.items():
            high = self._consumer.highwater(tp) if tp in assigned else None
            if isinstance(high, int):
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition), self._group).set(
                    max(high - end, 0)
                )

    # -- rebalances -----------------------------------------------------------------

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        """Drop the read-ahead; give the batch in hand a grace period, then cancel it."""
        self._drop_read_ahead()
        current = self._current
        if current is not None and not current.done():
            await asyncio.wait({current}, timeout=REVOKE_GRACE_S)
            if not current.done():
                log.warning(
                    "a rebalance cancelled the batch in hand (handled again by the new owner)",
                    extra={"group": self._group},
                )
                current.cancel()
                await asyncio.wait({current}, timeout=STOP_GRACE_S)
        self._drop_read_ahead()  # what the fetch loop queued meanwhile
        for tp in revoked:
            self._next_to_handle.pop(tp, None)

    def _assigned(self, assigned: set[TopicPartition]) -> None:
        # Positions of the new assignment come from the committed offsets.
        self._next_to_handle = {}
        self._drop_read_ahead()


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: PipelinedConsumer[Any]) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._consumer._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._consumer._assigned(set(assigned))
