"""The event publisher on the real broker: batches per partition, keyed as ``send`` keys.

``EventPublisher.publish`` queues one producer batch per partition (more when one fills)
instead of one ``send`` per event. What must not change: every event lands once, on the
partition the default partitioner gives its record id (where ``send`` put it, so a
record's events from any publisher stay on one partition), in the order published.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import murmur2

from hotich_contracts.envelope import RecordEventBase
from hotich_local.infra.topics import TopicSpec, ensure_topics
from hotich_runtime.kafka import EventPublisher, make_producer
from hotich_runtime.settings import ServiceSettings

pytestmark = pytest.mark.integration

PARTITIONS = 5


class Filler(RecordEventBase):
    """An event with a body large enough that a partition's share fills several batches."""

    body: str


@pytest.fixture
async def producer(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaProducer]:
    # The services' producer (512 KB batches, acks=all).
    producer = make_producer(ServiceSettings(kafka_bootstrap=kafka_bootstrap), client_id="test")
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def _read_all(bootstrap: str, topic: str, expected: int) -> list[tuple[int, str, str]]:
    reader = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await reader.start()
    found: list[tuple[int, str, str]] = []
    try:
        for _ in range(60):
            batch = await reader.getmany(timeout_ms=1000)
            for messages in batch.values():
                for m in messages:
                    event = Filler.model_validate_json(m.value)
                    assert m.key == event.record_id.encode()
                    assert dict(m.headers)["content-type"] == b"application/json"
                    found.append((m.partition, event.record_id, event.correlation_id))
            if len(found) >= expected and not batch:
                break
    finally:
        await reader.stop()
    return found


async def test_every_event_lands_once_on_its_keys_partition_in_order(
    kafka_bootstrap: str, producer: AIOKafkaProducer
) -> None:
    topic = f"test.{uuid.uuid4().hex[:10]}.publisher"
    await ensure_topics(
        kafka_bootstrap, [TopicSpec(name=topic, partitions=PARTITIONS)], with_configs=False
    )
    publisher = EventPublisher(producer)
    records = [str(uuid.uuid4()) for _ in range(300)]
    # Four events per record (its versions 1..4), 1,200 events of ~3 KB: ~720 KB per
    # partition, so every partition's share takes more than one 512 KB batch.
    events = [
        Filler(
            actor="test",
            correlation_id=f"{record}/{version}",
            record_id=record,
            record_version=version,
            unit_code="25459",
            body="x" * 3000,
        )
        for version in range(1, 5)
        for record in records
    ]
    await publisher.publish(topic, events[:600])
    await publisher.publish(topic, events[600:])

    found = await _read_all(kafka_bootstrap, topic, len(events))
    assert sorted(c for _, _, c in found) == sorted(e.correlation_id for e in events)  # once each
    for partition, record_id, _ in found:
        # What aiokafka's and Java's default partitioner give the key.
        assert partition == (murmur2(record_id.encode()) & 0x7FFFFFFF) % PARTITIONS
    for record in records:
        versions = [int(c.split("/")[1]) for _, r, c in found if r == record]
        assert versions == [1, 2, 3, 4]  # the order published, on the record's partition
