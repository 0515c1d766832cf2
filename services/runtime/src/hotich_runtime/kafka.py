"""Kafka plumbing: the broker, an event publisher, and at-least-once batch subscriptions.

The delivery discipline, in one place so every consumer follows it:

* offsets are committed only after a batch's effects are done and the events it
  caused are acknowledged by the broker (``acks=all``);
* a message that cannot be decoded into its topic's model goes to ``<topic>.dlq`` with
  the error, and the batch goes on;
* a :class:`~hotich_runtime.errors.PermanentError` raised by the handler is isolated by
  bisecting the batch, and only the offending event goes to the DLQ;
* anything else is treated as transient: retried with exponential backoff and jitter,
  and if it persists the batch is not committed (FastStream seeks back), so it is read
  again: nothing is lost, and handlers make repeats harmless (deterministic event ids,
  idempotent writes).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka import AIOKafkaProducer, ConsumerRecord
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from aiokafka.structs import TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from pydantic import BaseModel, TypeAdapter, ValidationError
from tenacity import (
    AsyncRetrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from hotich_contracts.dead_letter import DeadLetter
from hotich_contracts.envelope import EventBase
from hotich_contracts.topics import dlq
from hotich_runtime import metrics
from hotich_runtime.errors import PermanentError, RetryableError
from hotich_runtime.messages import Message
from hotich_runtime.pipelined import ALIGN_WINDOW_MS, PipelinedConsumer
from hotich_runtime.settings import ServiceSettings

log = logging.getLogger(__name__)

E = TypeVar("E", bound=BaseModel)


def make_broker(settings: ServiceSettings, *, client_id: str) -> KafkaBroker:
    """Return a broker whose producer waits for every in-sync replica (``acks=all``).

    Idempotent producers are left off on purpose: the fallback broker lacks them, and
    correctness never depends on them (consumers drop repeats by event id).
    """
    return KafkaBroker(
        settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        request_timeout_ms=15_000,
        linger_ms=2,
        logger=logging.getLogger(f"faststream.{client_id}"),
    )


_PARTITIONER = DefaultPartitioner()
_HEADERS = [("content-type", b"application/json")]


def _append(batch: Any, key: bytes, value: bytes) -> bool:
    """Add one message to a producer batch; False when the batch is full."""
    return batch.append(timestamp=None, key=key, value=value, headers=_HEADERS) is not None


def _key_of(event: EventBase) -> bytes:
    record_id = getattr(event, "record_id", None)
    if isinstance(record_id, str):
        return record_id.encode()
    payload = getattr(event, "payload", None)
    phase, unit = getattr(payload, "phase", None), getattr(payload, "unit_code", None)
    return f"{phase}:{unit}".encode()


def make_producer(settings: ServiceSettings, *, client_id: str) -> AIOKafkaProducer:
    """Return the producer events are published with: ``acks=all``, small linger for batching.

    A plain aiokafka producer rather than FastStream's per-message publish path: ``send``
    returns at once and the linger groups a whole batch of events into few requests.
    """
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        max_batch_size=512 * 1024,
        request_timeout_ms=15_000,
    )


class EventPublisher:
    """Publishes events and returns only when Kafka acknowledged all of them."""

    def __init__(self, producer: AIOKafkaProducer) -> None:
        self._producer = producer

    async def publish(self, topic: str, events: Sequence[EventBase]) -> None:
        """Publish ``events`` to ``topic`` keyed by record id; wait for every ack.

        Raises:
            RetryableError: the broker did not acknowledge (down, timeout).
        """
        if not events:
            return
        try:
            await asyncio.gather(*await self._send_batches(topic, events))
        except (KafkaError, TimeoutError) as exc:
            raise RetryableError(f"Kafka did not acknowledge {topic}: {exc!r}") from exc
        metrics.EVENTS_PUBLISHED.labels(topic).inc(len(events))
        for event in events:
            for reason in getattr(getattr(event, "payload", None), "reasons", None) or ():
                metrics.REASONS.labels(topic, str(getattr(reason, "code", "unknown"))).inc()

    async def _send_batches(
        self, topic: str, events: Sequence[EventBase]
    ) -> list[asyncio.Future[Any]]:
        """Queue the events in one batch per partition (more when one fills up).

        The partition is the one ``send`` would choose (the default partitioner on the
        record id key), so a record's events stay in order on one partition whichever
        way they were sent. A batch has one future, where ``send`` makes one per message
        and resolves each when the batch is acknowledged: that was a tenth of intake's
        CPU on batch entry.
        """
        partitions = list(await self._producer.partitions_for(topic))
        open_batches: dict[int, Any] = {}
        futures: list[asyncio.Future[Any]] = []
        for event in events:
            key, value = _key_of(event), event.model_dump_json().encode()
            partition = _PARTITIONER(key, partitions, partitions)
            batch = open_batches.get(partition)
            if batch is not None and _append(batch, key, value):
                continue
            if batch is not None:  # full: send it, start another
                futures.append(await self._producer.send_batch(batch, topic, partition=partition))
            batch = open_batches[partition] = self._producer.create_batch()
            if not _append(batch, key, value):  # an empty batch takes any one message
                raise RetryableError(f"{topic}: a message of {len(value)} bytes fits no batch")
        for partition, batch in open_batches.items():
            futures.append(await self._producer.send_batch(batch, topic, partition=partition))
        return futures

    async def publish_raw(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Publish already-serialized bytes (dead letters, replays) and wait for the ack."""
        try:
            await self._producer.send_and_wait(topic, value, key=key)
        except (KafkaError, TimeoutError) as exc:
            raise RetryableError(f"Kafka did not acknowledge {topic}: {exc!r}") from exc


@dataclass(frozen=True)
class BatchSubscription(Generic[E]):
    """One consumer group reading one topic and handing decoded batches to a use case.

    ``also`` names more topics the same consumer reads (``model`` must then decode the
    messages of every one of them): a batch mixes their messages, which lets a consumer
    of several topics (reporting) apply what belongs together at once, with one group
    member instead of one per topic.
    """

    topic: str
    group_id: str
    model: type[E] | TypeAdapter[E]
    handle: Callable[[Sequence[E]], Awaitable[object]]
    retry_for_seconds: float = 60.0
    also: tuple[str, ...] = ()
    pipelined: bool = False
    """Read and decode the next batch while this one is handled
    (:class:`~hotich_runtime.pipelined.PipelinedConsumer`) instead of FastStream's
    sequential batch subscriber."""
    decode: Callable[[bytes], E] | None = None
    """Turns a message value into what ``handle`` gets, raising ``ValidationError`` for one
    that cannot be (default: ``model``'s JSON validation). A consumer that keeps only a
    compact view of each event decodes to the view, so a large batch in memory holds the
    views, not the models."""
    align_ms: int | None = None
    """Pipelined only: read the partitions behind in step by message timestamp, none more
    than this many milliseconds ahead of the oldest one still behind (None: off)."""
    align_time: Callable[[E], int | None] | None = None
    """Pipelined and aligned only: the time (ms) to align a message by, from its decoded
    event (None: the message's timestamp; see :func:`hotich_runtime.pipelined.read_time`)."""
    align_window_ms: int = ALIGN_WINDOW_MS
    """Pipelined, aligned by ``align_time`` only: how far before its message's timestamp an
    event's time may hold the other partitions back."""
    keep_values: bool = True
    """Pipelined only: False drops each message's value once it is decoded, so a large
    batch in memory holds the decoded events only (about 1.5 KB less per event). A
    message that a :class:`PermanentError` sets aside is then dead-lettered with its
    topic, partition, offset and key but an empty value (it stays in the topic until the
    topic's retention ends); an undecodable message keeps its value."""


def _decoder(subscription: BatchSubscription[E]) -> Callable[[bytes], E]:
    """What turns a message value into the subscription's event."""
    if subscription.decode is not None:
        return subscription.decode
    model = subscription.model
    if isinstance(model, TypeAdapter):
        return model.validate_json
    return model.model_validate_json


def _text(raw: bytes | None) -> str | None:
    return None if raw is None else raw.decode("utf-8", errors="replace")


def _observe_lag(
    message: KafkaMessage, records: Sequence[ConsumerRecord[Any, Any]], group: str
) -> None:
    """Set the lag gauge of every partition in the batch from the fetch's high watermark.

    A partition this member no longer gets batches from keeps its last value, which
    was 0 once it caught up; the group's true lag, committed offsets included, is what
    ``hotich groups`` and KEDA read from the broker.
    """
    consumer = getattr(message, "consumer", None)
    highwater = getattr(consumer, "highwater", None)
    if highwater is None:
        return
    last: dict[tuple[str, int], int] = {}
    for record in records:
        key = (record.topic, record.partition)
        last[key] = max(last.get(key, -1), record.offset)
    for (topic, partition), offset in last.items():
        end = highwater(TopicPartition(topic, partition))
        if isinstance(end, int):
            metrics.CONSUMER_LAG.labels(topic, str(partition), group).set(max(end - offset - 1, 0))


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, Exception) and not isinstance(exc, PermanentError)


def _delivery(
    subscription: BatchSubscription[E], publisher: EventPublisher
) -> tuple[
    Callable[[Message, BaseException], Awaitable[None]],
    Callable[[list[tuple[Message, E]]], Awaitable[None]],
]:
    """The dead-letter and deliver steps shared by both kinds of subscription."""
    group = subscription.group_id

    async def dead_letter(record: Message, exc: BaseException) -> None:
        letter = DeadLetter(
            source_topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=_text(record.key),
            value=_text(record.value) or "",
            error_type=type(exc).__name__,
            error=str(exc)[:4000],
            consumer_group=group,
        )
        await publisher.publish_raw(
            dlq(record.topic), record.key, letter.model_dump_json().encode()
        )
        metrics.DEAD_LETTERS.labels(record.topic, group, type(exc).__name__).inc()
        log.warning(
            "dead-lettered a message",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "error_type": type(exc).__name__,
            },
        )

    async def handle_isolating_poison(pairs: list[tuple[Message, E]]) -> None:
        try:
            await subscription.handle([event for _, event in pairs])
        except PermanentError as exc:
            if len(pairs) == 1:
                await dead_letter(pairs[0][0], exc)
                return
            middle = len(pairs) // 2
            await handle_isolating_poison(pairs[:middle])
            await handle_isolating_poison(pairs[middle:])

    async def deliver(pairs: list[tuple[Message, E]]) -> None:
        async for attempt in AsyncRetrying(
            # Exceptions only: a cancellation (a rebalance, a shutdown) must end the
            # batch, not be retried (tenacity would otherwise take it for a failure).
            retry=retry_if_exception(_retryable),
            wait=wait_exponential_jitter(multiplier=0.2, max=10.0),
            stop=stop_after_delay(subscription.retry_for_seconds),
            reraise=True,
        ):
            with attempt:
                if attempt.retry_state.attempt_number > 1:
                    metrics.HANDLER_RETRIES.labels(group).inc()
                await handle_isolating_poison(pairs)

    return dead_letter, deliver


def pipelined_consumer(
    subscription: BatchSubscription[E],
    publisher: EventPublisher,
    settings: ServiceSettings,
    *,
    client_id: str,
) -> PipelinedConsumer[E]:
    """A :class:`PipelinedConsumer` for ``subscription`` (started by the caller)."""
    dead_letter, deliver = _delivery(subscription, publisher)
    return PipelinedConsumer(
        bootstrap=settings.kafka_bootstrap,
        topics=(subscription.topic, *subscription.also),
        group_id=subscription.group_id,
        decode=_decoder(subscription),
        deliver=deliver,
        dead_letter=dead_letter,
        max_records=settings.consumer_max_records,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        partition_fetch_bytes=settings.consumer_partition_fetch_bytes,
        fetch_max_bytes=settings.consumer_fetch_max_bytes,
        client_id=client_id,
        align_ms=subscription.align_ms,
        align_time=subscription.align_time,
        align_window_ms=subscription.align_window_ms,
        keep_values=subscription.keep_values,
    )


def subscribe(
    broker: KafkaBroker,
    subscription: BatchSubscription[E],
    publisher: EventPublisher,
    settings: ServiceSettings,
) -> None:
    """Register ``subscription`` on ``broker`` (before the broker starts)."""
    group = subscription.group_id
    dead_letter, deliver = _delivery(subscription, publisher)
    decode = _decoder(subscription)

    async def on_batch(message: KafkaMessage) -> None:
        raw = message.raw_message
        records: tuple[ConsumerRecord[Any, Any], ...] = raw if isinstance(raw, tuple) else (raw,)
        started = time.perf_counter()
        pairs: list[tuple[Message, E]] = []
        for record in records:
            try:
                pairs.append((record, decode(record.value or b"")))
            except ValidationError as exc:
                await dead_letter(record, exc)
        for topic, count in Counter(record.topic for record, _ in pairs).items():
            metrics.EVENTS_CONSUMED.labels(topic, group).inc(count)
        if pairs:
            await deliver(pairs)
        metrics.BATCH_SECONDS.labels(group).observe(time.perf_counter() - started)
        _observe_lag(message, records, group)

    broker.subscriber(
        subscription.topic,
        *subscription.also,
        group_id=group,
        batch=True,
        max_records=settings.consumer_max_records,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=max(settings.consumer_session_timeout_ms // 3, 300),
        max_poll_interval_ms=5 * 60 * 1000,
        max_partition_fetch_bytes=settings.consumer_partition_fetch_bytes,
        fetch_max_bytes=settings.consumer_fetch_max_bytes,
    )(on_batch)
