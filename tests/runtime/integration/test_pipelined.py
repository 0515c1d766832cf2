"""The pipelined batch consumer on the real broker: read-ahead, rewinds, rebalances.

A topic of this test's own (3 partitions, with its DLQ), events of a small model, and
the consumer built the way services build it (``pipelined_consumer``: the same
dead-letter, poison and retry steps as FastStream subscriptions). Each test waits
(deadlines, no timing assertions) until every message is handled and the group's
committed offsets reach the end of every partition.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.structs import TopicPartition
from pydantic import BaseModel

from hotich_contracts.topics import dlq
from hotich_local.infra.topics import TopicSpec, ensure_topics
from hotich_runtime import pipelined
from hotich_runtime.errors import PermanentError, RetryableError
from hotich_runtime.kafka import BatchSubscription, EventPublisher, pipelined_consumer
from hotich_runtime.messages import Message, MessageRef
from hotich_runtime.pipelined import PipelinedConsumer
from hotich_runtime.settings import ServiceSettings
from tests.fixtures.polling import eventually

pytestmark = pytest.mark.integration

PARTITIONS = 3


class Ping(BaseModel):
    n: int


@dataclass
class Topic:
    bootstrap: str
    name: str
    group: str
    producer: AIOKafkaProducer
    publisher: EventPublisher
    handled: list[int] = field(default_factory=list)

    async def send(self, numbers: Sequence[int]) -> None:
        for n in numbers:
            await self.producer.send(self.name, json.dumps({"n": n}).encode(), key=str(n).encode())
        await self.producer.flush()

    def consumer(  # type: ignore[no-untyped-def]
        self,
        handle,
        *,
        retry_for_seconds: float = 60.0,
        max_records: int = 200,
        keep_values: bool = True,
    ) -> PipelinedConsumer[Ping]:
        settings = ServiceSettings(
            kafka_bootstrap=self.bootstrap,
            consumer_max_records=max_records,
            consumer_session_timeout_ms=6000,
        )
        subscription = BatchSubscription(
            topic=self.name,
            group_id=self.group,
            model=Ping,
            handle=handle,
            retry_for_seconds=retry_for_seconds,
            pipelined=True,
            keep_values=keep_values,
        )
        return pipelined_consumer(
            subscription, self.publisher, settings, client_id=f"test-{uuid.uuid4().hex[:6]}"
        )

    async def all_handled_and_committed(self, numbers: range, *, within: float) -> None:
        """Wait until every number was handled and the offsets reach every end."""
        await until(lambda: set(self.handled) >= set(numbers), within=within, what="all handled")
        await until(self.committed_to_the_end, within=30, what="offsets committed")

    async def committed_to_the_end(self) -> bool:
        probe = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group)
        await probe.start()
        try:
            parts = [TopicPartition(self.name, p) for p in range(PARTITIONS)]
            ends = await probe.end_offsets(parts)
            return all([await probe.committed(tp) == ends[tp] for tp in parts])
        finally:
            await probe.stop()

    async def dead_letters(self) -> list[dict[str, object]]:
        reader = AIOKafkaConsumer(
            dlq(self.name), bootstrap_servers=self.bootstrap, auto_offset_reset="earliest"
        )
        await reader.start()
        try:
            batch = await reader.getmany(timeout_ms=3000)
            return [json.loads(m.value) for ms in batch.values() for m in ms]
        finally:
            await reader.stop()


def raw_consumer(  # type: ignore[no-untyped-def]
    bootstrap: str,
    topics: list[str],
    group_id: str,
    deliver,
    *,
    client_id: str,
    decode=Ping.model_validate_json,
    **options,
) -> PipelinedConsumer[Any]:
    """The consumer itself, not as services build it: ``deliver`` sees each message with
    its event (services' handlers see the events only); nothing here is undecodable."""

    async def dead_letter(message: Message, exc: BaseException) -> None:
        raise AssertionError(f"nothing here is undecodable: {exc!r}")

    return PipelinedConsumer(
        bootstrap=bootstrap,
        topics=topics,
        group_id=group_id,
        decode=decode,
        deliver=deliver,
        dead_letter=dead_letter,
        session_timeout_ms=6000,
        client_id=client_id,
        **options,
    )


async def until(check, *, within: float, what: str) -> None:  # type: ignore[no-untyped-def]
    """Wait for a plain or async check."""

    async def probe() -> object:
        answer = check()
        return await answer if asyncio.iscoroutine(answer) else answer

    await eventually(probe, within=within, what=what)


@pytest.fixture
async def topic(kafka_bootstrap: str) -> AsyncIterator[Topic]:
    name = f"test.{uuid.uuid4().hex[:10]}.pings"
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(name=name, partitions=PARTITIONS), TopicSpec(name=dlq(name), partitions=1)],
        with_configs=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        yield Topic(
            kafka_bootstrap,
            name,
            f"test-{uuid.uuid4().hex[:8]}",
            producer,
            EventPublisher(producer),
        )
    finally:
        await producer.stop()


async def test_every_message_is_handled_once_with_the_next_batch_read_ahead(
    topic: Topic,
) -> None:
    busy = False
    decoded_while_busy = 0

    async def handle(events: Sequence[Ping]) -> None:
        nonlocal busy
        busy = True
        try:
            await asyncio.sleep(0.02)  # a store round trip
            topic.handled.extend(e.n for e in events)
        finally:
            busy = False

    consumer = topic.consumer(handle)
    real_decode = consumer._decode

    def decode(value: bytes) -> Ping:
        nonlocal decoded_while_busy
        decoded_while_busy += busy
        return real_decode(value)

    consumer._decode = decode
    await topic.send(range(3000))
    await topic.producer.send(topic.name, b"{not json", key=b"bad")
    await topic.producer.send(topic.name, b'{"n": "many"}', key=b"bad")
    await topic.send(range(3000, 3100))
    await consumer.start()
    try:
        await topic.all_handled_and_committed(range(3100), within=60)
    finally:
        await consumer.stop()
    assert sorted(topic.handled) == list(range(3100))  # each once: no rewind, no rebalance
    assert decoded_while_busy > 0  # the next batch was decoded while one was handled
    letters = await topic.dead_letters()
    assert len(letters) == 2
    assert {letter["error_type"] for letter in letters} == {"ValidationError"}


async def test_what_arrives_while_the_handler_is_busy_is_handed_over_as_one_batch(
    topic: Topic,
) -> None:
    batches: list[list[int]] = []
    release = asyncio.Event()

    async def handle(events: Sequence[Ping]) -> None:
        batches.append([e.n for e in events])
        if len(batches) == 1:
            await release.wait()  # a slow store round
        topic.handled.extend(e.n for e in events)

    consumer = topic.consumer(handle, max_records=1000)
    fetches = 0
    real_getmany = consumer._consumer.getmany

    async def counting_getmany(*args, **kwargs):  # type: ignore[no-untyped-def]
        nonlocal fetches
        fetched = await real_getmany(*args, **kwargs)
        fetches += bool(fetched)
        return fetched

    consumer._consumer.getmany = counting_getmany  # type: ignore[method-assign]
    await consumer.start()
    try:
        await topic.send([0])  # an idle handler gets it alone, without waiting for more
        await until(lambda: len(batches) == 1, within=60, what="the first message")
        for start in range(1, 2500, 100):  # 25 sends while the handler is busy
            await topic.send(range(start, start + 100))
            await asyncio.sleep(0.02)
        await until(lambda: fetches >= 4, within=30, what="several fetches meanwhile")
        release.set()
        await topic.all_handled_and_committed(range(2501), within=60)
    finally:
        await consumer.stop()
    assert batches[0] == [0]
    assert sorted(topic.handled) == list(range(2501))
    assert max(len(b) for b in batches) <= 1000  # never more than max_records
    # Fetches made while the first batch was in hand were merged: fewer batches than fetches.
    assert len(batches) < fetches
    assert len(batches[1]) > 100


async def test_a_batch_that_keeps_failing_is_read_again_and_nothing_is_lost(
    topic: Topic,
) -> None:
    failures = 0

    async def handle(events: Sequence[Ping]) -> None:
        nonlocal failures
        if failures < 6 and any(1000 <= e.n < 1010 for e in events):
            failures += 1
            raise RetryableError("store down")
        await asyncio.sleep(0.01)
        topic.handled.extend(e.n for e in events)

    await topic.send(range(2000))
    consumer = topic.consumer(handle, retry_for_seconds=0.3)
    await consumer.start()
    try:
        await topic.all_handled_and_committed(range(2000), within=90)
    finally:
        await consumer.stop()
    assert failures == 6  # the deliverer gave up at least once and the batch was read again
    assert set(topic.handled) == set(range(2000))


async def test_a_member_joining_midway_shares_the_partitions_and_nothing_is_lost(
    topic: Topic,
) -> None:
    seen_by: dict[str, set[int]] = {"a": set(), "b": set()}

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(events: Sequence[Ping]) -> None:
            await asyncio.sleep(0.03)
            seen_by[name].update(e.n for e in events)
            topic.handled.extend(e.n for e in events)

        return handle

    await topic.send(range(3000))
    first = topic.consumer(handler("a"))
    await first.start()
    second = topic.consumer(handler("b"))
    try:
        await until(lambda: len(topic.handled) >= 400, within=60, what="first batches")
        await second.start()
        await topic.send(range(3000, 6000))
        await topic.all_handled_and_committed(range(6000), within=120)
    finally:
        await second.stop()
        await first.stop()
    assert set(topic.handled) == set(range(6000))
    assert seen_by["a"]  # both members handled a share
    assert seen_by["b"]


async def test_stopping_mid_batch_cancels_it_uncommitted_and_a_restart_handles_it(
    topic: Topic,
) -> None:
    entered = asyncio.Event()

    async def stuck(events: Sequence[Ping]) -> None:
        entered.set()
        await asyncio.sleep(3600)  # a store that never answers

    await topic.send(range(500))
    consumer = topic.consumer(stuck)
    await consumer.start()
    await asyncio.wait_for(entered.wait(), timeout=60)
    await asyncio.wait_for(consumer.stop(), timeout=30)  # returns: the batch is cancelled
    assert not await topic.committed_to_the_end()

    async def handle(events: Sequence[Ping]) -> None:
        topic.handled.extend(e.n for e in events)

    again = topic.consumer(handle)
    await again.start()
    try:
        await topic.all_handled_and_committed(range(500), within=60)
    finally:
        await again.stop()


async def test_a_dead_letter_that_cannot_be_written_holds_the_batch_back(topic: Topic) -> None:
    async def handle(events: Sequence[Ping]) -> None:
        topic.handled.extend(e.n for e in events)

    consumer = topic.consumer(handle)
    real_dead_letter = consumer._dead_letter
    refusals = 0

    async def flaky_dead_letter(record, exc) -> None:  # type: ignore[no-untyped-def]
        nonlocal refusals
        if refusals < 2:
            refusals += 1
            raise RetryableError("Kafka did not acknowledge the DLQ")
        await real_dead_letter(record, exc)

    consumer._dead_letter = flaky_dead_letter
    await topic.send(range(300))
    await topic.producer.send(topic.name, b"{not json", key=b"bad")
    await topic.send(range(300, 600))
    await consumer.start()
    try:
        await topic.all_handled_and_committed(range(600), within=60)
        assert consumer.running  # the loops survived the failures
    finally:
        await consumer.stop()
    assert refusals == 2
    assert [letter["error_type"] for letter in await topic.dead_letters()] == ["ValidationError"]


async def test_without_values_a_poison_letter_names_its_message_and_bad_bytes_keep_theirs(
    topic: Topic,
) -> None:
    # keep_values=False (reporting): a decoded message's value is dropped at once, so a
    # PermanentError's letter has the message's coordinates and an empty value, while an
    # undecodable message, never decoded, is dead-lettered with its bytes.
    async def handle(events: Sequence[Ping]) -> None:
        if any(e.n == 13 for e in events):
            raise PermanentError("13 is refused")
        topic.handled.extend(e.n for e in events)

    consumer = topic.consumer(handle, keep_values=False)
    await topic.send(range(100))
    await topic.producer.send(topic.name, b"{not json", key=b"bad")
    await topic.producer.flush()
    await consumer.start()
    try:
        wanted = [n for n in range(100) if n != 13]
        await until(lambda: set(topic.handled) >= set(wanted), within=60, what="all handled")
        await until(topic.committed_to_the_end, within=30, what="offsets committed")
    finally:
        await consumer.stop()
    assert 13 not in topic.handled
    letters = {letter["error_type"]: letter for letter in await topic.dead_letters()}
    assert set(letters) == {"PermanentError", "ValidationError"}
    assert letters["PermanentError"]["key"] == "13"
    assert letters["PermanentError"]["value"] == ""
    assert letters["ValidationError"]["value"] == "{not json"
    # The coordinates kept in place of the message lead back to it.
    letter = letters["PermanentError"]
    assert letter["source_topic"] == topic.name
    reader = AIOKafkaConsumer(bootstrap_servers=topic.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        tp = TopicPartition(topic.name, int(str(letter["partition"])))
        reader.assign([tp])
        reader.seek(tp, int(str(letter["offset"])))
        [found] = (await reader.getmany(tp, timeout_ms=5000, max_records=1))[tp]
    finally:
        await reader.stop()
    assert (found.key, json.loads(found.value)) == (b"13", {"n": 13})


async def test_a_rebalance_cancels_a_batch_stuck_past_the_grace_and_the_new_owner_handles_it(
    topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipelined, "REVOKE_GRACE_S", 1.0)
    entered = asyncio.Event()
    cancelled = 0

    async def stuck(events: Sequence[Ping]) -> None:
        nonlocal cancelled
        entered.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled += 1
            raise

    async def handle(events: Sequence[Ping]) -> None:
        topic.handled.extend(e.n for e in events)

    await topic.send(range(900))
    first = topic.consumer(stuck)
    await first.start()
    await asyncio.wait_for(entered.wait(), timeout=60)
    second = topic.consumer(handle)
    await second.start()
    try:
        # The first member keeps some partitions and stays stuck on them; what the
        # second member got (including the stuck batch's partitions it took over) is
        # handled and committed there.
        await until(lambda: len(topic.handled) > 0, within=90, what="the new owner handled")
        # The rebalance could only complete once the stuck batch was cancelled.
        assert cancelled >= 1
    finally:
        await first.stop()
    try:
        await topic.all_handled_and_committed(range(900), within=90)
    finally:
        await second.stop()


async def _lead_of_small_over_big(
    kafka_bootstrap: str, big: str, small: str, *, align_ms: int | None
) -> float:
    """Read both topics from the start; return how far (seconds of message time) the small
    messages ever ran ahead of the big ones at the end of a handled batch."""
    handled: dict[str, int] = {big: 0, small: 0}
    lead = 0.0
    count = 0

    async def handle(events: Sequence[tuple[str, int]]) -> None:
        nonlocal lead, count
        for name, stamp in events:
            handled[name] = max(handled[name], stamp)
        count += len(events)
        if handled[big] and handled[small]:
            lead = max(lead, (handled[small] - handled[big]) / 1000)
        await asyncio.sleep(0.01)

    async def deliver(pairs) -> None:  # type: ignore[no-untyped-def]
        await handle([(record.topic, record.timestamp) for record, _ in pairs])

    consumer = raw_consumer(
        kafka_bootstrap,
        [big, small],
        f"test-{uuid.uuid4().hex[:8]}",
        deliver,
        client_id="test-align",
        max_records=200,
        align_ms=align_ms,
    )
    await consumer.start()
    try:
        await until(lambda: count >= 3000, within=60, what="both topics read")
    finally:
        await consumer.stop()
    return lead


async def test_aligned_reading_keeps_topics_in_step_by_message_time(kafka_bootstrap: str) -> None:
    # Two topics describing the same things at the same moments: large messages in one,
    # small ones in the other. A fetch brings a few hundred large ones but all the small.
    big, small = (f"test.{uuid.uuid4().hex[:10]}.{kind}" for kind in ("big", "small"))
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(name=big, partitions=1), TopicSpec(name=small, partitions=1)],
        with_configs=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5)
    await producer.start()
    try:
        start = 1_700_000_000_000
        for n in range(1500):
            at = start + 10 * n  # 15 s of message time
            pad = "x" * 4000
            await producer.send(big, json.dumps({"n": n, "pad": pad}).encode(), timestamp_ms=at)
            await producer.send(small, json.dumps({"n": n}).encode(), timestamp_ms=at)
        await producer.flush()
    finally:
        await producer.stop()
    unaligned = await _lead_of_small_over_big(kafka_bootstrap, big, small, align_ms=None)
    aligned = await _lead_of_small_over_big(kafka_bootstrap, big, small, align_ms=100)
    print(f"small ahead of big: {unaligned:.1f} s unaligned, {aligned:.1f} s aligned")
    assert unaligned > 5  # left alone, the topic of small messages runs far ahead
    assert aligned < 3  # aligned: within the slack and one fetch of the small topic


@pytest.mark.parametrize("keep_values", [False, True])
async def test_without_values_a_batch_holds_references_to_its_messages_not_the_records(
    topic: Topic, keep_values: bool
) -> None:
    # What a batch holds beside each event: with values dropped, a MessageRef (topic,
    # partition, offset, key: ~75 bytes, not aiokafka's record with its headers and
    # sizes); with values kept, the record itself, value included.
    delivered: list[tuple[object, Ping]] = []

    async def deliver(pairs: list[tuple[Message, Ping]]) -> None:
        delivered.extend(pairs)

    consumer = raw_consumer(
        topic.bootstrap,
        [topic.name],
        topic.group,
        deliver,
        client_id="test-refs",
        max_records=50,
        keep_values=keep_values,
    )
    await topic.send(range(120))
    await consumer.start()
    try:
        await until(lambda: len(delivered) >= 120, within=60, what="all delivered")
    finally:
        await consumer.stop()
    assert sorted(event.n for _, event in delivered) == list(range(120))
    by_place = {}
    for message, event in delivered:
        if keep_values:
            assert isinstance(message, ConsumerRecord)
            assert json.loads(message.value) == {"n": event.n}
        else:
            assert type(message) is MessageRef
            assert message.value is None
        assert (message.topic, message.key) == (topic.name, str(event.n).encode())
        by_place[(message.partition, message.offset)] = event.n
    # The partition and offset kept are the message's own: read each one back.
    reader = AIOKafkaConsumer(bootstrap_servers=topic.bootstrap, enable_auto_commit=False)
    await reader.start()
    try:
        parts = [TopicPartition(topic.name, p) for p in range(PARTITIONS)]
        reader.assign(parts)
        await reader.seek_to_beginning(*parts)
        found = {}
        while len(found) < 120:
            for records in (await reader.getmany(timeout_ms=2000)).values():
                for record in records:
                    found[(record.partition, record.offset)] = json.loads(record.value)["n"]
    finally:
        await reader.stop()
    assert found == by_place


class Staged(BaseModel):
    n: int
    entered: int


async def _share_of_records_read_together(
    kafka_bootstrap: str, first: str, later: str, *, by_entry: bool, records: int
) -> float:
    """Read both stages' topics from the start, aligned by message time or by entry time;
    return the share of records whose two events came in one batch."""
    batches: dict[int, set[int]] = {}
    seen = number = 0

    async def numbered(pairs) -> None:  # type: ignore[no-untyped-def]
        nonlocal number, seen
        number += 1
        for _, event in pairs:
            batches.setdefault(event.n, set()).add(number)
        seen += len(pairs)
        await asyncio.sleep(0.2)  # a view's writes: the next batch gathers meanwhile

    consumer = raw_consumer(
        kafka_bootstrap,
        [first, later],
        f"test-{uuid.uuid4().hex[:8]}",
        numbered,
        client_id="test-align-entry",
        decode=Staged.model_validate_json,
        max_records=400,
        align_ms=100,
        align_time=(lambda e: e.entered) if by_entry else None,
        partition_fetch_bytes=2048,  # a backlog far larger than one fetch, as in a run
    )
    await consumer.start()
    try:
        await until(lambda: seen >= 2 * records, within=90, what="both topics read")
    finally:
        await consumer.stop()
    return sum(len(found) == 1 for found in batches.values()) / records


async def test_aligned_by_entry_time_a_records_events_from_two_stages_come_together(
    kafka_bootstrap: str,
) -> None:
    # Two stages' outcomes of the same records: the later stage published each a minute
    # after the first (it was behind), so by message time the topics are a minute apart;
    # every event carries when its record was entered. Read by message time, each
    # record's two events come in different batches (two writes of its view); read by
    # entry time, in step, mostly in one.
    first, later = (f"test.{uuid.uuid4().hex[:10]}.{stage}" for stage in ("first", "later"))
    await ensure_topics(
        kafka_bootstrap,
        [TopicSpec(name=first, partitions=1), TopicSpec(name=later, partitions=1)],
        with_configs=False,
    )
    records = 1500
    # Small producer batches: a fetch returns at least one whole batch, and the stages'
    # batches are small beside the status view's (5,000 events) as these are beside 400.
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, linger_ms=5, max_batch_size=1024)
    await producer.start()
    try:
        start = 1_700_000_000_000
        for n in range(records):
            entered = start + 10 * n  # 15 s of entries
            value = json.dumps({"n": n, "entered": entered}).encode()
            await producer.send(first, value, timestamp_ms=entered)
            await producer.send(later, value, timestamp_ms=entered + 60_000)
        await producer.flush()
    finally:
        await producer.stop()
    by_time = await _share_of_records_read_together(
        kafka_bootstrap, first, later, by_entry=False, records=records
    )
    by_entry = await _share_of_records_read_together(
        kafka_bootstrap, first, later, by_entry=True, records=records
    )
    print(f"records read together: {by_time:.0%} by message time, {by_entry:.0%} by entry time")
    assert by_time < 0.1
    assert by_entry > 0.5
