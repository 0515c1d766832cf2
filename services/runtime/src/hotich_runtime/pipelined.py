"""A batch consumer that reads and decodes the next batch while the current one is handled.

FastStream's batch subscriber is sequential: fetch and decode a batch, hand it to the
handler, commit, fetch the next. For a consumer whose handler mostly waits on its
store (reporting's projection), the decoding of the next batch (pydantic, ~30 µs an
event) could run meanwhile. :class:`PipelinedConsumer` does that with one batch read
ahead, under the same delivery discipline as :func:`hotich_runtime.kafka.subscribe`:

* offsets are committed explicitly, per partition, right after the batch that reaches
  them has been handled, in the order the batches were read: never a read-ahead
  batch's offsets before it is handled;
* undecodable messages go to ``<topic>.dlq`` and the batch goes on; a
  :class:`~hotich_runtime.errors.PermanentError` is isolated by bisecting the batch;
  anything else is retried with backoff, and if it persists the consumer rewinds every
  partition to the next offset not yet handled, drops what it read ahead, and reads
  again (nothing is lost; repeats are harmless to idempotent handlers);
* when the group takes partitions away, what was read ahead is dropped and the batch
  in hand is finished and committed before they go; the new owner starts from the
  committed offsets.

Dropping read-ahead batches is safe because the fetch loop is the only place that moves
positions: a rewind is a request it carries out before its next fetch, and whatever it
read under an older *generation* (before a rewind or a rebalance) is discarded unread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from pydantic import BaseModel, ValidationError

from hotich_runtime import metrics

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)

Decode = Callable[[bytes], E]
DeadLetter = Callable[[ConsumerRecord[Any, Any], BaseException], Awaitable[None]]
Deliver = Callable[[list[tuple[ConsumerRecord[Any, Any], E]]], Awaitable[None]]


@dataclass
class _Batch(Generic[E]):
    generation: int
    pairs: list[tuple[ConsumerRecord[Any, Any], E]]
    ends: dict[TopicPartition, int]
    """Per partition, the offset after the batch's last message (what to commit)."""
    read: int
    """Messages read, decodable or not."""


@dataclass
class _Progress:
    """Where each partition's handling stands (the fetch loop's rewind targets)."""

    next_to_handle: dict[TopicPartition, int] = field(default_factory=dict)


class PipelinedConsumer(Generic[E]):
    """One group member reading ``topics``, one batch ahead of its handler.

    ``decode`` turns a message value into an event (raising ``ValidationError`` for one
    that cannot be); ``deliver`` handles a batch of (message, event) pairs and raises
    only after its own retries (what :func:`hotich_runtime.kafka.subscribe` builds);
    ``dead_letter`` sets an undecodable message aside.
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
    ) -> None:
        self._topics = list(topics)
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
        )
        self._queue: asyncio.Queue[_Batch[E]] = asyncio.Queue(maxsize=1)
        self._generation = 0
        self._rewind = False
        self._progress = _Progress()
        self._handling: asyncio.Future[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    # -- lifecycle ----------------------------------------------------------------

    async def start(self) -> None:
        """Join the group and start reading and handling."""
        self._consumer.subscribe(self._topics, listener=_Listener(self))
        await self._consumer.start()
        self._tasks = [
            asyncio.create_task(self._fetch_forever(), name=f"{self._group}-fetch"),
            asyncio.create_task(self._handle_forever(), name=f"{self._group}-handle"),
        ]

    async def stop(self) -> None:
        """Stop reading; a batch being handled is abandoned uncommitted (read again later)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        await self._consumer.stop()

    # -- the two loops --------------------------------------------------------------

    def _drop_read_ahead(self) -> None:
        """Forget what was read ahead; the fetch loop reads it again (rewinds first)."""
        self._generation += 1
        self._rewind = True
        while not self._queue.empty():
            self._queue.get_nowait()

    async def _reposition(self) -> None:
        """Every assigned partition back to its next offset not yet handled.

        That is the end of the last batch handled here, else (nothing handled since the
        partition was assigned) the group's committed offset, else the beginning.
        """
        consumer = self._consumer
        for tp in consumer.assignment():
            offset = self._progress.next_to_handle.get(tp)
            if offset is None:
                offset = await consumer.committed(tp)
            if offset is None:
                await consumer.seek_to_beginning(tp)
            else:
                consumer.seek(tp, offset)

    async def _fetch_forever(self) -> None:
        consumer = self._consumer
        while True:
            if self._rewind:
                self._rewind = False
                try:
                    await self._reposition()
                except (KafkaError, IllegalStateError) as exc:
                    log.warning("rewind failed; trying again", extra={"error": repr(exc)})
                    self._rewind = True
                    await asyncio.sleep(1.0)
                    continue
            generation = self._generation
            try:
                fetched = await consumer.getmany(timeout_ms=500, max_records=self._max_records)
            except (KafkaError, IllegalStateError) as exc:
                log.warning("fetch failed; trying again", extra={"error": repr(exc)})
                await asyncio.sleep(1.0)
                continue
            if not fetched:
                continue
            if generation != self._generation or self._rewind:
                # Read across a rewind or a rebalance: the positions moved past these
                # messages, so go back (the flag is set) and read them again.
                self._rewind = True
                continue
            pairs: list[tuple[ConsumerRecord[Any, Any], E]] = []
            ends: dict[TopicPartition, int] = {}
            read = 0
            for tp, records in fetched.items():
                if not records:
                    continue
                ends[tp] = records[-1].offset + 1
                for record in records:
                    read += 1
                    try:
                        pairs.append((record, self._decode(record.value or b"")))
                    except ValidationError as exc:
                        await self._dead_letter(record, exc)
            if generation != self._generation:
                continue  # rebalanced while decoding: the drop set the rewind
            await self._queue.put(_Batch(generation, pairs, ends, read))

    async def _handle_forever(self) -> None:
        while True:
            batch = await self._queue.get()
            if batch.generation != self._generation:
                continue
            loop = asyncio.get_running_loop()
            self._handling = loop.create_future()
            try:
                await self._handle(batch)
            finally:
                self._handling.set_result(None)
                self._handling = None

    async def _handle(self, batch: _Batch[E]) -> None:
        started = time.perf_counter()
        for topic, count in Counter(record.topic for record, _ in batch.pairs).items():
            metrics.EVENTS_CONSUMED.labels(topic, self._group).inc(count)
        try:
            if batch.pairs:
                await self._deliver(batch.pairs)
        except Exception:  # noqa: BLE001 - retried by the deliverer already: read it again
            log.exception(
                "a batch kept failing; rewinding to read it again",
                extra={"group": self._group, "messages": batch.read},
            )
            self._drop_read_ahead()
            return
        try:
            await self._consumer.commit(
                {tp: OffsetAndMetadata(end, "") for tp, end in batch.ends.items()}
            )
        except (CommitFailedError, IllegalStateError, KafkaError) as exc:
            # The partitions moved to another member meanwhile: it reads from the last
            # committed offsets, so this batch is handled again there (harmless).
            log.warning("commit refused after a rebalance", extra={"error": repr(exc)})
            return
        for tp, end in batch.ends.items():
            self._progress.next_to_handle[tp] = end
        metrics.BATCH_SECONDS.labels(self._group).observe(time.perf_counter() - started)
        self._observe_lag(batch)

    def _observe_lag(self, batch: _Batch[E]) -> None:
        for tp, end in batch.ends.items():
            high = self._consumer.highwater(tp)
            if isinstance(high, int):
                metrics.CONSUMER_LAG.labels(tp.topic, str(tp.partition), self._group).set(
                    max(high - end, 0)
                )

    # -- rebalances -----------------------------------------------------------------

    async def _revoked(self, revoked: set[TopicPartition]) -> None:
        """Drop the read-ahead; let the batch in hand finish and commit first."""
        self._drop_read_ahead()
        handling = self._handling
        if handling is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(handling), timeout=60.0)
        self._drop_read_ahead()  # what the fetch loop queued meanwhile
        for tp in revoked:
            self._progress.next_to_handle.pop(tp, None)

    def _assigned(self, assigned: set[TopicPartition]) -> None:
        # Positions of the new assignment come from the committed offsets.
        self._progress.next_to_handle = {}
        self._drop_read_ahead()


class _Listener(ConsumerRebalanceListener):  # type: ignore[misc]
    def __init__(self, consumer: PipelinedConsumer[Any]) -> None:
        self._consumer = consumer

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self._consumer._revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self._consumer._assigned(set(assigned))
